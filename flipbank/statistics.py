"""Statistics, seeded and vectorised: percentile bootstrap CIs (1,000 resamples), paired
sign-flip permutation tests (10,000 permutations), Mann–Whitney U, Pearson and Spearman with
bootstrap CIs. Empty inputs give NaN with n = 0; NaN or infinite inputs raise a ValueError."""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import stats as scipy_stats

BOOTSTRAP_RESAMPLES = 1_000
PERMUTATIONS = 10_000
CONFIDENCE_LEVEL = 0.95
DEFAULT_SEED = 0
#: Resamples are drawn in chunks of at most this many indices, to bound memory on large inputs.
CHUNK_ELEMENTS = 4_000_000

FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class ConfidenceInterval:
    """A percentile interval; both ends are NaN when it cannot be computed (e.g. no data)."""

    low: float
    high: float
    level: float = CONFIDENCE_LEVEL

    def contains(self, value: float) -> bool:
        return bool(self.low <= value <= self.high)

    @property
    def width(self) -> float:
        return self.high - self.low


def finite_array(values: ArrayLike, name: str) -> FloatArray:
    """A 1-D float array; rejects other shapes and NaN or infinite entries, naming the argument."""
    array = np.asarray(values, dtype=np.float64)
    if array.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {array.shape}")
    bad = np.flatnonzero(~np.isfinite(array))
    if bad.size:
        raise ValueError(f"{name} contains NaN or infinite values (first at index {bad[0]})")
    return array


def _paired_arrays(
    first: ArrayLike, second: ArrayLike, names: tuple[str, str]
) -> tuple[FloatArray, FloatArray]:
    x, y = finite_array(first, names[0]), finite_array(second, names[1])
    if x.shape != y.shape:
        raise ValueError(f"{names[0]} and {names[1]} differ in length ({x.size} vs {y.size})")
    return x, y


