"""Metrics of uncertainty estimates, pure (numbers in, numbers out): AUROC of a score for detecting an event
(an error, a paraphrase flip, a NOTA collapse), 10-bin expected calibration error whose top bin includes
1.0, the Brier score, the risk–coverage curve and its area (AURC), a reliability table, and each with a
seeded percentile bootstrap CI over items.

>>> auroc([0.9, 0.8, 0.3, 0.1], [True, True, False, False])
1.0
>>> round(expected_calibration_error([0.95, 0.95, 0.55, 0.55], [True, False, True, True]), 3)
0.45
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray
from scipy import stats as scipy_stats

from flipbank.statistics import (
    BOOTSTRAP_RESAMPLES,
    DEFAULT_SEED,
    ConfidenceInterval,
    finite_array,
    percentile_interval,
)

N_BINS = 10


def _labels(values: ArrayLike, size: int) -> NDArray[np.bool_]:
    labels = np.asarray(values, dtype=bool)
    if labels.shape != (size,):
        raise ValueError(f"expected {size} labels, got shape {labels.shape}")
    return labels


def auroc(scores: ArrayLike, events: ArrayLike) -> float:
    """P(score of an event item > score of a non-event item), ties counting ½ (the Mann–Whitney U / n₁n₀).
    NaN when either class is empty."""
    values = finite_array(scores, "scores")
    labels = _labels(events, values.size)
    positives, negatives = int(labels.sum()), int((~labels).sum())
    if positives == 0 or negatives == 0:
        return math.nan
    ranks = scipy_stats.rankdata(values)  # average ranks for ties
    u = ranks[labels].sum() - positives * (positives + 1) / 2
    return float(u / (positives * negatives))


def _bin_index(confidences: NDArray[np.float64], n_bins: int) -> NDArray[np.int64]:
    """Bins [0, 0.1), [0.1, 0.2), …, [0.9, 1.0]: the top bin includes 1.0."""
    return np.minimum((confidences * n_bins).astype(np.int64), n_bins - 1)


def reliability_table(confidences: ArrayLike, correct: ArrayLike, n_bins: int = N_BINS) -> pd.DataFrame:
    """Per confidence bin: its range, count, mean confidence and accuracy (NaN for an empty bin)."""
    values = finite_array(confidences, "confidences")
    if values.size and (values.min() < 0 or values.max() > 1):
        raise ValueError("confidences must lie in [0, 1]")
    right = _labels(correct, values.size).astype(np.float64)
    bins = _bin_index(values, n_bins)
    rows = []
    for index in range(n_bins):
        chosen = bins == index
        count = int(chosen.sum())
        rows.append(
            {
                "bin_low": index / n_bins,
                "bin_high": (index + 1) / n_bins,
                "count": count,
                "mean_confidence": float(values[chosen].mean()) if count else math.nan,
                "accuracy": float(right[chosen].mean()) if count else math.nan,
            }
        )
    return pd.DataFrame(rows)


def expected_calibration_error(confidences: ArrayLike, correct: ArrayLike, n_bins: int = N_BINS) -> float:
    """Σ_bins (count / n) · |accuracy − mean confidence|; NaN for no items."""
    table = reliability_table(confidences, correct, n_bins)
    total = int(table["count"].sum())
    if total == 0:
        return math.nan
    filled = table[table["count"] > 0]
    gaps = (filled["accuracy"] - filled["mean_confidence"]).abs()
    return float((filled["count"] * gaps).sum() / total)


def brier_score(probabilities: ArrayLike, outcomes: ArrayLike) -> float:
    """Mean of (p − y)² for the probability ``p`` of the binary outcome ``y``."""
    values = finite_array(probabilities, "probabilities")
    happened = _labels(outcomes, values.size).astype(np.float64)
    return float(((values - happened) ** 2).mean()) if values.size else math.nan


@dataclass(frozen=True)
class RiskCoverage:
    """The selective-prediction curve: answering the ``coverage`` most confident fraction of items gives
    ``risk`` (error rate among them); ``aurc`` is the mean risk over the n coverage points."""

    coverage: NDArray[np.float64]
    risk: NDArray[np.float64]
    aurc: float


def risk_coverage(confidences: ArrayLike, correct: ArrayLike) -> RiskCoverage:
    """The risk–coverage curve, most confident first (ties in a stable order of input)."""
    values = finite_array(confidences, "confidences")
    right = _labels(correct, values.size)
    if values.size == 0:
        return RiskCoverage(np.zeros(0), np.zeros(0), math.nan)
    order = np.argsort(-values, kind="stable")
    errors = np.cumsum(~right[order])
    answered = np.arange(1, values.size + 1)
    risk = errors / answered
    return RiskCoverage(answered / values.size, risk, float(risk.mean()))


@dataclass(frozen=True)
class UncertaintyMetric:
    """A metric's value with its bootstrap CI over items."""

    value: float
    ci: ConfidenceInterval
    n: int


def with_bootstrap(
    metric: Callable[[NDArray[np.float64], NDArray[np.bool_]], float],
    scores: ArrayLike,
    labels: ArrayLike,
    resamples: int = BOOTSTRAP_RESAMPLES,
    seed: int = DEFAULT_SEED,
) -> UncertaintyMetric:
    """``metric(scores, labels)`` with a percentile bootstrap CI over items (resamples where the metric is
    undefined, e.g. one class only for AUROC, are dropped)."""
    values = finite_array(scores, "scores")
    flags = _labels(labels, values.size)
    rng = np.random.default_rng(seed)
    replicates = (
        [
            metric(values[indices], flags[indices])
            for indices in rng.integers(0, values.size, size=(resamples, values.size))
        ]
        if values.size
        else []
    )
    return UncertaintyMetric(metric(values, flags), percentile_interval(replicates), int(values.size))


def aurc(confidences: ArrayLike, correct: ArrayLike) -> float:
    """The area under the risk–coverage curve (`risk_coverage`)."""
    return risk_coverage(confidences, correct).aurc
