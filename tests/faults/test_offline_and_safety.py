"""Safety: a demo workload runs offline without a single network connection, never unpickles weights, and
writes nothing outside its output folder and the workbench cache; the source never calls ``torch.load``
without ``weights_only=True``, and every cached weight file is safetensors."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest

from flipbank.cache_dir import workbench_cache_dir
from flipbank.similarity import bundled_minilm_path
from tests.faults.guarded_run import NETWORK_MARK, TORCH_LOAD_MARK

REPOSITORY = Path(__file__).resolve().parents[2]
SOURCE_PACKAGES = ("interp", "flipbank", "saes", "experiments", "benchmarks")
PICKLE_SUFFIXES = {".bin", ".pt", ".pth", ".pkl", ".pickle", ".ckpt", ".npy", ".npz"}
#: Environment variables that could point the run at the user's real caches or settings.
CLEARED_PREFIXES = (
    "HF_",
    "HUGGINGFACE",
    "TRANSFORMERS_",
    "XDG_",
    "PSF_",
    "SENTENCE_TRANSFORMERS",
    "TORCH_HOME",
)


@dataclass(frozen=True)
class GuardedRun:
    """The outcome of ``tests.faults.guarded_run`` in a sandbox (home, temp, working dir, cache, output)."""

    sandbox: Path
    output: Path
    cache: Path
    new_files: set[Path]
    returncode: int
    stdout: str
    stderr: str


def _files(root: Path) -> set[Path]:
    """Every file and symlink under ``root`` (symlinks are not followed)."""
    return {Path(folder) / name for folder, _, names in os.walk(root) for name in names}


@pytest.fixture(scope="module")
def guarded_run(tmp_path_factory: pytest.TempPathFactory) -> GuardedRun:
    sandbox = tmp_path_factory.mktemp("sandbox")
    home, scratch, cwd, cache, output = (sandbox / name for name in ("home", "tmp", "cwd", "cache", "output"))
    for folder in (home, scratch, cwd, cache):
        folder.mkdir()
    for name in ("gemma3-270m", "tiny-mm"):  # the converted models, without converting them again
        (cache / name).symlink_to(workbench_cache_dir() / name, target_is_directory=True)
    environment = {key: value for key, value in os.environ.items() if not key.startswith(CLEARED_PREFIXES)}
    environment.update(
        HOME=str(home),
        TMPDIR=str(scratch),
        PSF_WORKBENCH_CACHE=str(cache),
        HF_HUB_OFFLINE="1",
        PYTHONPATH=str(REPOSITORY),
        PYTHONDONTWRITEBYTECODE="1",
    )
    before = _files(sandbox)
    completed = subprocess.run(
        [sys.executable, "-m", "tests.faults.guarded_run", str(output)],
        cwd=cwd,
        env=environment,
        capture_output=True,
        text=True,
        timeout=900,
    )
    new_files = _files(sandbox) - before
    return GuardedRun(
        sandbox, output, cache, new_files, completed.returncode, completed.stdout, completed.stderr
    )


def test_the_demo_workload_runs_offline_without_any_network_connection(guarded_run: GuardedRun) -> None:
    assert guarded_run.returncode == 0, guarded_run.stderr[-4000:]
    attempts = [line for line in guarded_run.stderr.splitlines() if NETWORK_MARK in line]
    assert attempts == []
    assert len(pd.read_csv(guarded_run.output / "demo-margins" / "margins.csv")) == 6
    assert len(pd.read_parquet(guarded_run.output / "mining" / "rows.parquet")) > 0
    assert "similarity 0." in guarded_run.stdout


def test_the_demo_workload_never_unpickles_weights(guarded_run: GuardedRun) -> None:
    assert guarded_run.returncode == 0, guarded_run.stderr[-4000:]
    loads = [line for line in guarded_run.stderr.splitlines() if TORCH_LOAD_MARK in line]
    assert all(line.endswith("weights_only=True") for line in loads), loads


def test_nothing_is_written_outside_the_output_folder_and_the_cache(guarded_run: GuardedRun) -> None:
    assert guarded_run.returncode == 0, guarded_run.stderr[-4000:]
    allowed = (guarded_run.output, guarded_run.cache)
    outside = sorted(
        str(path.relative_to(guarded_run.sandbox))
        for path in guarded_run.new_files
        if not any(path.is_relative_to(folder) for folder in allowed)
    )
    assert outside == []
    assert any(path.is_relative_to(guarded_run.output) for path in guarded_run.new_files)


def _is_true(node: ast.expr | None) -> bool:
    return isinstance(node, ast.Constant) and node.value is True


def _problem(node: ast.AST) -> str | None:
    """What is unsafe about ``node``, if anything."""
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "load":
        owner = node.func.value
        weights_only = next((k.value for k in node.keywords if k.arg == "weights_only"), None)
        if isinstance(owner, ast.Name) and owner.id == "torch" and not _is_true(weights_only):
            return "torch.load without weights_only=True"
    if isinstance(node, ast.Import | ast.ImportFrom):
        names = [alias.name for alias in node.names] + [getattr(node, "module", None) or ""]
        if any(name.split(".")[0] in {"pickle", "dill", "cloudpickle", "joblib"} for name in names):
            return "imports a pickle library"
    if isinstance(node, ast.keyword) and node.arg == "allow_pickle" and _is_true(node.value):
        return "allow_pickle=True"
    return None


def _unsafe_loads(path: Path, root: Path = REPOSITORY) -> list[str]:
    """``torch.load`` calls without ``weights_only=True``, pickle imports and ``allow_pickle=True``."""
    nodes = ast.walk(ast.parse(path.read_text(), filename=str(path)))
    return [
        f"{path.relative_to(root)}:{getattr(node, 'lineno', 0)}: {problem}"
        for node in nodes
        if (problem := _problem(node)) is not None
    ]


def test_the_source_never_unpickles() -> None:
    sources = [path for package in SOURCE_PACKAGES for path in sorted((REPOSITORY / package).rglob("*.py"))]
    assert len(sources) > 20
    assert [problem for path in sources for problem in _unsafe_loads(path)] == []


def test_the_scan_catches_an_unsafe_load(tmp_path: Path) -> None:
    example = tmp_path / "example.py"
    lines = [
        "import torch",
        "import pickle",
        "a = torch.load('w.pt')",
        "b = torch.load('w.pt', weights_only=True)",
    ]
    example.write_text("\n".join([*lines, "c = np.load('x.npy', allow_pickle=True)"]) + "\n")
    assert _unsafe_loads(example, tmp_path) == [
        "example.py:2: imports a pickle library",
        "example.py:3: torch.load without weights_only=True",
        "example.py:5: allow_pickle=True",
    ]


def test_cached_and_bundled_weights_are_safetensors_only() -> None:
    cache = workbench_cache_dir()
    folders = [folder for folder in cache.iterdir() if folder.is_dir() and not folder.name.startswith(".")]
    folders.append(bundled_minilm_path())
    for folder in folders:
        files = [path for path in folder.rglob("*") if path.is_file()]
        assert not [path for path in files if path.suffix in PICKLE_SUFFIXES], folder
    weights = [folder for folder in folders if any(folder.rglob("*.safetensors"))]
    assert {"gemma3-270m", "tiny-mm", "model"} <= {folder.name for folder in weights}


def test_the_guard_reports_and_blocks_a_connection() -> None:
    script = (
        "from tests.faults.guarded_run import install_guards; install_guards(); import urllib.request; "
        "urllib.request.urlopen('http://huggingface.co', timeout=5)"
    )
    environment = {**os.environ, "PYTHONPATH": str(REPOSITORY)}
    completed = subprocess.run(
        [sys.executable, "-c", script], env=environment, capture_output=True, text=True, timeout=120
    )
    assert completed.returncode != 0
    assert (
        f"{NETWORK_MARK}: getaddrinfo" in completed.stderr
        or f"{NETWORK_MARK}: create_connection" in completed.stderr
    )
