"""Tests of the bootstrap, permutation, Mann-Whitney and correlation statistics."""

import math

import numpy as np
import pytest
from scipy import stats as scipy_stats

from flipbank import statistics
from flipbank.statistics import (
    bootstrap_mean_ci,
    bootstrap_ratio_ci,
    finite_array,
    mann_whitney_u,
    paired_permutation_test,
    pearson,
    percentile_interval,
    spearman,
)


def bernoulli(size: int, rate: float = 0.3, seed: int = 7) -> np.ndarray:
    return (np.random.default_rng(seed).random(size) < rate).astype(float)


def test_bootstrap_ci_contains_the_mean_and_shrinks_with_n():
    small, large = bernoulli(30), bernoulli(3_000)
    small_ci, large_ci = bootstrap_mean_ci(small), bootstrap_mean_ci(large)
    assert small_ci.contains(small.mean()) and large_ci.contains(large.mean())
    assert large_ci.width < small_ci.width / 4
    assert small_ci.level == 0.95


def test_bootstrap_ci_is_seeded():
    values = np.random.default_rng(1).normal(size=200)
    assert bootstrap_mean_ci(values, seed=3) == bootstrap_mean_ci(values, seed=3)
    assert bootstrap_mean_ci(values, seed=3) != bootstrap_mean_ci(values, seed=4)


def test_bootstrap_ci_matches_an_explicit_loop():
    values = np.arange(25, dtype=float) ** 1.5
    ci = bootstrap_mean_ci(values, resamples=500, seed=11)
    rng = np.random.default_rng(11)
    indices = rng.integers(0, values.size, size=(500, values.size))
    replicates = [values[row].mean() for row in indices]
    assert ci.low == pytest.approx(np.percentile(replicates, 2.5))
    assert ci.high == pytest.approx(np.percentile(replicates, 97.5))


def test_bootstrap_chunks_give_the_same_count_of_replicates(monkeypatch):
    values = bernoulli(500)
    monkeypatch.setattr(statistics, "CHUNK_ELEMENTS", 700)
    ci = bootstrap_mean_ci(values)
    assert ci.contains(values.mean()) and ci.width > 0


def test_bootstrap_of_empty_input_is_nan():
    ci = bootstrap_mean_ci([])
    assert math.isnan(ci.low) and math.isnan(ci.high)
    constant = bootstrap_mean_ci([0.25])
    assert (constant.low, constant.high) == (0.25, 0.25)


@pytest.mark.parametrize("bad", [[1.0, math.nan], [math.inf, 0.0], [[1.0, 2.0]]])
def test_non_finite_or_non_vector_input_is_rejected_by_name(bad):
    with pytest.raises(ValueError, match="values"):
        bootstrap_mean_ci(bad)
    with pytest.raises(ValueError, match="my_argument"):
        finite_array(bad, "my_argument")


def test_ratio_ci_contains_the_pooled_ratio():
    numerators = np.array([0, 1, 2, 0, 3, 1, 0, 2], dtype=float)
    denominators = np.array([1, 3, 3, 1, 6, 3, 1, 3], dtype=float)
    ci = bootstrap_ratio_ci(numerators, denominators)
    assert ci.contains(numerators.sum() / denominators.sum())
    with pytest.raises(ValueError, match="differ in length"):
        bootstrap_ratio_ci([1.0], [1.0, 2.0])
    with pytest.raises(ValueError, match="denominators"):
        bootstrap_ratio_ci([1.0], [math.nan])


def test_percentile_interval_ignores_nan_replicates():
    ci = percentile_interval([math.nan, 1.0, 2.0, 3.0, math.nan])
    assert ci.low == pytest.approx(1.05) and ci.high == pytest.approx(2.95)
    assert math.isnan(percentile_interval([math.nan]).low)


def test_permutation_test_detects_a_clear_difference():
    flips_a = bernoulli(300, 0.6, seed=1)
    flips_b = bernoulli(300, 0.1, seed=2)
    result = paired_permutation_test(flips_a, flips_b)
    assert result.p_value < 0.001
    assert result.difference == pytest.approx(flips_a.mean() - flips_b.mean())
    assert result.p_value >= 1 / (result.permutations + 1)
    assert (result.n, result.permutations) == (300, 10_000)


def test_permutation_test_of_identical_inputs_gives_p_one():
    values = bernoulli(100)
    result = paired_permutation_test(values, values.copy())
    assert result.p_value == 1.0 and result.difference == 0.0


def test_permutation_test_of_noise_is_not_significant():
    first, second = bernoulli(200, 0.3, seed=5), bernoulli(200, 0.3, seed=6)
    assert paired_permutation_test(first, second, seed=1).p_value > 0.05