def _index_chunks(size: int, count: int, rng: np.random.Generator) -> Iterator[NDArray[np.int64]]:
    """`count` bootstrap index rows of length `size`, in chunks of bounded memory."""
    rows_per_chunk = max(1, CHUNK_ELEMENTS // max(size, 1))
    for start in range(0, count, rows_per_chunk):
        yield rng.integers(0, size, size=(min(rows_per_chunk, count - start), size))


def percentile_interval(replicates: ArrayLike, level: float = CONFIDENCE_LEVEL) -> ConfidenceInterval:
    """The central `level` percentile interval of bootstrap replicates, ignoring NaN replicates
    (degenerate resamples, e.g. constant ones for a correlation); NaN when none is finite."""
    values = np.asarray(replicates, dtype=np.float64)
    values = values[np.isfinite(values)]
    if values.size == 0:
        return ConfidenceInterval(math.nan, math.nan, level)
    tail = 100.0 * (1.0 - level) / 2.0
    low, high = np.percentile(values, [tail, 100.0 - tail])
    return ConfidenceInterval(float(low), float(high), level)


def _bootstrap(
    size: int, statistic: Callable[[NDArray[np.int64]], FloatArray], resamples: int, level: float, seed: int
) -> ConfidenceInterval:
    if size == 0:
        return ConfidenceInterval(math.nan, math.nan, level)
    rng = np.random.default_rng(seed)
    replicates = np.concatenate([statistic(indices) for indices in _index_chunks(size, resamples, rng)])
    return percentile_interval(replicates, level)


def bootstrap_mean_ci(
    values: ArrayLike,
    *,
    resamples: int = BOOTSTRAP_RESAMPLES,
    level: float = CONFIDENCE_LEVEL,
    seed: int = DEFAULT_SEED,
) -> ConfidenceInterval:
    """Percentile bootstrap CI of the mean (NaN interval for empty input)."""
    array = finite_array(values, "values")
    return _bootstrap(array.size, lambda indices: array[indices].mean(axis=1), resamples, level, seed)


def bootstrap_ratio_ci(
    numerators: ArrayLike,
    denominators: ArrayLike,
    *,
    resamples: int = BOOTSTRAP_RESAMPLES,
    level: float = CONFIDENCE_LEVEL,
    seed: int = DEFAULT_SEED,
) -> ConfidenceInterval:
    """Cluster bootstrap CI of sum(numerators) / sum(denominators), resampling whole units (e.g.
    questions holding several pairs). Resamples with a zero denominator are dropped."""
    top, bottom = _paired_arrays(numerators, denominators, ("numerators", "denominators"))

    def ratio(indices: NDArray[np.int64]) -> FloatArray:
        with np.errstate(invalid="ignore", divide="ignore"):
            return top[indices].sum(axis=1) / bottom[indices].sum(axis=1)

    return _bootstrap(top.size, ratio, resamples, level, seed)


@dataclass(frozen=True)
class PermutationTest:
    """Two-sided paired permutation test of mean(first - second); p = (1 + extreme) / (1 + B)."""

    difference: float
    p_value: float
    n: int
    permutations: int


def _permutation_p_value(
    values: FloatArray,
    observed: float,
    permuted: Callable[[np.random.Generator, int], FloatArray],
    permutations: int,
    seed: int,
) -> float:
    """(1 + permutations whose statistic reaches ``observed``) / (1 + B), the statistics drawn by
    ``permuted(rng, rows)`` in chunks of bounded memory (``values`` sets the chunk size and the tolerance)."""
    tolerance = 1e-12 * max(1.0, float(np.abs(values).max()))
    rng = np.random.default_rng(seed)
    extreme = 0
    rows_per_chunk = max(1, CHUNK_ELEMENTS // values.size)
    for start in range(0, permutations, rows_per_chunk):
        rows = min(rows_per_chunk, permutations - start)
        extreme += int(np.count_nonzero(permuted(rng, rows) >= observed - tolerance))
    return (1 + extreme) / (1 + permutations)


def paired_permutation_test(
    first: ArrayLike,
    second: ArrayLike,
    *,
    permutations: int = PERMUTATIONS,
    seed: int = DEFAULT_SEED,
) -> PermutationTest:
    """Paired test for e.g. model-vs-model flip indicators on the same questions: random sign flips
    of the per-item differences. Empty input gives NaN difference and p-value with n = 0."""
    x, y = _paired_arrays(first, second, ("first", "second"))
    if x.size == 0:
        return PermutationTest(math.nan, math.nan, 0, permutations)
    differences = x - y

    def sign_flipped(rng: np.random.Generator, rows: int) -> FloatArray:
        signs = rng.integers(0, 2, size=(rows, differences.size), dtype=np.int8) * 2 - 1
        return np.abs((signs * differences).mean(axis=1))

    p_value = _permutation_p_value(differences, abs(differences.mean()), sign_flipped, permutations, seed)
    return PermutationTest(float(x.mean() - y.mean()), p_value, int(x.size), permutations)


def two_sample_permutation_test(
    first: ArrayLike,
    second: ArrayLike,
    *,
    permutations: int = PERMUTATIONS,
    seed: int = DEFAULT_SEED,
) -> PermutationTest:
    """Two-sided test of mean(first) − mean(second) for two independent groups (e.g. flip vs no-flip
    questions): the group labels are shuffled. ``n`` counts both groups; NaN when either is empty."""
    x, y = finite_array(first, "first"), finite_array(second, "second")
    if x.size == 0 or y.size == 0:
        return PermutationTest(math.nan, math.nan, int(x.size + y.size), permutations)
    pooled = np.concatenate([x, y])

    def relabelled(rng: np.random.Generator, rows: int) -> FloatArray:
        shuffled = rng.permuted(np.broadcast_to(pooled, (rows, pooled.size)), axis=1)
        return np.abs(shuffled[:, : x.size].mean(axis=1) - shuffled[:, x.size :].mean(axis=1))

    p_value = _permutation_p_value(pooled, abs(x.mean() - y.mean()), relabelled, permutations, seed)
    return PermutationTest(float(x.mean() - y.mean()), p_value, int(pooled.size), permutations)


@dataclass(frozen=True)
class MannWhitney:
    statistic: float
    p_value: float
    n_first: int
    n_second: int


def mann_whitney_u(
    first: ArrayLike,
    second: ArrayLike,
    *,
    alternative: Literal["two-sided", "less", "greater"] = "two-sided",
) -> MannWhitney:
    """Mann–Whitney U of `first` against `second` (scipy); NaN when either sample is empty."""
    x, y = finite_array(first, "first"), finite_array(second, "second")
    if x.size == 0 or y.size == 0:
        return MannWhitney(math.nan, math.nan, int(x.size), int(y.size))
    result = scipy_stats.mannwhitneyu(x, y, alternative=alternative)
    return MannWhitney(float(result.statistic), float(result.pvalue), int(x.size), int(y.size))


@dataclass(frozen=True)
class Correlation:
    """A correlation coefficient with its p-value and percentile bootstrap CI over resampled pairs."""

    method: str
    r: float
    p_value: float
    n: int
    ci: ConfidenceInterval


def rowwise_pearson(x: FloatArray, y: FloatArray) -> FloatArray:
    """Pearson r of each row of ``x`` with the same row of ``y`` (vectorised); NaN for a constant row."""
    x_centred = x - x.mean(axis=-1, keepdims=True)
    y_centred = y - y.mean(axis=-1, keepdims=True)
    spread = np.sqrt((x_centred**2).sum(axis=-1) * (y_centred**2).sum(axis=-1))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(spread > 0, (x_centred * y_centred).sum(axis=-1) / spread, np.nan)


def _rowwise_spearman(x: FloatArray, y: FloatArray) -> FloatArray:
    return rowwise_pearson(scipy_stats.rankdata(x, axis=-1), scipy_stats.rankdata(y, axis=-1))


def _correlation(
    method: Literal["pearson", "spearman"],
    x: ArrayLike,
    y: ArrayLike,
    resamples: int,
    level: float,
    seed: int,
) -> Correlation:
    first, second = _paired_arrays(x, y, ("x", "y"))
    size = int(first.size)
    constant = size > 0 and (np.ptp(first) == 0 or np.ptp(second) == 0)
    if size < 3 or constant:
        return Correlation(method, math.nan, math.nan, size, ConfidenceInterval(math.nan, math.nan, level))
    test = scipy_stats.pearsonr if method == "pearson" else scipy_stats.spearmanr
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = test(first, second)
    rowwise = rowwise_pearson if method == "pearson" else _rowwise_spearman
    interval = _bootstrap(
        size, lambda indices: rowwise(first[indices], second[indices]), resamples, level, seed
    )
    return Correlation(method, float(result.statistic), float(result.pvalue), size, interval)


def pearson(
    x: ArrayLike,
    y: ArrayLike,
    *,
    resamples: int = BOOTSTRAP_RESAMPLES,
    level: float = CONFIDENCE_LEVEL,
    seed: int = DEFAULT_SEED,
) -> Correlation:
    """Pearson r with a bootstrap CI. Fewer than 3 pairs, or a constant input, give NaN."""
    return _correlation("pearson", x, y, resamples, level, seed)


def spearman(
    x: ArrayLike,
    y: ArrayLike,
    *,
    resamples: int = BOOTSTRAP_RESAMPLES,
    level: float = CONFIDENCE_LEVEL,
    seed: int = DEFAULT_SEED,
) -> Correlation:
    """Spearman rho with a bootstrap CI (ranks recomputed per resample, ties averaged). Fewer than 3
    pairs, or a constant input, give NaN."""
    return _correlation("spearman", x, y, resamples, level, seed)
