"""Caches the final-token residual stream of prompts at chosen layers (early-stopped, batched), so that
interventions reuse clean runs instead of recomputing them."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from jaxtyping import Float
from torch import Tensor

from interp.batching import map_batches
from interp.forward import run_model
from interp.handle import ModelHandle
from interp.hooks import ResidCapture
from interp.prompts import PromptInput, PromptTemplate, has_image
from interp.shared_prefix import SharedPrefix, forward_inputs


def _distinct(prompts: Sequence[PromptInput]) -> tuple[list[PromptInput], list[int]]:
    """Each distinct prompt once (same question, same image object) and each prompt's index among them."""
    index: dict[tuple[str, int], int] = {}
    rows = [index.setdefault((prompt.question, id(prompt.image)), len(index)) for prompt in prompts]
    unique: dict[int, PromptInput] = {}
    for prompt, row in zip(prompts, rows, strict=True):
        unique.setdefault(row, prompt)
    return list(unique.values()), rows


def _capture_final(
    handle: ModelHandle,
    batch: Sequence[PromptInput],
    template: PromptTemplate,
    layers: Sequence[int],
    prefix: SharedPrefix | None,
) -> Float[Tensor, "batch layer d_model"]:
    inputs = forward_inputs(handle, batch, template, prefix)
    with ResidCapture(handle.layers, layers, stop_early=True) as capture:
        run_model(handle, inputs)
    # each layer's capture sits on that layer's device (device_map="auto"): bring all to the CPU, float32
    on_cpu = [capture.activations[layer].to(device="cpu", dtype=torch.float32) for layer in layers]
    return torch.stack(on_cpu, dim=1)


def final_token_resid(
    handle: ModelHandle,
    prompts: Sequence[PromptInput],
    template: PromptTemplate,
    layers: Sequence[int],
    batch_size: int = 16,
    progress: bool = False,
    prefix: SharedPrefix | None = None,
) -> Float[Tensor, "prompt layer d_model"]:
    """``resid_post`` at the last prompt position for each of ``layers`` (in the given order), kept on
    the CPU in float32; the forward pass stops after the deepest requested layer, a prompt that repeats is
    run once, and image and text prompts never share a batch. With ``prefix`` only the tokens after the
    shared prefix are run (text prompts). A batch that runs out of memory is retried at half the size
    (``interp.batching``). Every final-token capture of the workbench goes through here."""
    unique, rows = _distinct(prompts)
    chunks = [
        chunk
        for _, chunk in map_batches(
            unique,
            batch_size,
            lambda batch: _capture_final(handle, batch, template, layers, prefix),
            group=has_image,
            progress="resid" if progress else None,
        )
    ]
    if not chunks:
        return torch.zeros(0, len(layers), handle.d_model)
    return torch.cat(chunks)[torch.tensor(rows, dtype=torch.long)]
