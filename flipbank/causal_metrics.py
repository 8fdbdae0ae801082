"""Pure metrics of a patching experiment (DESIGN §2): per-pair recovery, full reversal and shift toward the
original, and their aggregates with bootstrap CIs, overall and by group. Numbers in, numbers out."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from flipbank.statistics import ConfidenceInterval, bootstrap_mean_ci

#: |m_orig − m_para| below this makes recovery undefined (division by ~0); such pairs get NaN recovery.
MIN_MARGIN_GAP = 1e-6


def patch_outcomes(m_orig: ArrayLike, m_para: ArrayLike, m_patched: ArrayLike) -> pd.DataFrame:
    """Per pair: recovery = (m_patched − m_para) / (m_orig − m_para); full reversal = sign(m_patched) ==
    sign(m_orig); shift toward the original = (m_patched − m_para)·sign(m_orig − m_para), in logits."""
    original, paraphrase, patched = (np.asarray(a, dtype=np.float64) for a in (m_orig, m_para, m_patched))
    if not original.shape == paraphrase.shape == patched.shape:
        raise ValueError("m_orig, m_para and m_patched must have the same length")
    for name, values in (("m_orig", original), ("m_para", paraphrase), ("m_patched", patched)):
        if not np.isfinite(values).all():
            raise ValueError(f"{name} contains NaN or infinite margins")
    gap = original - paraphrase
    with np.errstate(divide="ignore", invalid="ignore"):
        recovery = np.where(np.abs(gap) > MIN_MARGIN_GAP, (patched - paraphrase) / gap, np.nan)
    return pd.DataFrame(
        {
            "m_orig": original,
            "m_para": paraphrase,
            "m_patched": patched,
            "recovery": recovery,
            "full_reversal": np.sign(patched) == np.sign(original),
            "shift_toward_original": (patched - paraphrase) * np.sign(gap),
        }
    )


@dataclass(frozen=True)
class PatchingSummary:
    """Aggregates over pairs; recovery statistics skip pairs whose recovery is undefined."""

    n: int
    mean_recovery: float
    mean_recovery_ci: ConfidenceInterval
    median_recovery: float
    share_above_half: float
    full_reversals: int
    mean_shift: float
    mean_shift_ci: ConfidenceInterval

    def as_row(self) -> dict[str, float | int]:
        return {
            "n": self.n,
            "mean_recovery": self.mean_recovery,
            "mean_recovery_low": self.mean_recovery_ci.low,
            "mean_recovery_high": self.mean_recovery_ci.high,
            "median_recovery": self.median_recovery,
            "share_recovery_above_50pct": self.share_above_half,
            "full_reversals": self.full_reversals,
            "mean_shift": self.mean_shift,
            "mean_shift_low": self.mean_shift_ci.low,
            "mean_shift_high": self.mean_shift_ci.high,
        }


def _mean(values: np.ndarray) -> float:
    return float(values.mean()) if values.size else math.nan


def summarise_patching(outcomes: pd.DataFrame, seed: int = 0) -> PatchingSummary:
    """Mean (with bootstrap CI) and median recovery, share above 50 %, full reversals and mean shift."""
    recovery = outcomes["recovery"].to_numpy(dtype=np.float64)
    recovery = recovery[np.isfinite(recovery)]
    shift = outcomes["shift_toward_original"].to_numpy(dtype=np.float64)
    return PatchingSummary(
        n=len(outcomes),
        mean_recovery=_mean(recovery),
        mean_recovery_ci=bootstrap_mean_ci(recovery, seed=seed),
        median_recovery=float(np.median(recovery)) if recovery.size else math.nan,
        share_above_half=_mean((recovery > 0.5).astype(np.float64)),
        full_reversals=int(outcomes["full_reversal"].sum()),
        mean_shift=_mean(shift),
        mean_shift_ci=bootstrap_mean_ci(shift, seed=seed),
    )


def summarise_by(outcomes: pd.DataFrame, column: str, seed: int = 0) -> pd.DataFrame:
    """``summarise_patching`` for each value of ``column`` (e.g. finding, phenomenon, direction)."""
    rows = [
        {column: key, **summarise_patching(group, seed).as_row()}
        for key, group in outcomes.groupby(column, sort=True)
    ]
    return pd.DataFrame(rows)
