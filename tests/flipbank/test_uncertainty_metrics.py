"""Uncertainty metrics against hand-computed values and scipy."""

import doctest

import numpy as np
import pytest
from scipy import stats as scipy_stats

import flipbank.uncertainty_metrics
from flipbank.uncertainty_metrics import (
    aurc,
    auroc,
    brier_score,
    expected_calibration_error,
    reliability_table,
    risk_coverage,
    with_bootstrap,
)


def test_auroc_by_hand_and_against_mann_whitney() -> None:
    # events 0.8, 0.4; non-events 0.6, 0.4, 0.2: pairs won 2 + (1 + 0.5 + 1) → 4.5 of 6.
    scores, events = [0.8, 0.6, 0.4, 0.4, 0.2], [True, False, True, False, False]
    assert auroc(scores, events) == pytest.approx(4.5 / 6)
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=40).round(1), rng.random(40) < 0.4
    u = scipy_stats.mannwhitneyu(x[y], x[~y]).statistic
    assert auroc(x, y) == pytest.approx(u / (y.sum() * (~y).sum()))
    assert np.isnan(auroc([0.1, 0.2], [True, True]))


def test_ece_by_hand_with_the_top_bin_closed() -> None:
    # bin [0.9, 1.0] holds 1.0 and 0.9: mean confidence 0.95, accuracy 1/2 → gap 0.45, weight 2/4;
    # bin [0.5, 0.6) holds 0.5 twice: mean 0.5, accuracy 1 → gap 0.5, weight 2/4. ECE = 0.475.
    confidences, correct = [1.0, 0.9, 0.5, 0.5], [True, False, True, True]
    assert expected_calibration_error(confidences, correct) == pytest.approx(0.475)
    table = reliability_table(confidences, correct)
    assert int(table.loc[9, "count"]) == 2 and int(table["count"].sum()) == 4
    with pytest.raises(ValueError, match=r"lie in \[0, 1\]"):
        reliability_table([1.2], [True])


def test_brier_by_hand() -> None:
    assert brier_score([1.0, 0.7, 0.2], [True, False, False]) == pytest.approx((0 + 0.49 + 0.04) / 3)


def test_risk_coverage_by_hand() -> None:
    curve = risk_coverage([0.9, 0.8, 0.7, 0.6], [True, False, True, False])
    np.testing.assert_allclose(curve.coverage, [0.25, 0.5, 0.75, 1.0])
    np.testing.assert_allclose(curve.risk, [0.0, 0.5, 1 / 3, 0.5])
    assert curve.aurc == pytest.approx((0 + 0.5 + 1 / 3 + 0.5) / 4)
    assert aurc([0.9, 0.8], [True, True]) == 0.0


def test_bootstrap_interval_contains_the_value_and_is_seeded() -> None:
    rng = np.random.default_rng(1)
    labels = rng.random(60) < 0.5
    scores = labels + rng.normal(scale=0.8, size=60)
    first = with_bootstrap(auroc, scores, labels, resamples=300, seed=3)
    assert first.ci.low <= first.value <= first.ci.high and first.n == 60
    assert with_bootstrap(auroc, scores, labels, resamples=300, seed=3) == first


def test_the_docstring_examples_run() -> None:
    assert doctest.testmod(flipbank.uncertainty_metrics).failed == 0
