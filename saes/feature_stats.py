"""Pure helpers of feature ranking (numbers in, numbers out): per-group means and the order by mean |Δf|.
The statistical tests (correlations with bootstrap CIs, Mann–Whitney U) are in `flipbank.statistics`."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]


def group_means(values: FloatArray, labels: Sequence[str]) -> dict[str, FloatArray]:
    """Mean of the rows of ``values`` ([n, k]) within each label, keyed by label (sorted)."""
    label_array = np.asarray(labels)
    return {label: values[label_array == label].mean(axis=0) for label in sorted(set(labels))}


def rank_by_mean_abs(delta: FloatArray) -> tuple[NDArray[np.int64], FloatArray]:
    """Column order by decreasing mean |delta| over rows (ties: lower index first), and the means."""
    mean_abs = np.abs(delta).mean(axis=0)
    return np.argsort(-mean_abs, kind="stable"), mean_abs
