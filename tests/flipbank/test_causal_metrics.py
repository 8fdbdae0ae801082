import math

import numpy as np
import pandas as pd
import pytest

from flipbank.causal_metrics import (
    SUMMARY_COLUMNS,
    aggregate_recovery,
    patch_outcomes,
    summarise_by,
    summarise_non_flip_control,
    summarise_patching,
    summary_frame,
)


def test_recovery_reversal_and_shift_by_hand() -> None:
    outcomes = patch_outcomes([2.0, -1.0, 1.0], [-2.0, 1.0, 1.0], [0.0, -0.5, 3.0])
    assert outcomes["recovery"].iloc[0] == pytest.approx(0.5)
    assert outcomes["recovery"].iloc[1] == pytest.approx(0.75)
    assert math.isnan(outcomes["recovery"].iloc[2])  # original_margin == paraphrase_margin: undefined
    assert list(outcomes["gap"]) == pytest.approx([4.0, -2.0, 0.0])
    assert list(outcomes["delta_margin"]) == pytest.approx([2.0, -1.5, 2.0])
    assert list(outcomes["sign_flip"]) == [True, True, False]
    # the third pair keeps the original's sign with no patch at all: not a reversal
    assert list(outcomes["full_reversal"]) == [False, True, False]
    assert list(outcomes["shift_toward_original"]) == pytest.approx([2.0, 1.5, 0.0])


def test_a_patch_that_moves_away_has_negative_recovery_and_shift() -> None:
    outcomes = patch_outcomes([1.0], [-1.0], [-2.0])
    assert outcomes["recovery"].iloc[0] == pytest.approx(-0.5)
    assert outcomes["shift_toward_original"].iloc[0] == pytest.approx(-1.0)


def test_a_zero_margin_is_no_sign_flip() -> None:
    outcomes = patch_outcomes([1.0, 0.0, -3.0], [0.0, -1.0, -0.5], [2.0, 1.0, 1.0])
    assert list(outcomes["sign_flip"]) == [False, False, False]
    assert not outcomes["full_reversal"].any()


def test_summary_aggregates_and_skips_undefined_recovery() -> None:
    outcomes = patch_outcomes([2.0, 2.0, 2.0, 1.0], [-2.0, -2.0, -2.0, 1.0], [2.0, 0.0, -2.0, 1.0])
    summary = summarise_patching(outcomes)
    assert summary.n == 4
    assert summary.mean_recovery == pytest.approx(0.5)
    assert summary.median_recovery == pytest.approx(0.5)
    assert summary.share_above_half == pytest.approx(1 / 3)
    assert summary.n_sign_flips == 3 and summary.n_parsed_not_sign_flips == 1
    assert (
        summary.full_reversals == 1
    )  # only the exact recovery; the original_margin == paraphrase_margin pair is no sign flip
    assert summary.mean_recovery_ci.contains(summary.mean_recovery)
    assert summary.mean_shift == pytest.approx((4 + 2 + 0 + 0) / 4)
    # Σ shift / Σ |gap| over the three pairs with a gap: (4 + 2 + 0) / (4 + 4 + 4)
    assert summary.aggregate_recovery == pytest.approx(0.5)
    assert summary.mean_abs_delta_margin == pytest.approx((4 + 2 + 0 + 0) / 4)


def test_aggregate_recovery_is_a_ratio_of_sums_without_vanishing_gaps() -> None:
    # shifts 1.0, 0.5, -0.2; |gaps| 2, 1, 4; the fourth pair's gap (1e-7) is below MIN_MARGIN_GAP
    assert aggregate_recovery([1.0, 0.5, -0.2, 9.0], [2.0, -1.0, 4.0, 1e-7]) == pytest.approx(1.3 / 7)
    assert math.isnan(aggregate_recovery([1.0], [0.0]))
    assert math.isnan(aggregate_recovery([], []))


def test_gap_floor_counts_the_pairs_with_small_gaps_and_is_recorded() -> None:
    # gaps 0.05, 0.1, 0.3, 2.0: two are below 0.2, one below the default 0.1
    outcomes = patch_outcomes([0.025, 0.05, 0.15, 1.0], [-0.025, -0.05, -0.15, -1.0], [0.0, 0.0, 0.0, 0.0])
    assert summarise_patching(outcomes).n_below_gap_floor == 1
    assert summarise_patching(outcomes).gap_floor == 0.1
    wide = summarise_patching(outcomes, gap_floor=0.2)
    assert (wide.n_below_gap_floor, wide.gap_floor, wide.n) == (2, 0.2, 4)  # reported, not dropped
    assert wide.as_row()["gap_floor"] == 0.2
    with pytest.raises(ValueError, match="gap_floor"):
        summarise_patching(outcomes, gap_floor=math.nan)


