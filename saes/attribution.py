"""Attribution patching over SAE features (AtP): one forward and one backward pass on each paraphrase give
every feature's estimated effect of the delta-only patch at the SAE's layer and final token, the linear
approximation

    effect_k ≈ −Δf_k · (W_dec[k] · ∂m/∂x),   Δf = f(x_para) − f(x_orig),

where m is the yes-minus-no margin and x the paraphrase's final-token ``resid_post`` there; the SAE error
term gets the same treatment as its own node (−Δe · ∂m/∂x with e = x − x̂). The real patch of feature k
changes the margin by about ``effect_k``; rank features by it before patching the best few for real.

With ``steps > 0`` (AtP*'s integrated-gradients variant) ∂m/∂x is averaged over ``steps`` midpoints of the
straight path from x_para to x_orig, so the feature and error nodes add up to the real margin change of
replacing x_para by x_orig (up to the midpoint rule's error), where plain AtP is exact only to first order.

Text prompts run after the shared few-shot prefix, computed once (``interp.shared_prefix``); every position
but the last runs once without gradients, and the forward and backward passes of each gradient cover the
last position alone (``interp.final_step``).

>>> from interp import load_model                                  # doctest: +SKIP
>>> attribution = attribution_patching(handle, loaded, pairs, CHAT_TEMPLATE, steps=4)  # doctest: +SKIP
>>> attribution.ranking()[:5]                                      # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from jaxtyping import Float
from torch import Tensor
from tqdm.auto import tqdm

from interp.answer_tokens import YesNoTokens
from interp.final_step import FinalStep, final_margins, prefill
from interp.handle import ModelHandle
from interp.hooks import ResidEdit
from interp.patching import pairs_prefix
from interp.prompt_pair import PromptPair
from interp.prompts import PromptTemplate
from interp.resid_cache import final_token_resid
from interp.shared_prefix import SharedPrefix, forward_inputs
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


@dataclass(frozen=True)
class PathGradient:
    """The paraphrases' final-token ``resid_post`` at the layer, ∂margin/∂it averaged over the path's
    points, and the clean paraphrase margins (all float32, CPU)."""

    paraphrase_resid: Float[Tensor, "pair d_model"]
    gradient: Float[Tensor, "pair d_model"]
    margins: Float[Tensor, " pair"]


def path_points(steps: int) -> list[float]:
    """Where on the path x_para → x_orig the gradient is taken: 0 alone for plain AtP, else the midpoints
    of ``steps`` equal intervals."""
    if steps < 0:
        raise ValueError(f"steps must be 0 (plain AtP) or positive, got {steps}")
    return [0.0] if steps == 0 else [(i + 0.5) / steps for i in range(steps)]


def _gradient_at(
    handle: ModelHandle,
    step: FinalStep,
    layer: int,
    point: float,
    originals: Float[Tensor, "pair d_model"],
    tokens: YesNoTokens,
) -> tuple[Tensor, Tensor, Tensor]:
    """∂margin/∂x at x = x_para + point·(x_orig − x_para), final position; with x_para and the margins."""
    seen: list[Tensor] = []
    leaves: list[Tensor] = []

    def on_path(hidden: Float[Tensor, "batch 1 d_model"]) -> Float[Tensor, "batch 1 d_model"]:
        last = hidden[:, -1, :].detach()
        target = originals.to(device=last.device, dtype=last.dtype)  # the cached run lives on the CPU
        leaf = (last + point * (target - last)).requires_grad_(True)
        seen.append(last)
        leaves.append(leaf)
        return leaf[:, None, :]

    with torch.enable_grad(), ResidEdit(handle.layers, {layer: on_path}):
        margins = final_margins(handle, step, tokens)
        (gradient,) = torch.autograd.grad(margins.sum(), leaves)  # rows are independent
    x_para, g, m = (t.detach().to(device="cpu", dtype=torch.float32) for t in (seen[0], gradient, margins))
    return x_para, g, m


def path_gradient(
    handle: ModelHandle,
    pairs: Sequence[PromptPair],
    layer: int,
    template: PromptTemplate,
    originals: Float[Tensor, "pair d_model"],
    steps: int = 0,
    prefix: SharedPrefix | None = None,
) -> PathGradient:
    """`PathGradient` of the pairs' paraphrases at ``layer`` (see ``path_points`` for ``steps``). Every
    position but the last runs once without gradients; each point then runs the last position alone, forward
    and backward. The weights get no gradient."""
    tokens = handle.yes_no_tokens(template.answer_leading_space)
    step = prefill(handle, forward_inputs(handle, [pair.paraphrase for pair in pairs], template, prefix))
    runs = [_gradient_at(handle, step, layer, point, originals, tokens) for point in path_points(steps)]
    gradient = torch.stack([run[1] for run in runs]).mean(dim=0)  # (pair, d_model)
    if steps == 0:
        margins = runs[0][2]
    else:
        with torch.no_grad():
            margins = final_margins(handle, step, tokens).cpu()
    return PathGradient(runs[0][0], gradient, margins)


def _batch_attribution(
    handle: ModelHandle,
    loaded: LoadedSAE,
    pairs: Sequence[PromptPair],
    template: PromptTemplate,
    steps: int,
    prefix: SharedPrefix | None,
) -> tuple[Tensor, Tensor, Tensor]:
    sae = loaded.sae
    prompts = [pair.original for pair in pairs]
    originals = final_token_resid(handle, prompts, template, [loaded.layer], prefix=prefix)[:, 0]
    path = path_gradient(handle, pairs, loaded.layer, template, originals, steps, prefix)
    x_o, x_p, g = (to_sae(sae, t).float() for t in (originals, path.paraphrase_resid, path.gradient))
    f_o, f_p = encode_all(sae, x_o).float(), encode_all(sae, x_p).float()  # (pair, d_sae)
    w_dec = sae.W_dec.detach().float()  # (d_sae, d_model)
    effects = -(f_p - f_o) * (g @ w_dec.T)  # (pair, d_sae)
    with torch.no_grad():
        error_o = x_o - sae.decode(f_o.to(sae.W_dec.dtype)).float()
        error_p = x_p - sae.decode(f_p.to(sae.W_dec.dtype)).float()
    error = -((error_p - error_o) * g).sum(dim=-1)  # (pair,)
    return effects.cpu(), error.cpu(), path.margins


def attribution_patching(
    handle: ModelHandle,
    loaded: LoadedSAE,
    pairs: Sequence[PromptPair],
    template: PromptTemplate,
    batch_size: int = 8,
    progress: bool = False,
    steps: int = 0,
) -> Attribution:
    """`Attribution` of every feature of ``loaded`` for each pair: one clean forward of the originals (no
    gradient) and, per batch, one forward + backward of the paraphrases (``steps`` of them for AtP*'s
    integrated gradients, plus one clean forward for their margins)."""
    prefix = pairs_prefix(handle, pairs, template) if pairs else None
    starts = tqdm(range(0, len(pairs), batch_size), desc="attribution", unit="batch", disable=not progress)
    parts = [
        _batch_attribution(handle, loaded, pairs[start : start + batch_size], template, steps, prefix)
        for start in starts
    ]
    if not parts:
        return Attribution(torch.zeros(0, loaded.sae.cfg.d_sae), torch.zeros(0), torch.zeros(0))
    features, error, margins = (torch.cat(column) for column in zip(*parts, strict=True))
    return Attribution(features, error, margins)
