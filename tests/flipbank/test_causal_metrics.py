import math

import pandas as pd
import pytest

from flipbank.causal_metrics import patch_outcomes, summarise_by, summarise_patching


def test_recovery_reversal_and_shift_by_hand() -> None:
    outcomes = patch_outcomes([2.0, -1.0, 1.0], [-2.0, 1.0, 1.0], [0.0, -0.5, 3.0])
    assert outcomes["recovery"].iloc[0] == pytest.approx(0.5)
    assert outcomes["recovery"].iloc[1] == pytest.approx(0.75)
    assert math.isnan(outcomes["recovery"].iloc[2])  # m_orig == m_para: undefined
    assert list(outcomes["full_reversal"]) == [False, True, True]
    assert list(outcomes["shift_toward_original"]) == pytest.approx([2.0, 1.5, 0.0])


def test_a_patch_that_moves_away_has_negative_recovery_and_shift() -> None:
    outcomes = patch_outcomes([1.0], [-1.0], [-2.0])
    assert outcomes["recovery"].iloc[0] == pytest.approx(-0.5)
    assert outcomes["shift_toward_original"].iloc[0] == pytest.approx(-1.0)


def test_summary_aggregates_and_skips_undefined_recovery() -> None:
    outcomes = patch_outcomes([2.0, 2.0, 2.0, 1.0], [-2.0, -2.0, -2.0, 1.0], [2.0, 0.0, -2.0, 1.0])
    summary = summarise_patching(outcomes)
    assert summary.n == 4
    assert summary.mean_recovery == pytest.approx(0.5)
    assert summary.median_recovery == pytest.approx(0.5)
    assert summary.share_above_half == pytest.approx(1 / 3)
    assert summary.full_reversals == 2  # the exact recovery and the m_orig == m_para pair
    assert summary.mean_recovery_ci.contains(summary.mean_recovery)
    assert summary.mean_shift == pytest.approx((4 + 2 + 0 + 0) / 4)


def test_non_finite_margins_are_refused() -> None:
    with pytest.raises(ValueError, match="m_patched contains NaN"):
        patch_outcomes([1.0], [0.0], [float("nan")])
    with pytest.raises(ValueError, match="same length"):
        patch_outcomes([1.0], [0.0, 1.0], [1.0])


def test_summarise_by_groups() -> None:
    outcomes = patch_outcomes([1.0, 1.0, -1.0], [-1.0, -1.0, 1.0], [1.0, -1.0, 1.0])
    outcomes["direction"] = ["yes_to_no", "yes_to_no", "no_to_yes"]
    table = summarise_by(outcomes, "direction")
    assert list(table["direction"]) == ["no_to_yes", "yes_to_no"]
    assert list(table["n"]) == [1, 2]
    assert table.set_index("direction").loc["yes_to_no", "mean_recovery"] == pytest.approx(0.5)
    assert isinstance(table, pd.DataFrame)
