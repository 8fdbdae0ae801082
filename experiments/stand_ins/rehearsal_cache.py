"""Builds the rehearsal's throwaway Hugging Face cache: the random MedGemma-4B stand-in under its real id and
a random Gemma Scope 2 SAE under its real release, both laid out as ``hf download`` leaves them (blobs,
snapshot symlinks, ``refs/main``), so that the ``medgemma-4b`` preset resolves them with HF_HUB_OFFLINE=1."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path

import torch
from sae_lens import JumpReLUSAE, JumpReLUSAEConfig
from sae_lens.loading.pretrained_saes_directory import get_repo_id_and_folder_name

from experiments.presets import preset
from experiments.stand_ins.rehearsal_model import (
    GENERATION_CONFIG,
    RehearsalScale,
    RehearsalShape,
    medgemma_config,
    rehearsal_shape,
    write_random_weights,
)
from experiments.stand_ins.rehearsal_processor import build_processor
from flipbank.atomic_folder import atomic_path
from interp.demo_model import ensure_demo_model
from saes.gemma_scope_format import save_gemma_scope_folder

MARKER_FILE = "rehearsal.json"
SAE_MODEL_NAME = "google/gemma-3-4b-it"
#: The share of calibration residuals on which each random feature fires.
FIRING_RATE = 0.1


def _sha256(path: Path) -> str:
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def repo_folder(hub: Path, repo_id: str) -> Path:
    """``hub/models--owner--name``, the HF cache folder of a model repository."""
    return hub / f"models--{repo_id.replace('/', '--')}"


def publish_snapshot(hub: Path, repo_id: str, staging: Path, revision: str) -> Path:
    """Move every file under ``staging`` into ``repo_id``'s cache entry: content-named blobs, relative
    symlinks in ``snapshots/<revision>/`` and ``refs/main``. Returns the snapshot folder."""
    repo = repo_folder(hub, repo_id)
    snapshot = repo / "snapshots" / revision
    (repo / "blobs").mkdir(parents=True, exist_ok=True)
    for source in sorted(path for path in staging.rglob("*") if path.is_file()):
        blob = repo / "blobs" / _sha256(source)
        link = snapshot / source.relative_to(staging)
        link.parent.mkdir(parents=True, exist_ok=True)
        source.replace(blob)
        os.symlink(os.path.relpath(blob, link.parent), link)
    (repo / "refs").mkdir(exist_ok=True)
    (repo / "refs" / "main").write_text(revision)
    return snapshot


def fake_revision(repo_id: str, scale: str) -> str:
    """A 40-hex commit id, stable per repository and scale."""
    return hashlib.sha1(f"psf-rehearsal/{scale}/{repo_id}".encode()).hexdigest()


def residual_scale(layer: int) -> float:
    """The expected per-dimension RMS of the random model's ``resid_post`` after ``layer``: the embedding
    (RMS 1) plus two post-normed sublayer outputs (RMS 1 each) per layer, roughly independent."""
    return float((1 + 2 * (layer + 1)) ** 0.5)


def random_gemma_scope_sae(d_in: int, d_sae: int, layer: int, seed: int = 0) -> JumpReLUSAE:
    """A random JumpReLU SAE in Gemma Scope 2 semantics (no input-side b_dec): unit decoder rows, the
    encoder their transpose, and thresholds at each feature's (1 − FIRING_RATE) quantile on normal residuals
    of the layer's expected scale, so features fire sometimes."""
    generator = torch.Generator().manual_seed(seed)
    sae = JumpReLUSAE(JumpReLUSAEConfig(d_in=d_in, d_sae=d_sae, apply_b_dec_to_input=False))
    with torch.no_grad():
        w_dec = torch.randn(d_sae, d_in, generator=generator)
        w_dec /= w_dec.norm(dim=-1, keepdim=True)
        sae.W_dec.copy_(w_dec)
        sae.W_enc.copy_(w_dec.T)
        sae.b_enc.copy_(0.1 * torch.randn(d_sae, generator=generator))
        sae.b_dec.copy_(0.01 * torch.randn(d_in, generator=generator))
        sample = residual_scale(layer) * torch.randn(256, d_in, generator=generator)
        pre = sample @ sae.W_enc + sae.b_enc
        sae.threshold.copy_(pre.quantile(1 - FIRING_RATE, dim=0).clamp(min=1e-3))
    return sae


