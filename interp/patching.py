"""Delta-only feature patching: on the paraphrase run, at one layer's ``resid_post``, remove the
paraphrase-induced change of chosen SAE features, x ← x − Δf·W_dec with Δf = f(x_para) − f(x_orig), leaving
the SAE error untouched, and read the patched yes-minus-no margin. Batched, one forward per pair (after the
few-shot prefix, which is run once), and each distinct original once."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import torch
from jaxtyping import Float
from torch import Tensor

from interp.answer_tokens import YesNoTokens
from interp.batching import map_batches
from interp.feature_directions import FeatureDirections, residual_shift
from interp.forward import last_position_logits
from interp.handle import ModelHandle
from interp.hooks import ResidEdit, ResidEditFunction
from interp.margin import yes_minus_no_margin
from interp.prompt_pair import PromptPair
from interp.prompts import PromptInput, PromptTemplate, has_image
from interp.resid_cache import final_token_resid
from interp.shared_prefix import SharedPrefix, forward_inputs, prefix_for_prompts

PatchPositions = Literal["final", "all"]


def margins_of(
    handle: ModelHandle,
    prompts: Sequence[PromptInput],
    template: PromptTemplate,
    batch_size: int = 16,
    share_prefix: bool = True,
    answer_tokens: YesNoTokens | None = None,
) -> Float[Tensor, " prompt"]:
    """Clean yes-minus-no margins of ``prompts`` (float32, CPU), or first − second of ``answer_tokens``;
    text prompts run after a shared few-shot prefix unless ``share_prefix`` is False."""
    tokens = answer_tokens or handle.yes_no_tokens(template.answer_leading_space)
    prefix = prefix_for_prompts(handle, template, prompts) if share_prefix else None

    def run(batch: Sequence[PromptInput]) -> Tensor:
        logits = last_position_logits(handle, forward_inputs(handle, batch, template, prefix))
        return yes_minus_no_margin(logits, tokens).cpu()

    margins = [chunk for _, chunk in map_batches(prompts, batch_size, run, group=has_image)]
    return torch.cat(margins) if margins else torch.zeros(0)


def _delta_edit(
    features: FeatureDirections,
    original_activations: Float[Tensor, "batch k"],
    inputs: dict[str, object],
    positions: PatchPositions,
) -> ResidEditFunction:
    attention_mask = inputs["attention_mask"]
    assert isinstance(attention_mask, Tensor)

    def edit(hidden: Float[Tensor, "batch pos d_model"]) -> Float[Tensor, "batch pos d_model"]:
        current = features.encode(hidden[:, -1, :])  # on the features' device, float32
        delta = current - original_activations.to(device=current.device, dtype=current.dtype)
        shift = residual_shift(features, delta, hidden)  # back on the layer's device, in its dtype
        edited = hidden.clone()
        if positions == "final":
            edited[:, -1, :] -= shift
        else:
            mask = attention_mask.to(hidden.device, hidden.dtype)[:, :, None]
            edited -= mask * shift[:, None, :]
        return edited

    return edit


def pairs_prefix(
    handle: ModelHandle, pairs: Sequence[PromptPair], template: PromptTemplate
) -> SharedPrefix | None:
    """The shared prefix of the pairs' prompts (None when any has an image; see ``prefix_for_prompts``)."""
    prompts = [prompt for pair in pairs for prompt in (pair.original, pair.paraphrase)]
    return prefix_for_prompts(handle, template, prompts)


def patched_margins(
    handle: ModelHandle,
    pairs: Sequence[PromptPair],
    layer: int,
    features: FeatureDirections,
    template: PromptTemplate,
    original_resid: Float[Tensor, "pair d_model"] | None = None,
    positions: PatchPositions = "final",
    batch_size: int = 16,
    progress: bool = True,
    share_prefix: bool = True,
    answer_tokens: YesNoTokens | None = None,
) -> Float[Tensor, " pair"]:
    """The paraphrase margins after delta-only patching of ``features`` at ``layer``. ``original_resid``
    (final-token ``resid_post`` of the originals at ``layer``) is computed when not given; pass it to reuse
    a cached clean run. ``positions="all"`` applies the final-token Δf·W_dec at every real position. Text
    prompts run after a shared few-shot prefix (see ``interp.shared_prefix``) unless ``share_prefix`` is
    False or ``positions="all"``. The margin is Yes − No, or first − second of ``answer_tokens`` (e.g. the
    option letters "A" and "B")."""
    # an every-position patch edits the prefix too, so it cannot be shared
    prefix = pairs_prefix(handle, pairs, template) if share_prefix and positions == "final" else None
    originals = original_resid
    if originals is None:
        prompts = [pair.original for pair in pairs]
        originals = final_token_resid(handle, prompts, template, [layer], batch_size, prefix=prefix)[:, 0]
    tokens = answer_tokens or handle.yes_no_tokens(template.answer_leading_space)

    def run(rows: Sequence[int]) -> Tensor:
        inputs = forward_inputs(handle, [pairs[row].paraphrase for row in rows], template, prefix)
        with torch.no_grad():
            original_activations = features.encode(originals[list(rows)])
        with ResidEdit(
            handle.layers, {layer: _delta_edit(features, original_activations, inputs, positions)}
        ):
            logits = last_position_logits(handle, inputs)
        return yes_minus_no_margin(logits, tokens).cpu()

    batches = map_batches(range(len(pairs)), batch_size, run, progress="patching" if progress else None)
    results = [margins for _, margins in batches]
    return torch.cat(results) if results else torch.zeros(0)
