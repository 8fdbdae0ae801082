"""Caches the final-token residual stream of prompts at chosen layers (early-stopped, batched), so that
interventions reuse clean runs instead of recomputing them."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from jaxtyping import Float
from torch import Tensor
from tqdm.auto import tqdm

from interp.handle import ModelHandle
from interp.hooks import ResidCapture
from interp.prompts import PromptInput, PromptTemplate, batched, encode_prompts


def final_token_resid(
    handle: ModelHandle,
    prompts: Sequence[PromptInput],
    template: PromptTemplate,
    layers: Sequence[int],
    batch_size: int = 16,
    progress: bool = False,
) -> Float[Tensor, "prompt layer d_model"]:
    """``resid_post`` at the last prompt position for each of ``layers`` (in the given order), kept on
    the CPU in float32; the forward pass stops after the deepest requested layer."""
    chunks: list[Tensor] = []
    for batch in tqdm(batched(prompts, batch_size), desc="resid", unit="batch", disable=not progress):
        inputs = encode_prompts(handle, batch, template)
        with ResidCapture(handle.layers, layers, stop_early=True) as capture, torch.inference_mode():
            handle.model(**inputs, logits_to_keep=1, use_cache=False)
        stacked = torch.stack([capture.activations[layer] for layer in layers], dim=1)
        chunks.append(stacked.float().cpu())
    if not chunks:
        return torch.zeros(0, len(layers), handle.d_model)
    return torch.cat(chunks)
