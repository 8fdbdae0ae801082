"""Owns the transfer check of an SAE on a model over a prompt set: reconstruction quality (FVU, R², mean L0,
dead-feature fraction) and how far the yes-minus-no margin moves when the reconstruction is spliced in."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass

import torch
from jaxtyping import Bool, Float
from torch import Tensor
from tqdm.auto import tqdm

from interp.forward import last_position_logits
from interp.handle import ModelHandle
from interp.hooks import ResidCapture, ResidEdit
from interp.margin import yes_minus_no_margin
from interp.prompts import PromptInput, PromptTemplate, batched, encode_prompts
from saes.features import encode_all, to_sae
from saes.loading import LoadedSAE
from saes.token_mask import DEFAULT_TOKEN_FILTER, TokenFilter, included_positions


@dataclass(frozen=True)
class MarginShift:
    """Spliced-minus-clean margin over the prompts: mean, mean |·|, max |·| and sign-flip fraction."""

    mean: float
    mean_abs: float
    max_abs: float
    sign_flip_fraction: float


@dataclass(frozen=True)
class TransferReport:
    """FVU = Σ‖x − x̂‖² / Σ‖x − x̄‖² over the counted tokens; R² = 1 − FVU; L0 = active features per token;
    dead = fraction of features that never fired on the counted tokens (depends on how many there were)."""

    n_prompts: int
    n_tokens: int
    fvu: float
    r_squared: float
    mean_l0: float
    dead_fraction: float
    margin_shift_reconstruction: MarginShift
    margin_shift_with_error: MarginShift
    token_filter: str

    def to_dict(self) -> dict[str, object]:
        return asdict(self)

    def summary(self) -> str:
        recon, error = self.margin_shift_reconstruction, self.margin_shift_with_error
        return (
            f"{self.n_prompts} prompts, {self.n_tokens} tokens ({self.token_filter}): FVU {self.fvu:.4f} "
            f"(R² {self.r_squared:.4f}), L0 {self.mean_l0:.1f}, dead {self.dead_fraction:.1%}; margin shift "
            f"with reconstruction {recon.mean:+.3f} (|·| {recon.mean_abs:.3f}, sign flips "
            f"{recon.sign_flip_fraction:.1%}), with error term {error.mean_abs:.2e}"
        )


class _Accumulator:
    """Running sums for FVU, L0 and feature firing, in float64."""

    def __init__(self, d_sae: int) -> None:
        self.n_tokens = 0
        self.squared_error = 0.0
        self.squared_norm = 0.0
        self.sum_x: Tensor | None = None
        self.active = 0
        self.fired = torch.zeros(d_sae, dtype=torch.bool)

    def add(
        self, x: Float[Tensor, "n d_in"], recon: Float[Tensor, "n d_in"], acts: Float[Tensor, "n d_sae"]
    ) -> None:
        x64 = x.to(device=recon.device, dtype=torch.float64)  # x from the layer, recon from the SAE
        recon64 = recon.double()
        self.n_tokens += x.shape[0]
        self.squared_error += float((x64 - recon64).pow(2).sum())
        self.squared_norm += float(x64.pow(2).sum())
        column_sum = x64.sum(0).cpu()
        self.sum_x = column_sum if self.sum_x is None else self.sum_x + column_sum
        active = acts > 0
        self.active += int(active.sum())
        self.fired |= active.any(0).cpu()

    def fvu(self) -> float:
        assert self.sum_x is not None and self.n_tokens > 0
        total_variance = self.squared_norm - float(self.sum_x.pow(2).sum()) / self.n_tokens
        return self.squared_error / total_variance


def _splice(
    loaded: LoadedSAE, mask: Bool[Tensor, "batch pos"], with_error: bool
) -> Callable[[Tensor], Tensor]:
    sae = loaded.sae

    def edit(hidden: Float[Tensor, "batch pos d_model"]) -> Float[Tensor, "batch pos d_model"]:
        x = to_sae(sae, hidden)
        recon = sae.decode(sae.encode(x))
        new = recon + (x - recon) if with_error else recon
        keep = mask.to(hidden.device).unsqueeze(-1)
        return torch.where(keep, new.to(device=hidden.device, dtype=hidden.dtype), hidden)

    return edit


def _margins(
    handle: ModelHandle, inputs: dict[str, Tensor], template: PromptTemplate
) -> Float[Tensor, " batch"]:
    logits = last_position_logits(handle, inputs)
    return yes_minus_no_margin(logits, handle.yes_no_tokens(template.answer_leading_space)).cpu()


def _shift(clean: Float[Tensor, " n"], spliced: Float[Tensor, " n"]) -> MarginShift:
    delta = spliced - clean
    flips = (torch.sign(spliced) != torch.sign(clean)).float()
    return MarginShift(
        mean=float(delta.mean()),
        mean_abs=float(delta.abs().mean()),
        max_abs=float(delta.abs().max()),
        sign_flip_fraction=float(flips.mean()),
    )


def _measure_batch(
    handle: ModelHandle,
    loaded: LoadedSAE,
    inputs: dict[str, Tensor],
    template: PromptTemplate,
    token_filter: TokenFilter,
    totals: _Accumulator,
) -> tuple[Tensor, Tensor, Tensor]:
    """Add a batch's counted tokens to ``totals``; return its clean, spliced, spliced-with-error margins."""
    mask = included_positions(handle, inputs, token_filter)
    with ResidCapture(handle.layers, [loaded.layer], positions="all") as capture:
        clean = _margins(handle, inputs, template)
    resid = capture.activations[loaded.layer]
    x = resid[mask.to(resid.device)]
    with torch.no_grad():
        acts = encode_all(loaded.sae, x)
        totals.add(x, loaded.sae.decode(acts), acts)
    spliced = []
    for error_term in (False, True):
        with ResidEdit(handle.layers, {loaded.layer: _splice(loaded, mask, error_term)}):
            spliced.append(_margins(handle, inputs, template))
    return clean, spliced[0], spliced[1]


def transfer_check(
    handle: ModelHandle,
    loaded: LoadedSAE,
    prompts: Sequence[PromptInput],
    template: PromptTemplate,
    token_filter: TokenFilter = DEFAULT_TOKEN_FILTER,
    batch_size: int = 16,
    progress: bool = False,
) -> TransferReport:
    """Three forwards per batch: clean (capturing ``resid_post`` at the SAE's layer), the reconstruction
    spliced in at the counted positions, and the reconstruction plus error term (must equal clean up to
    rounding). Positions ``token_filter`` leaves out keep their clean activations in the spliced runs too."""
    totals = _Accumulator(loaded.d_sae)
    margins: list[tuple[Tensor, Tensor, Tensor]] = [
        _measure_batch(
            handle, loaded, encode_prompts(handle, batch, template), template, token_filter, totals
        )
        for batch in tqdm(batched(prompts, batch_size), desc="transfer", unit="batch", disable=not progress)
    ]
    if totals.n_tokens == 0:
        raise ValueError("no token positions left after the token filter; nothing to measure")
    clean, spliced, with_error = (torch.cat(column) for column in zip(*margins, strict=True))
    fvu = totals.fvu()
    return TransferReport(
        n_prompts=len(prompts),
        n_tokens=totals.n_tokens,
        fvu=fvu,
        r_squared=1.0 - fvu,
        mean_l0=totals.active / totals.n_tokens,
        dead_fraction=float((~totals.fired).float().mean()),
        margin_shift_reconstruction=_shift(clean, spliced),
        margin_shift_with_error=_shift(clean, with_error),
        token_filter=token_filter.describe(),
    )