def test_permutation_test_is_seeded_and_validates_input():
    first, second = bernoulli(50, 0.5, seed=8), bernoulli(50, 0.4, seed=9)
    assert paired_permutation_test(first, second, seed=2) == paired_permutation_test(first, second, seed=2)
    empty = paired_permutation_test([], [])
    assert empty.n == 0 and math.isnan(empty.p_value) and math.isnan(empty.difference)
    with pytest.raises(ValueError, match="first"):
        paired_permutation_test([math.nan], [0.0])
    with pytest.raises(ValueError, match="differ in length"):
        paired_permutation_test([1.0, 0.0], [1.0])


def test_mann_whitney_matches_scipy_and_handles_empty_samples():
    low, high = np.arange(10.0), np.arange(10.0) + 20
    result = mann_whitney_u(low, high)
    expected = scipy_stats.mannwhitneyu(low, high)
    assert result.statistic == expected.statistic and result.p_value == expected.pvalue
    assert result.p_value < 0.001 and (result.n_first, result.n_second) == (10, 10)
    assert mann_whitney_u(low, high, alternative="less").p_value < result.p_value
    empty = mann_whitney_u([], high)
    assert math.isnan(empty.statistic) and empty.n_first == 0
    with pytest.raises(ValueError, match="second"):
        mann_whitney_u(low, [math.inf])


def test_pearson_and_spearman_match_scipy_with_a_ci_around_r():
    rng = np.random.default_rng(0)
    x = rng.normal(size=80)
    y = 0.7 * x + rng.normal(scale=0.5, size=80)
    for function, reference in ((pearson, scipy_stats.pearsonr), (spearman, scipy_stats.spearmanr)):
        result = function(x, y)
        expected = reference(x, y)
        assert result.r == pytest.approx(expected.statistic)
        assert result.p_value == pytest.approx(expected.pvalue)
        assert result.ci.contains(result.r) and result.n == 80
        assert 0.0 < result.ci.width < 0.4


def test_spearman_sees_monotone_relations_that_pearson_underrates():
    x = np.linspace(0.0, 5.0, 40)
    y = np.exp(2 * x)
    assert spearman(x, y).r == pytest.approx(1.0)
    assert pearson(x, y).r < 0.9


def test_correlation_ci_shrinks_with_n():
    rng = np.random.default_rng(4)
    x = rng.normal(size=2_000)
    y = 0.5 * x + rng.normal(size=2_000)
    assert pearson(x, y).ci.width < pearson(x[:40], y[:40]).ci.width / 3


@pytest.mark.parametrize(("x", "y"), [([], []), ([1.0, 2.0], [2.0, 1.0]), ([1, 1, 1, 1], [1, 2, 3, 4])])
def test_degenerate_correlations_are_nan(x, y):
    for function in (pearson, spearman):
        result = function(x, y)
        assert math.isnan(result.r) and math.isnan(result.ci.low) and result.n == len(x)


def test_correlation_rejects_nan_by_argument_name():
    with pytest.raises(ValueError, match=r"^y contains NaN"):
        pearson([1.0, 2.0, 3.0], [1.0, math.nan, 3.0])


def test_two_sample_permutation_test_agrees_with_scipy() -> None:
    rng = np.random.default_rng(3)
    first, second = rng.normal(0.4, 1.0, 30), rng.normal(0.0, 1.0, 25)
    ours = statistics.two_sample_permutation_test(first, second, permutations=20_000, seed=1)
    reference = scipy_stats.permutation_test(
        (first, second), lambda a, b: a.mean() - b.mean(), n_resamples=20_000, random_state=1
    )
    assert ours.difference == pytest.approx(first.mean() - second.mean())
    assert ours.p_value == pytest.approx(reference.pvalue, abs=0.01) and ours.n == 55
    assert np.isnan(statistics.two_sample_permutation_test([], [1.0]).p_value)


def test_correlation_cis_resample_the_same_seeded_pairs_and_skip_constant_resamples() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=80)
    y = 0.6 * x + rng.normal(size=80) + 0.3 * (x > 1) * x**3
    result = pearson(x, y, resamples=50, seed=3)
    rows = np.random.default_rng(3).integers(0, 80, size=(50, 80))  # the draws every feature shares
    manual = [scipy_stats.pearsonr(x[row], y[row]).statistic for row in rows]
    assert result.ci.low == pytest.approx(np.percentile(manual, 2.5))
    assert result.ci.high == pytest.approx(np.percentile(manual, 97.5))
    tied = np.array([0, 0, 0, 1, 2, 2, 5.0])
    assert spearman(tied, np.arange(7.0)).r == pytest.approx(
        scipy_stats.spearmanr(tied, np.arange(7)).statistic
    )
    sparse = np.zeros(30)
    sparse[4] = 2.0  # active on one pair only: most resamples are constant, the rest still give a CI
    assert not math.isnan(pearson(sparse, np.arange(30.0), resamples=200).ci.low)


def test_mann_whitney_of_all_equal_values_has_p_one() -> None:
    result = mann_whitney_u([0.0, 0.0], [0.0])
    assert result.p_value == 1.0 and result.statistic == 1.0
