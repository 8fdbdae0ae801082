"""Tests of the four-quadrant taxonomy, entropy and the cross-configuration correlation."""

import math

import numpy as np
import pandas as pd
import pytest

from flipbank.quadrants import (
    ConfigurationResult,
    Quadrant,
    classify_questions,
    flip_dangerous_correlation,
    quadrant_of,
    quadrant_summary,
    yes_no_entropy_bits,
)
from tests.flipbank.builders import mining_row, question_rows


def with_margin(rows: list[dict[str, object]], margin: float | None) -> list[dict[str, object]]:
    """Sets the original's margin (None: no scores for that row)."""
    original = mining_row(
        str(rows[0]["question_id"]),
        0,
        rows[0]["parsed_answer"],  # type: ignore[arg-type]
        condition=str(rows[0]["image_condition"]),
        truth=str(rows[0]["ground_truth"]),
        margin=margin,
    )
    return [original, *rows[1:]]


def taxonomy_bank() -> pd.DataFrame:
    """ideal: consistent, answer changes without the image; fragile: flips and changes;
    dangerous: consistent and unchanged; worst: flips and unchanged; excluded: hedged blank."""
    groups = [
        with_margin(question_rows("ideal", "yes", ["yes", "yes"], truth="yes"), 0.0),
        question_rows("ideal", "no", [], condition="blank"),
        with_margin(question_rows("fragile", "no", ["yes"], truth="yes"), 2.0),
        question_rows("fragile", "yes", [], condition="blank"),
        with_margin(question_rows("dangerous", "yes", ["yes"], truth="no"), 50.0),
        question_rows("dangerous", "yes", [], condition="blank"),
        with_margin(question_rows("worst", "no", ["no", "yes"], truth="no"), None),
        question_rows("worst", "no", [], condition="blank"),
        question_rows("excluded", "yes", ["yes"]),
        question_rows("excluded", None, [], condition="blank"),
    ]
    return pd.DataFrame([row for group in groups for row in group])


def test_quadrant_of_follows_the_design():
    assert quadrant_of(consistent=True, image_reliant=True) is Quadrant.IDEAL
    assert quadrant_of(consistent=False, image_reliant=True) is Quadrant.FRAGILE
    assert quadrant_of(consistent=True, image_reliant=False) is Quadrant.DANGEROUS
    assert quadrant_of(consistent=False, image_reliant=False) is Quadrant.WORST


def test_classify_questions_by_hand():
    taxonomy = classify_questions(taxonomy_bank())
    table = taxonomy.table
    assert taxonomy.n_excluded == 1
    assert table["quadrant"].to_dict() == {
        "dangerous": "dangerous",
        "fragile": "fragile",
        "ideal": "ideal",
        "worst": "worst",
    }
    assert table.loc["fragile", "consistent"] == False  # noqa: E712 - numpy bool
    assert table["correct"].to_dict() == {
        "dangerous": False,
        "fragile": False,
        "ideal": True,
        "worst": True,
    }
    assert table.loc["ideal", "entropy_bits"] == pytest.approx(1.0)
    assert math.isnan(table.loc["worst", "entropy_bits"])


def test_quadrant_summary_fractions_accuracy_and_entropy():
    summary = quadrant_summary(taxonomy_bank())
    assert (summary.n, summary.n_excluded) == (4, 1)
    for quadrant in Quadrant:
        stats = summary.quadrants[quadrant]
        assert stats.count == 1 and stats.fraction.value == 0.25
        assert stats.fraction.ci.contains(0.25)
    assert summary.quadrants[Quadrant.IDEAL].accuracy.value == 1.0
    assert summary.quadrants[Quadrant.DANGEROUS].accuracy.value == 0.0
    ideal = summary.quadrants[Quadrant.IDEAL]
    assert ideal.mean_entropy_bits == pytest.approx(1.0) and ideal.n_entropy == 1
    interval = ideal.mean_entropy_bits_ci
    assert (interval.low, interval.high) == pytest.approx((1.0, 1.0))
    assert summary.quadrants[Quadrant.DANGEROUS].mean_entropy_bits < 1e-15
    worst = summary.quadrants[Quadrant.WORST]
    assert math.isnan(worst.mean_entropy_bits) and worst.n_entropy == 0
    assert math.isnan(worst.mean_entropy_bits_ci.low)
    assert summary.removed_condition == "blank"


