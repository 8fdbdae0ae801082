"""Small SAEs built in milliseconds for the saes tests: random sae-lens JumpReLU SAEs calibrated to fire on a
model's activations, written as Gemma Scope 2 folders, sae-lens folders, or entries of a fake HF cache."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from pathlib import Path

import torch
from sae_lens import JumpReLUSAE, JumpReLUSAEConfig

from interp.handle import ModelHandle
from interp.hooks import ResidCapture
from interp.prompts import FEW_SHOT_TEMPLATE, PromptInput, encode_prompts
from saes.gemma_scope_format import CONFIG_FILE, PARAMS_FILE, save_gemma_scope_folder

CALIBRATION_QUESTIONS = (
    "Is there a pleural effusion?",
    "Any fluid around the lungs here?",
    "Is the heart enlarged on this film?",
    "Does the radiograph demonstrate a pneumothorax?",
)


def resid_sample(
    handle: ModelHandle, layer: int, questions: Sequence[str] = CALIBRATION_QUESTIONS
) -> torch.Tensor:
    """Non-BOS, non-padding ``resid_post`` rows of ``layer`` for a few questions, float32 on the CPU."""
    inputs = encode_prompts(handle, [PromptInput(q) for q in questions], FEW_SHOT_TEMPLATE)
    with ResidCapture(handle.layers, [layer], positions="all", to_cpu=True, stop_early=True) as capture:
        handle.model(**inputs)
    keep = inputs["attention_mask"].bool().cpu()
    keep &= inputs["input_ids"].cpu() != handle.tokenizer.bos_token_id
    return capture.activations[layer][keep].float()


def random_jumprelu(
    d_in: int, d_sae: int, seed: int = 0, sample: torch.Tensor | None = None, b_dec_in: bool = False
) -> JumpReLUSAE:
    """A random JumpReLU SAE; with ``sample`` its thresholds sit at each feature's 90th-percentile
    pre-activation on the sample, so roughly a tenth of the features fire on such inputs."""
    generator = torch.Generator().manual_seed(seed)
    sae = JumpReLUSAE(JumpReLUSAEConfig(d_in=d_in, d_sae=d_sae, apply_b_dec_to_input=b_dec_in))
    with torch.no_grad():
        w_dec = torch.randn(d_sae, d_in, generator=generator)
        sae.W_dec.copy_(w_dec / w_dec.norm(dim=-1, keepdim=True))
        sae.W_enc.copy_(torch.randn(d_in, d_sae, generator=generator) / d_in**0.5)
        sae.b_enc.copy_(0.1 * torch.randn(d_sae, generator=generator))
        sae.b_dec.copy_(0.1 * torch.randn(d_in, generator=generator))
        if sample is not None:
            pre = (sample - sae.b_dec * b_dec_in) @ sae.W_enc + sae.b_enc
            sae.threshold.copy_(pre.quantile(0.9, dim=0).clamp(min=1e-3))
        else:
            sae.threshold.fill_(0.05)
    return sae


def write_gemma_scope(
    folder: Path, sae: JumpReLUSAE, layer: int, model_name: str, hook_point: str | None = None
) -> Path:
    """Write ``sae`` as a Gemma Scope 2 folder; ``hook_point`` overrides the written hf_hook_point_in."""
    save_gemma_scope_folder(sae, folder, layer, model_name)
    if hook_point is not None:
        config = (folder / CONFIG_FILE).read_text().replace(f"model.layers.{layer}.output", hook_point)
        (folder / CONFIG_FILE).write_text(config)
    return folder


def write_hf_cache_entry(cache_root: Path, repo_id: str, folder_name: str, source: Path) -> Path:
    """Place the Gemma Scope 2 files of ``source`` in an HF hub cache layout (blobs + snapshot symlinks +
    refs/main), as ``hf download`` leaves them, and return the snapshot's folder for ``folder_name``."""
    repo_folder = cache_root / f"models--{repo_id.replace('/', '--')}"
    commit = hashlib.sha1(repo_id.encode()).hexdigest()
    snapshot = repo_folder / "snapshots" / commit / folder_name
    snapshot.mkdir(parents=True, exist_ok=True)
    (repo_folder / "blobs").mkdir(exist_ok=True)
    for name in (CONFIG_FILE, PARAMS_FILE):
        data = (source / name).read_bytes()
        blob = repo_folder / "blobs" / hashlib.sha256(data).hexdigest()
        blob.write_bytes(data)
        link = snapshot / name
        if not link.exists():
            os.symlink(os.path.relpath(blob, snapshot), link)
    (repo_folder / "refs").mkdir(exist_ok=True)
    (repo_folder / "refs" / "main").write_text(commit)
    return snapshot
