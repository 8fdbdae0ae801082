"""The SAE view of the configuration comparison: how well the study's SAE still reconstructs each adapted
model (the transfer check's FVU) and how much the studied feature still moves between a FlipBank pair's
original and paraphrase (mean |Δf| at the final token), against the base model."""

from __future__ import annotations

from collections.abc import Sequence

from interp.handle import ModelHandle
from interp.prompt_pair import PromptPair
from interp.prompts import PromptTemplate
from interp.resid_cache import final_token_resid
from saes.features import feature_slice
from saes.loading import LoadedSAE
from saes.transfer import transfer_check

SAE_VIEW_PROMPTS = 64
"""Prompts of the transfer check per configuration (its statistics settle well before the FlipBank ends)."""


def sae_view(
    handle: ModelHandle,
    loaded: LoadedSAE,
    feature: int,
    pairs: Sequence[PromptPair],
    template: PromptTemplate,
) -> dict[str, float | int]:
    """FVU of ``loaded`` on ``handle`` and the mean |f(paraphrase) − f(original)| of ``feature`` over
    ``pairs`` (final token, at the SAE's layer)."""
    prompts = [prompt for pair in pairs for prompt in (pair.original, pair.paraphrase)]
    report = transfer_check(handle, loaded, prompts[:SAE_VIEW_PROMPTS], template)
    resid = final_token_resid(handle, prompts, template, [loaded.layer])[:, 0]  # (2 · pairs, d_model)
    values = feature_slice(loaded.sae, [feature]).encode(resid)[:, 0].float().cpu()  # (2 · pairs,)
    delta = values[1::2] - values[0::2]
    return {
        "fvu": report.fvu,
        "mean_abs_delta_f": float(delta.abs().mean()),
        "feature": feature,
        "n_pairs": len(pairs),
    }
