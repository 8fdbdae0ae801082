import math

import numpy as np
import pytest
from scipy import stats

from saes.feature_stats import (
    bootstrap_correlation,
    bootstrap_indices,
    correlation,
    group_means,
    mann_whitney,
    rank_by_mean_abs,
)


@pytest.fixture(scope="module")
def xy() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    x = rng.normal(size=80)
    return x, 0.6 * x + rng.normal(size=80) + 0.3 * (x > 1) * x**3


def test_correlations_match_scipy(xy: tuple[np.ndarray, np.ndarray]) -> None:
    x, y = xy
    assert correlation(x, y, "pearson") == pytest.approx(stats.pearsonr(x, y).statistic)
    assert correlation(x, y, "spearman") == pytest.approx(stats.spearmanr(x, y).statistic)
    tied = np.array([0, 0, 0, 1, 2, 2, 5.0])
    assert correlation(tied, np.arange(7.0), "spearman") == pytest.approx(
        stats.spearmanr(tied, np.arange(7)).statistic
    )


def test_bootstrap_ci_is_seeded_and_brackets_r(xy: tuple[np.ndarray, np.ndarray]) -> None:
    x, y = xy
    indices = bootstrap_indices(len(x), 1000, seed=3)
    assert indices.shape == (1000, 80)
    first = bootstrap_correlation(x, y, "pearson", indices)
    again = bootstrap_correlation(x, y, "pearson", bootstrap_indices(len(x), 1000, seed=3))
    other = bootstrap_correlation(x, y, "pearson", bootstrap_indices(len(x), 1000, seed=4))
    assert first == again and first != other
    assert first.ci_low < first.r < first.ci_high
    assert 0.05 < first.ci_high - first.ci_low < 0.6
    manual = [stats.pearsonr(x[row], y[row]).statistic for row in indices[:50]]
    assert np.percentile(manual, 2.5) == pytest.approx(
        bootstrap_correlation(x, y, "pearson", indices[:50]).ci_low
    )


def test_constant_inputs_give_nan_not_errors() -> None:
    zeros, values = np.zeros(30), np.arange(30.0)
    assert math.isnan(correlation(zeros, values, "pearson"))
    result = bootstrap_correlation(zeros, values, "spearman", bootstrap_indices(30, 100))
    assert math.isnan(result.r) and math.isnan(result.ci_low) and math.isnan(result.ci_high)
    sparse = np.zeros(30)
    sparse[4] = 2.0  # active on one pair only: most resamples are constant, the rest still give a CI
    assert not math.isnan(bootstrap_correlation(sparse, values, "pearson", bootstrap_indices(30, 200)).ci_low)


def test_mann_whitney_matches_scipy_and_handles_edges() -> None:
    a, b = [3.0, 4.5, 6.0, 7.0, 9.0], [0.0, 0.0, 1.0, 2.5, 3.0, 4.0]
    result = mann_whitney(a, b)
    expected = stats.mannwhitneyu(a, b, alternative="two-sided")
    assert (result.u, result.p_value) == pytest.approx((expected.statistic, expected.pvalue))
    assert (result.n_a, result.n_b) == (5, 6)
    assert math.isnan(mann_whitney([], b).p_value)
    assert mann_whitney([0.0, 0.0], [0.0]).p_value == 1.0


def test_group_means_and_ranking() -> None:
    values = np.array([[1.0, -4.0], [3.0, 0.0], [5.0, 2.0]])
    means = group_means(values, ["b", "a", "b"])
    assert list(means) == ["a", "b"]
    np.testing.assert_allclose(means["b"], [3.0, -1.0])
    order, mean_abs = rank_by_mean_abs(values)
    np.testing.assert_allclose(mean_abs, [3.0, 2.0])
    assert order.tolist() == [0, 1]
