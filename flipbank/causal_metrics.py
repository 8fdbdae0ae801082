"""Pure metrics of a patching experiment: per-pair recovery, margin-sign flips, full reversals and
shift toward the original, and their aggregates with bootstrap CIs, overall and by group. Numbers in,
numbers out.

Two kinds of arm are summarised differently. On FlipBank pairs (parsed-answer flips; the feature arm and the
random-feature control) ``summarise_patching`` reports recovery and reversals. On the non-flip control pairs
the two margins already agree, so recovery is noise and a "reversal" holds by construction:
``summarise_non_flip_control`` reports only how far the patch moves the margin, mean |Δmargin|."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray

from flipbank.statistics import ConfidenceInterval, bootstrap_mean_ci, bootstrap_ratio_ci

#: |original_margin − paraphrase_margin| at or below this makes recovery undefined (division by ~0); such
#: pairs get NaN recovery and are left out of the aggregate recovery too (their weight |gap| in it would be ~0
#: anyway).
MIN_MARGIN_GAP = 1e-6
#: Pairs with |original_margin − paraphrase_margin| below this (logits) are counted in
#: ``n_below_gap_floor``: their per-pair recovery is a ratio over a near-zero gap and can be huge for a tiny
#: shift. They are reported, not dropped.
DEFAULT_GAP_FLOOR = 0.1
#: The columns of a summary row, in order (``as_row`` of either summary gives all of them).
SUMMARY_COLUMNS = (
    "n",
    "n_sign_flips",
    "n_parsed_not_sign_flips",
    "mean_recovery",
    "mean_recovery_low",
    "mean_recovery_high",
    "median_recovery",
    "share_recovery_above_50pct",
    "aggregate_recovery",
    "aggregate_recovery_low",
    "aggregate_recovery_high",
    "gap_floor",
    "n_below_gap_floor",
    "full_reversals",
    "mean_shift",
    "mean_shift_low",
    "mean_shift_high",
    "mean_abs_delta_margin",
    "mean_abs_delta_margin_low",
    "mean_abs_delta_margin_high",
)
#: Count columns: nullable integers in a summary frame (missing on the non-flip control's rows).
COUNT_COLUMNS = ("n", "n_sign_flips", "n_parsed_not_sign_flips", "n_below_gap_floor", "full_reversals")

Row = dict[str, float | int]


def patch_outcomes(
    original_margin: ArrayLike, paraphrase_margin: ArrayLike, patched_margin: ArrayLike
) -> pd.DataFrame:
    """Per pair, in logits: gap = original_margin − paraphrase_margin; delta_margin = patched_margin −
    paraphrase_margin; recovery = delta_margin / gap (NaN when |gap| ≤ ``MIN_MARGIN_GAP``); sign_flip =
    original_margin and paraphrase_margin have strictly opposite signs; full_reversal = a sign-flip pair whose
    patched margin has the original's sign (False on every other pair, where the original's sign may hold with
    no patch at all); shift toward the original = delta_margin·sign(gap)."""
    original, paraphrase, patched = (
        np.asarray(a, dtype=np.float64) for a in (original_margin, paraphrase_margin, patched_margin)
    )
    if not original.shape == paraphrase.shape == patched.shape:
        raise ValueError("original_margin, paraphrase_margin and patched_margin must have the same length")
    for name, values in (
        ("original_margin", original),
        ("paraphrase_margin", paraphrase),
        ("patched_margin", patched),
    ):
        if not np.isfinite(values).all():
            raise ValueError(f"{name} contains NaN or infinite margins")
    gap, delta = original - paraphrase, patched - paraphrase
    with np.errstate(divide="ignore", invalid="ignore"):
        recovery = np.where(np.abs(gap) > MIN_MARGIN_GAP, delta / gap, np.nan)
    sign_flip = np.sign(original) * np.sign(paraphrase) < 0
    return pd.DataFrame(
        {
            "original_margin": original,
            "paraphrase_margin": paraphrase,
            "patched_margin": patched,
            "gap": gap,
            "delta_margin": delta,
            "recovery": recovery,
            "sign_flip": sign_flip,
            "full_reversal": sign_flip & (np.sign(patched) == np.sign(original)),
            "shift_toward_original": delta * np.sign(gap),
        }
    )


def _interval(prefix: str, ci: ConfidenceInterval) -> Row:
    return {f"{prefix}_low": ci.low, f"{prefix}_high": ci.high}


@dataclass(frozen=True)
class PatchingSummary:
    """Aggregates over FlipBank pairs (each a parsed-answer flip). Recovery statistics skip pairs whose
    recovery is undefined; ``full_reversals`` counts sign-flip pairs only (out of ``n_sign_flips``)."""

    n: int
    n_sign_flips: int
    n_parsed_not_sign_flips: int
    mean_recovery: float
    mean_recovery_ci: ConfidenceInterval
    median_recovery: float
    share_above_half: float
    aggregate_recovery: float
    aggregate_recovery_ci: ConfidenceInterval
    gap_floor: float
    n_below_gap_floor: int
    full_reversals: int
    mean_shift: float
    mean_shift_ci: ConfidenceInterval
    mean_abs_delta_margin: float
    mean_abs_delta_margin_ci: ConfidenceInterval

    def as_row(self) -> Row:
        row: Row = {
            "n": self.n,
            "n_sign_flips": self.n_sign_flips,
            "n_parsed_not_sign_flips": self.n_parsed_not_sign_flips,
            "mean_recovery": self.mean_recovery,
            **_interval("mean_recovery", self.mean_recovery_ci),
            "median_recovery": self.median_recovery,
            "share_recovery_above_50pct": self.share_above_half,
            "aggregate_recovery": self.aggregate_recovery,
            **_interval("aggregate_recovery", self.aggregate_recovery_ci),
            "gap_floor": self.gap_floor,
            "n_below_gap_floor": self.n_below_gap_floor,
            "full_reversals": self.full_reversals,
            "mean_shift": self.mean_shift,
            **_interval("mean_shift", self.mean_shift_ci),
            "mean_abs_delta_margin": self.mean_abs_delta_margin,
            **_interval("mean_abs_delta_margin", self.mean_abs_delta_margin_ci),
        }
        return {column: row[column] for column in SUMMARY_COLUMNS}


@dataclass(frozen=True)
class NonFlipControlSummary:
    """The non-flip control arm: how far the patch moves margins that already agree, mean |patched_margin −
    paraphrase_margin| (logits). Recovery and reversals are not defined for it and are NaN in its row."""

    n: int
    mean_abs_delta_margin: float
    mean_abs_delta_margin_ci: ConfidenceInterval

    def as_row(self) -> Row:
        row: Row = dict.fromkeys(SUMMARY_COLUMNS, math.nan)
        row.update(
            n=self.n,
            mean_abs_delta_margin=self.mean_abs_delta_margin,
            **_interval("mean_abs_delta_margin", self.mean_abs_delta_margin_ci),
        )
        return row


ArmSummary = PatchingSummary | NonFlipControlSummary


def _mean(values: NDArray[np.float64]) -> float:
    return float(values.mean()) if values.size else math.nan


def _column(outcomes: pd.DataFrame, name: str) -> NDArray[np.float64]:
    return outcomes[name].to_numpy(dtype=np.float64)


def aggregate_recovery(shift: ArrayLike, gap: ArrayLike) -> float:
    """Σ shift / Σ |gap| over the pairs with |gap| > ``MIN_MARGIN_GAP`` (NaN when there are none): the
    |gap|-weighted mean of per-pair recovery, so a pair with a near-zero gap cannot dominate it."""
    shifts, gaps = np.asarray(shift, dtype=np.float64), np.abs(np.asarray(gap, dtype=np.float64))
    defined = gaps > MIN_MARGIN_GAP
    return float(shifts[defined].sum() / gaps[defined].sum()) if defined.any() else math.nan


def _aggregate_ci(shift: NDArray[np.float64], gap: NDArray[np.float64], seed: int) -> ConfidenceInterval:
    defined = np.abs(gap) > MIN_MARGIN_GAP
    return bootstrap_ratio_ci(shift[defined], np.abs(gap[defined]), seed=seed)


def summarise_patching(
    outcomes: pd.DataFrame, seed: int = 0, gap_floor: float = DEFAULT_GAP_FLOOR
) -> PatchingSummary:
    """A flip arm: mean (with bootstrap CI) and median recovery, share above 50 %, aggregate recovery (with
    a pair bootstrap CI), the pairs below ``gap_floor``, margin-sign flips, full reversals among them, mean
    shift and mean |Δmargin|. ``outcomes`` are FlipBank pairs, each a parsed-answer flip, so those that are
    not margin-sign flips are ``n_parsed_not_sign_flips``."""
    if not (math.isfinite(gap_floor) and gap_floor >= 0):
        raise ValueError(f"gap_floor must be a finite number >= 0, got {gap_floor}")
    recovery = _column(outcomes, "recovery")
    recovery = recovery[np.isfinite(recovery)]
    shift, gap = _column(outcomes, "shift_toward_original"), _column(outcomes, "gap")
    moved = np.abs(_column(outcomes, "delta_margin"))
    n_sign_flips = int(outcomes["sign_flip"].sum())
    return PatchingSummary(
        n=len(outcomes),
        n_sign_flips=n_sign_flips,
        n_parsed_not_sign_flips=len(outcomes) - n_sign_flips,
        mean_recovery=_mean(recovery),
        mean_recovery_ci=bootstrap_mean_ci(recovery, seed=seed),
        median_recovery=float(np.median(recovery)) if recovery.size else math.nan,
        share_above_half=_mean((recovery > 0.5).astype(np.float64)),
        aggregate_recovery=aggregate_recovery(shift, gap),
        aggregate_recovery_ci=_aggregate_ci(shift, gap, seed),
        gap_floor=float(gap_floor),
        n_below_gap_floor=int((np.abs(gap) < gap_floor).sum()),
        full_reversals=int(outcomes["full_reversal"].sum()),
        mean_shift=_mean(shift),
        mean_shift_ci=bootstrap_mean_ci(shift, seed=seed),
        mean_abs_delta_margin=_mean(moved),
        mean_abs_delta_margin_ci=bootstrap_mean_ci(moved, seed=seed),
    )


def summarise_non_flip_control(outcomes: pd.DataFrame, seed: int = 0) -> NonFlipControlSummary:
    """The non-flip control arm: mean |patched_margin − paraphrase_margin| with its bootstrap CI, and
    nothing else."""
    moved = np.abs(_column(outcomes, "delta_margin"))
    return NonFlipControlSummary(len(outcomes), _mean(moved), bootstrap_mean_ci(moved, seed=seed))


def summary_frame(rows: Sequence[Mapping[str, object]]) -> pd.DataFrame:
    """Summary rows as a frame whose count columns are nullable integers (missing for the control arm)."""
    frame = pd.DataFrame(list(rows))
    present = {column: "Int64" for column in COUNT_COLUMNS if column in frame.columns}
    return frame.astype(present)


def summarise_by(
    outcomes: pd.DataFrame,
    column: str,
    seed: int = 0,
    summarise: Callable[[pd.DataFrame, int], ArmSummary] = summarise_patching,
) -> pd.DataFrame:
    """``summarise`` (a flip arm's by default) for each value of ``column`` (e.g. finding, direction)."""
    rows = [
        {column: key, **summarise(group, seed).as_row()} for key, group in outcomes.groupby(column, sort=True)
    ]
    return summary_frame(rows)
