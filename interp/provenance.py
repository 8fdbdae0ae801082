"""Provenance records: what produced a result (model, dtype, template, code version, packages, seed, time)."""

from __future__ import annotations

import json
import platform
import subprocess
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

import torch
from pydantic import BaseModel, ConfigDict

from flipbank.atomic_folder import atomic_path

TRACKED_PACKAGES = (
    "psf-workbench",
    "torch",
    "transformers",
    "sae-lens",
    "transformer-lens",
    "numpy",
)
PROVENANCE_FILE = "provenance.json"


class Provenance(BaseModel):
    """Everything needed to say where a result came from and to reproduce it."""

    model_config = ConfigDict(frozen=True)

    model_spec: str
    model_revision: str | None
    device: str
    dtype: str
    prompt_template: str
    seed: int
    git_commit: str | None
    git_dirty: bool | None
    packages: dict[str, str]
    python: str
    created_at: str
    settings: dict[str, str | int | float | bool | None] = {}
    numerics: dict[str, str] = {}


def _git(*arguments: str) -> str | None:
    try:
        completed = subprocess.run(
            ["git", *arguments],
            cwd=Path(__file__).resolve().parent,
            capture_output=True,
            text=True,
            check=True,
            timeout=10,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return completed.stdout.strip()


def package_versions(names: tuple[str, ...] = TRACKED_PACKAGES) -> dict[str, str]:
    """Installed versions of ``names`` ("absent" for packages that are not installed)."""
    versions = {}
    for name in names:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "absent"
    return versions


def numeric_environment() -> dict[str, str]:
    """What decides float rounding on this machine: torch's version, its CPU kernel level (e.g. AVX512), its
    BLAS and thread count. Two machines that differ here may round a matmul differently."""
    config = torch.__config__.show()
    blas = next(
        (part.split("=", 1)[1] for part in config.replace(",", " ").split() if "BLAS_INFO=" in part), ""
    )
    return {
        "torch": torch.__version__,
        "cpu_capability": torch.backends.cpu.get_cpu_capability(),
        "blas": blas or "unknown",
        "threads": str(torch.get_num_threads()),
    }


def collect_provenance(
    model_spec: str,
    model_revision: str | None,
    device: str,
    dtype: str,
    prompt_template: str,
    seed: int,
    settings: dict[str, str | int | float | bool | None] | None = None,
) -> Provenance:
    """Snapshot the code version, packages and run settings now."""
    status = _git("status", "--porcelain")
    return Provenance(
        model_spec=model_spec,
        model_revision=model_revision,
        device=device,
        dtype=dtype,
        prompt_template=prompt_template,
        seed=seed,
        git_commit=_git("rev-parse", "HEAD"),
        git_dirty=None if status is None else bool(status),
        packages=package_versions(),
        python=platform.python_version(),
        created_at=datetime.now(UTC).isoformat(timespec="seconds"),
        settings=settings or {},
        numerics=numeric_environment(),
    )


def write_provenance(folder: Path, provenance: Provenance) -> Path:
    """Write ``provenance.json`` into ``folder`` atomically."""
    path = folder / PROVENANCE_FILE
    with atomic_path(path) as temporary:
        temporary.write_text(json.dumps(provenance.model_dump(), indent=2) + "\n")
    return path