def _stage_model(staging: Path, shape: RehearsalShape, tokenizer_folder: Path, seed: int) -> None:
    staging.mkdir(parents=True)
    config = medgemma_config(shape)
    (staging / "config.json").write_text(json.dumps(config, indent=2) + "\n")
    (staging / "generation_config.json").write_text(json.dumps(GENERATION_CONFIG, indent=2) + "\n")
    build_processor(tokenizer_folder, shape).save_pretrained(staging)
    write_random_weights(staging, config, shape.max_shard_bytes, seed)


def _stage_sae(staging: Path, folder_name: str, shape: RehearsalShape, seed: int) -> None:
    sae = random_gemma_scope_sae(shape.hidden, shape.sae_width, shape.sae_layer, seed)
    save_gemma_scope_folder(sae, staging / folder_name, shape.sae_layer, SAE_MODEL_NAME)


def _read_marker(hf_home: Path) -> dict[str, object] | None:
    path = hf_home / MARKER_FILE
    return json.loads(path.read_text()) if path.is_file() else None


def build_rehearsal_cache(
    hf_home: Path, scale: RehearsalScale, tokenizer_folder: Path | None = None, seed: int = 0
) -> dict[str, object]:
    """Fill ``hf_home/hub`` with the ``medgemma-4b`` preset's model and SAE at ``scale`` (``full``: the exact
    MedGemma-4B shapes, 8.6 GB; ``tiny``: small dimensions, same code path) and return the build's record.
    A finished cache of the same scale is kept as it is; one of another scale is refused. The tokenizer comes
    from the demo model (``tokenizer_folder`` overrides), built in the workbench cache on first use."""
    shape = rehearsal_shape(scale)
    marker = _read_marker(hf_home)
    if marker is not None:
        if marker["scale"] != scale:
            raise ValueError(f"{hf_home} holds a {marker['scale']} rehearsal cache, not {scale}")
        return marker
    config = preset("medgemma-4b")
    model_id, sae = config.model.spec, config.sae
    assert sae.release is not None and sae.sae_id is not None
    sae_repo, sae_folder = get_repo_id_and_folder_name(sae.release, sae.sae_id)
    hub = hf_home / "hub"
    staging = hf_home / "staging"
    for existing in (repo_folder(hub, model_id), repo_folder(hub, sae_repo)):
        if existing.exists() and not staging.exists():
            raise FileExistsError(
                f"{existing} exists but {hf_home} holds no rehearsal cache: it may be a real download; "
                "point --hf-home at an empty throwaway folder"
            )
    for leftover in (staging, repo_folder(hub, model_id), repo_folder(hub, sae_repo)):
        shutil.rmtree(leftover, ignore_errors=True)  # an interrupted build of this throwaway cache
    _stage_model(staging / "model", shape, tokenizer_folder or ensure_demo_model(), seed)
    _stage_sae(staging / "sae", sae_folder, shape, seed)
    model_snapshot = publish_snapshot(hub, model_id, staging / "model", fake_revision(model_id, scale))
    sae_snapshot = publish_snapshot(hub, sae_repo, staging / "sae", fake_revision(sae_repo, scale))
    shutil.rmtree(staging)
    record: dict[str, object] = {
        "scale": scale,
        "model": model_id,
        "model_snapshot": str(model_snapshot),
        "sae": f"{sae.release}/{sae.sae_id}",
        "sae_folder": str(sae_snapshot / sae_folder),
        "sae_layer": shape.sae_layer,
        "seed": seed,
    }
    with atomic_path(hf_home / MARKER_FILE) as temporary:
        temporary.write_text(json.dumps(record, indent=2) + "\n")
    return record
