"""Layer sweeps: patch the original's final-token ``resid_post`` into the paraphrase run at each layer, or
patch only an SAE feature's component at each layer that has an SAE, and read the margins by layer."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch
from jaxtyping import Float
from torch import Tensor

from interp.batching import map_batches
from interp.feature_directions import FeatureDirections
from interp.forward import last_position_logits
from interp.handle import ModelHandle
from interp.hooks import ResidEdit, ResidEditFunction
from interp.margin import yes_minus_no_margin
from interp.patching import pairs_prefix, patched_margins
from interp.prompt_pair import PromptPair
from interp.prompts import PromptTemplate
from interp.resid_cache import final_token_resid
from interp.shared_prefix import encode_batch, with_prefix_cache


def _replace_final(replacement: Float[Tensor, "batch d_model"]) -> ResidEditFunction:
    def edit(hidden: Float[Tensor, "batch pos d_model"]) -> Float[Tensor, "batch pos d_model"]:
        edited = hidden.clone()
        edited[:, -1, :] = replacement.to(hidden.device, hidden.dtype)
        return edited

    return edit


def resid_patch_sweep(
    handle: ModelHandle,
    pairs: Sequence[PromptPair],
    template: PromptTemplate,
    layers: Sequence[int] | None = None,
    batch_size: int = 16,
    progress: bool = True,
    share_prefix: bool = True,
) -> dict[int, Float[Tensor, " pair"]]:
    """For each layer, the paraphrase margins after replacing the final-token ``resid_post`` by the
    original's. The originals are captured once for every layer; text prompts run after a shared few-shot
    prefix unless ``share_prefix`` is False."""
    layers = list(range(handle.n_layers)) if layers is None else list(layers)
    prefix = pairs_prefix(handle, pairs, template) if share_prefix else None
    originals = final_token_resid(
        handle, [pair.original for pair in pairs], template, layers, batch_size, prefix=prefix
    )
    tokens = handle.yes_no_tokens(template.answer_leading_space)

    def run(rows: Sequence[int]) -> list[Tensor]:
        encoded = encode_batch(handle, [pairs[row].paraphrase for row in rows], template, prefix)
        margins = []
        for column, layer in enumerate(layers):
            with ResidEdit(handle.layers, {layer: _replace_final(originals[list(rows), column])}):
                logits = last_position_logits(handle, with_prefix_cache(encoded, prefix))
            margins.append(yes_minus_no_margin(logits, tokens).cpu())
        return margins

    batches = map_batches(range(len(pairs)), batch_size, run, progress="layer sweep" if progress else None)
    by_batch = [margins for _, margins in batches]
    return {
        layer: torch.cat([margins[column] for margins in by_batch]) if by_batch else torch.zeros(0)
        for column, layer in enumerate(layers)
    }


def feature_patch_sweep(
    handle: ModelHandle,
    pairs: Sequence[PromptPair],
    template: PromptTemplate,
    features_by_layer: Mapping[int, FeatureDirections],
    batch_size: int = 16,
    progress: bool = True,
    share_prefix: bool = True,
) -> dict[int, Float[Tensor, " pair"]]:
    """For each layer with an SAE, the paraphrase margins after delta-only patching of that layer's features
    (see ``patched_margins``); the originals are captured once for all those layers, and text prompts run
    after a shared few-shot prefix unless ``share_prefix`` is False."""
    layers = sorted(features_by_layer)
    prefix = pairs_prefix(handle, pairs, template) if share_prefix else None
    originals = final_token_resid(
        handle, [pair.original for pair in pairs], template, layers, batch_size, prefix=prefix
    )
    return {
        layer: patched_margins(
            handle,
            pairs,
            layer,
            features_by_layer[layer],
            template,
            originals[:, column],
            "final",
            batch_size,
            progress,
            share_prefix,
        )
        for column, layer in enumerate(layers)
    }