def test_quadrant_entropy_is_a_mean_over_the_quadrant_with_a_ci() -> None:
    rows = pd.DataFrame(
        [
            *with_margin(question_rows("a", "yes", ["yes"]), 0.0),  # 1 bit
            *question_rows("a", "yes", [], condition="blank"),
            *with_margin(question_rows("b", "yes", ["yes"]), math.log(3.0)),  # p = 3/4
            *question_rows("b", "yes", [], condition="blank"),
        ]
    )
    dangerous = quadrant_summary(rows).quadrants[Quadrant.DANGEROUS]
    h_b = -(0.75 * math.log2(0.75) + 0.25 * math.log2(0.25))  # 0.8113 bits
    assert dangerous.n_entropy == 2
    assert dangerous.mean_entropy_bits == pytest.approx((1.0 + h_b) / 2)
    assert dangerous.mean_entropy_bits_ci.low == pytest.approx(h_b)
    assert dangerous.mean_entropy_bits_ci.high == pytest.approx(1.0)


def test_image_reliance_can_use_the_text_only_condition():
    rows = pd.DataFrame(
        [
            *question_rows("q", "yes", ["yes"]),
            *question_rows("q", "no", [], condition="none"),
            *question_rows("q", "yes", [], condition="blank"),
        ]
    )
    assert classify_questions(rows).table.loc["q", "quadrant"] == "dangerous"
    text_only = classify_questions(rows, removed_condition="none")
    assert text_only.table.loc["q", "quadrant"] == "ideal"


def test_image_reliance_can_use_the_swapped_image() -> None:
    rows = pd.DataFrame(
        [
            *question_rows("reliant", "yes", ["yes"]),
            *question_rows("reliant", "no", [], condition="swapped"),  # another patient's image changes it
            *question_rows("reliant", "yes", [], condition="blank"),
            *question_rows("blind", "no", ["no"]),
            *question_rows("blind", "no", [], condition="swapped"),
            *question_rows("blind", "yes", [], condition="blank"),
        ]
    )
    swapped = classify_questions(rows, removed_condition="swapped").table
    assert swapped["quadrant"].to_dict() == {"blind": "dangerous", "reliant": "ideal"}
    assert classify_questions(rows).table["quadrant"].to_dict() == {"blind": "ideal", "reliant": "dangerous"}
    summary = quadrant_summary(rows, removed_condition="swapped")
    assert summary.removed_condition == "swapped" and summary.quadrants[Quadrant.IDEAL].count == 1
    with pytest.raises(ValueError, match="removed_condition must be one of"):
        classify_questions(rows, removed_condition="real")


def test_yes_no_entropy_bits():
    margins = np.array([-3.0, -0.5, 0.0, 0.7, 4.0])
    p = 1 / (1 + np.exp(-margins))
    direct = -(p * np.log2(p) + (1 - p) * np.log2(1 - p))
    assert yes_no_entropy_bits(margins) == pytest.approx(direct)
    assert yes_no_entropy_bits(0.0) == pytest.approx(1.0)
    assert yes_no_entropy_bits(math.log(3.0)) == pytest.approx(0.811278, abs=1e-6)  # p = 3/4
    assert yes_no_entropy_bits([2.0]) == pytest.approx(yes_no_entropy_bits([-2.0]))
    extreme = yes_no_entropy_bits([1e4, -1e4, math.inf, -math.inf, 40.0])
    assert np.all(np.isfinite(extreme)) and np.all(extreme >= 0)
    assert extreme[4] > 0  # no underflow to exactly zero at a margin of 40
    assert math.isnan(yes_no_entropy_bits([math.nan])[0])


def test_flip_dangerous_correlation_across_configurations():
    configurations = [
        ConfigurationResult(f"c{index}", 0.05 * index, 0.1 + 0.08 * index) for index in range(6)
    ]
    result = flip_dangerous_correlation(configurations)
    assert result.r == pytest.approx(1.0) and result.n == 6
    assert flip_dangerous_correlation(configurations, method="spearman").r == pytest.approx(1.0)
    reversed_danger = [
        ConfigurationResult(item.name, item.flip_rate, 1 - item.dangerous_fraction) for item in configurations
    ]
    assert flip_dangerous_correlation(reversed_danger).r == pytest.approx(-1.0)
    with pytest.raises(ValueError, match="'bad'"):
        flip_dangerous_correlation([*configurations, ConfigurationResult("bad", math.nan, 0.2)])