def test_reversals_count_only_margin_sign_flips() -> None:
    # pair 1: sign flip, reversed; pair 2: sign flip, not reversed; pair 3: a parsed-answer flip whose
    # margins share a sign (greedy decoding), patched margin keeps that sign: no reversal counted
    outcomes = patch_outcomes([1.0, 2.0, 0.5], [-1.0, -2.0, 0.2], [0.5, -1.0, 0.4])
    summary = summarise_patching(outcomes)
    assert (summary.n_sign_flips, summary.n_parsed_not_sign_flips, summary.full_reversals) == (2, 1, 1)
    row = summary.as_row()
    assert (row["full_reversals"], row["n_sign_flips"], row["n_parsed_not_sign_flips"]) == (1, 2, 1)


def test_a_uniform_small_shift_inflates_the_mean_of_ratios_but_not_the_aggregate() -> None:
    gaps = np.array([0.009, 0.02, 0.05, 0.2, 1.0, 3.0])
    original_margin, paraphrase_margin = gaps / 2, -gaps / 2
    outcomes = patch_outcomes(
        original_margin, paraphrase_margin, paraphrase_margin + 0.05
    )  # +0.05 logits toward the original everywhere
    summary = summarise_patching(outcomes)
    ratios = 0.05 / gaps  # 5.556, 2.5, 1.0, 0.25, 0.05, 0.0167
    assert summary.mean_recovery == pytest.approx(ratios.mean())  # 156 %: looks like a strong effect
    assert summary.mean_recovery == pytest.approx(1.5620, abs=1e-4)
    assert summary.share_above_half == pytest.approx(0.5)
    assert summary.aggregate_recovery == pytest.approx(0.05 / gaps.mean())  # 0.3 / 4.279 = 7.0 %
    assert summary.aggregate_recovery == pytest.approx(0.07011, abs=1e-5)
    # the 0.05 shift "fully reverses" exactly the three pairs whose gap is below 0.1 logits
    assert summary.full_reversals == 3 and summary.n_below_gap_floor == 3 and summary.n_sign_flips == 6
    assert (
        summary.aggregate_recovery_ci.low <= summary.aggregate_recovery <= summary.aggregate_recovery_ci.high
    )


def test_non_flip_control_reports_mean_abs_delta_margin_only() -> None:
    outcomes = patch_outcomes([2.0, 3.0, -1.0, -2.0], [1.0, 2.5, -1.5, -2.0], [1.02, 2.46, -1.45, -2.01])
    control = summarise_non_flip_control(outcomes)
    assert control.n == 4
    assert control.mean_abs_delta_margin == pytest.approx((0.02 + 0.04 + 0.05 + 0.01) / 4)
    assert control.mean_abs_delta_margin_ci.low >= 0.01 - 1e-12
    assert control.mean_abs_delta_margin_ci.high <= 0.05 + 1e-12
    assert control.mean_abs_delta_margin_ci.contains(0.03)
    row = control.as_row()
    assert list(row) == list(SUMMARY_COLUMNS)
    assert row["mean_abs_delta_margin"] == pytest.approx(0.03)
    for column in ("mean_recovery", "aggregate_recovery", "full_reversals", "n_sign_flips", "mean_shift"):
        assert math.isnan(row[column]), column


def test_summary_frame_keeps_counts_integer_and_missing_for_the_control() -> None:
    flips = summarise_patching(patch_outcomes([1.0], [-1.0], [1.0])).as_row()
    control = summarise_non_flip_control(patch_outcomes([1.0], [2.0], [2.5])).as_row()
    frame = summary_frame([flips, control])
    assert str(frame["full_reversals"].dtype) == "Int64"
    assert frame.loc[0, "full_reversals"] == 1 and pd.isna(frame.loc[1, "full_reversals"])
    assert frame.loc[1, "mean_abs_delta_margin"] == pytest.approx(0.5)


def test_non_finite_margins_are_refused() -> None:
    with pytest.raises(ValueError, match="patched_margin contains NaN"):
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
    assert table.set_index("direction").loc["yes_to_no", "full_reversals"] == 1
    controls = summarise_by(outcomes, "direction", summarise=summarise_non_flip_control)
    assert controls.set_index("direction").loc["yes_to_no", "mean_abs_delta_margin"] == pytest.approx(1.0)
    assert controls["mean_recovery"].isna().all()
