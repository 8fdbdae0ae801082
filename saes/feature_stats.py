"""Pure statistics for feature ranking (numbers in, numbers out): Pearson and Spearman r with seeded
percentile-bootstrap CIs, the Mann–Whitney U test, and per-group means."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import NDArray
from scipy import stats

from flipbank.statistics import rowwise_pearson

CorrelationMethod = Literal["pearson", "spearman"]
FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class Correlation:
    """A correlation coefficient with its bootstrap confidence interval (NaN where undefined)."""

    r: float
    ci_low: float
    ci_high: float


def _prepare(x: FloatArray, y: FloatArray, method: CorrelationMethod) -> tuple[FloatArray, FloatArray]:
    if method == "spearman":
        return stats.rankdata(x, axis=-1), stats.rankdata(y, axis=-1)
    return x, y


def correlation(
    x: Sequence[float] | FloatArray, y: Sequence[float] | FloatArray, method: CorrelationMethod
) -> float:
    """Pearson r, or Spearman's rho (Pearson r of average ranks); NaN when either side is constant."""
    xs, ys = _prepare(np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64), method)
    return float(rowwise_pearson(xs[None, :], ys[None, :])[0])


def bootstrap_indices(n: int, n_resamples: int = 1000, seed: int = 0) -> NDArray[np.int64]:
    """``n_resamples`` rows of ``n`` indices drawn with replacement (seeded; reuse them to pair features)."""
    return np.random.default_rng(seed).integers(0, n, size=(n_resamples, n))


def bootstrap_correlation(
    x: Sequence[float] | FloatArray,
    y: Sequence[float] | FloatArray,
    method: CorrelationMethod,
    indices: NDArray[np.int64],
    confidence: float = 0.95,
) -> Correlation:
    """The correlation of ``x`` and ``y`` with a percentile-bootstrap CI over the resamples in ``indices``
    (2.5/97.5 percentiles at 95 %); resamples where a side is constant are left out of the percentiles."""
    xa, ya = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    r = correlation(xa, ya, method)
    if len(xa) < 3:
        return Correlation(r, float("nan"), float("nan"))
    xs, ys = _prepare(xa[indices], ya[indices], method)
    resampled = rowwise_pearson(xs, ys)
    if np.isnan(resampled).all():
        return Correlation(r, float("nan"), float("nan"))
    tail = (1.0 - confidence) / 2.0 * 100.0
    low, high = np.nanpercentile(resampled, [tail, 100.0 - tail])
    return Correlation(r, float(low), float(high))


@dataclass(frozen=True)
class MannWhitney:
    """Two-sided Mann–Whitney U of group a against group b (NaN when a group is empty)."""

    u: float
    p_value: float
    n_a: int
    n_b: int


def mann_whitney(a: Sequence[float] | FloatArray, b: Sequence[float] | FloatArray) -> MannWhitney:
    """Two-sided Mann–Whitney U test (scipy, tie-corrected) of ``a`` against ``b``."""
    xa, xb = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if len(xa) == 0 or len(xb) == 0:
        return MannWhitney(float("nan"), float("nan"), len(xa), len(xb))
    if np.ptp(np.concatenate([xa, xb])) == 0:  # every value equal: no evidence either way
        return MannWhitney(len(xa) * len(xb) / 2.0, 1.0, len(xa), len(xb))
    result = stats.mannwhitneyu(xa, xb, alternative="two-sided")
    return MannWhitney(float(result.statistic), float(result.pvalue), len(xa), len(xb))


def group_means(values: FloatArray, labels: Sequence[str]) -> dict[str, FloatArray]:
    """Mean of the rows of ``values`` ([n, k]) within each label, keyed by label (sorted)."""
    label_array = np.asarray(labels)
    return {label: values[label_array == label].mean(axis=0) for label in sorted(set(labels))}


def rank_by_mean_abs(delta: FloatArray) -> tuple[NDArray[np.int64], FloatArray]:
    """Column order by decreasing mean |delta| over rows (ties: lower index first), and the means."""
    mean_abs = np.abs(delta).mean(axis=0)
    return np.argsort(-mean_abs, kind="stable"), mean_abs
