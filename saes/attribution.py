"""Attribution patching over SAE features (AtP): one forward and one backward pass on each paraphrase give
every feature's estimated effect of the delta-only patch at the SAE's layer and final token, the linear
approximation

    effect_k ≈ −Δf_k · (W_dec[k] · ∂m/∂x),   Δf = f(x_para) − f(x_orig),

where m is the yes-minus-no margin and x the paraphrase's ``resid_post`` there; the SAE error term gets the
same treatment as its own node (−Δe · ∂m/∂x with e = x − x̂). The real patch of feature k changes the margin
by about ``effect_k``; rank features by it before patching the best few for real.

>>> from interp import load_model                                  # doctest: +SKIP
>>> attribution = attribution_patching(handle, loaded, pairs, CHAT_TEMPLATE)  # doctest: +SKIP
>>> attribution.ranking()[:5]                                      # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from jaxtyping import Float
from torch import Tensor
from tqdm.auto import tqdm

from interp.handle import ModelHandle
from interp.hooks import ResidEdit
from interp.margin import yes_minus_no_margin
from interp.patching import PatchPair
from interp.prompts import PromptTemplate, encode_prompts
from interp.resid_cache import final_token_resid
from saes.features import encode_all, to_sae
from saes.loading import LoadedSAE


@dataclass(frozen=True)
class Attribution:
    """Estimated margin change of the delta-only patch per pair and feature, of the error node per pair,
    and the paraphrases' clean margins (all float32, CPU)."""

    features: Float[Tensor, "pair d_sae"]
    error: Float[Tensor, " pair"]
    paraphrase_margins: Float[Tensor, " pair"]

    def mean_effect(self) -> Float[Tensor, " d_sae"]:
        """Each feature's estimated effect averaged over pairs."""
        return self.features.mean(dim=0)

    def ranking(self) -> list[int]:
        """Feature ids by |mean estimated effect|, largest first."""
        return [int(i) for i in torch.argsort(self.mean_effect().abs(), descending=True)]


def _gradient_at_layer(
    handle: ModelHandle, pairs: Sequence[PatchPair], layer: int, template: PromptTemplate
) -> tuple[Tensor, Tensor, Tensor]:
    """The paraphrases' final-token ``resid_post`` at ``layer``, ∂margin/∂it, and the margins."""
    captured: list[Tensor] = []

    def as_leaf(hidden: Tensor) -> Tensor:
        leaf = hidden.detach().requires_grad_(True)
        captured.append(leaf)
        return leaf

    inputs = encode_prompts(handle, [pair.paraphrase for pair in pairs], template)
    tokens = handle.yes_no_tokens(template.answer_leading_space)
    with torch.enable_grad(), ResidEdit(handle.layers, {layer: as_leaf}):
        logits = handle.model(**inputs, logits_to_keep=1, use_cache=False).logits[:, -1, :]
        margins = yes_minus_no_margin(logits, tokens)
        (leaf,) = captured
        # the gradient with respect to the captured residual only: no weight gradients are computed or kept
        (gradient,) = torch.autograd.grad(margins.sum(), leaf)  # rows are independent
    return leaf[:, -1, :].detach(), gradient[:, -1, :], margins.detach().float().cpu()


def _batch_attribution(
    handle: ModelHandle, loaded: LoadedSAE, pairs: Sequence[PatchPair], template: PromptTemplate
) -> tuple[Tensor, Tensor, Tensor]:
    sae = loaded.sae
    originals = final_token_resid(handle, [pair.original for pair in pairs], template, [loaded.layer])[:, 0]
    paraphrases, gradient, margins = _gradient_at_layer(handle, pairs, loaded.layer, template)
    x_o, x_p, g = (to_sae(sae, t).float() for t in (originals, paraphrases, gradient))  # on the SAE's device
    f_o, f_p = encode_all(sae, x_o).float(), encode_all(sae, x_p).float()  # (pair, d_sae)
    w_dec = sae.W_dec.detach().float()  # (d_sae, d_model)
    effects = -(f_p - f_o) * (g @ w_dec.T)  # (pair, d_sae)
    with torch.no_grad():
        error_o = x_o - sae.decode(f_o.to(sae.W_dec.dtype)).float()
        error_p = x_p - sae.decode(f_p.to(sae.W_dec.dtype)).float()
    error = -((error_p - error_o) * g).sum(dim=-1)  # (pair,)
    return effects.cpu(), error.cpu(), margins


def attribution_patching(
    handle: ModelHandle,
    loaded: LoadedSAE,
    pairs: Sequence[PatchPair],
    template: PromptTemplate,
    batch_size: int = 8,
    progress: bool = False,
) -> Attribution:
    """`Attribution` of every feature of ``loaded`` for each pair: one clean forward of the originals (no
    gradient) and one forward + backward of the paraphrases per batch."""
    starts = tqdm(range(0, len(pairs), batch_size), desc="attribution", unit="batch", disable=not progress)
    parts = [
        _batch_attribution(handle, loaded, pairs[start : start + batch_size], template) for start in starts
    ]
    if not parts:
        return Attribution(torch.zeros(0, loaded.sae.cfg.d_sae), torch.zeros(0), torch.zeros(0))
    features, error, margins = (torch.cat(column) for column in zip(*parts, strict=True))
    return Attribution(features, error, margins)
