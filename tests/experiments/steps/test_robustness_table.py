"""The robustness table from hand-made mining rows: quadrant entropy in bits, the condition image reliance is
judged against, and the label sources of the parsed answers."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from experiments.steps.robustness_table import format_robustness_table, robustness_table
from tests.flipbank.builders import mining_row, question_rows


def _with_margin(rows: list[dict[str, object]], margin: float | None) -> list[dict[str, object]]:
    original = mining_row(str(rows[0]["question_id"]), 0, rows[0]["parsed_answer"], margin=margin)  # type: ignore[arg-type]
    return [original, *rows[1:]]


def mined() -> pd.DataFrame:
    """a, b: Dangerous under blank (same answer), Ideal under swapped (the answer changes);
    c: Ideal under blank, Dangerous under swapped; margins 0 (1 bit), log 3 (0.811 bits), none."""
    groups = [
        _with_margin(question_rows("a", "yes", ["yes"]), 0.0),
        question_rows("a", "yes", [], condition="blank"),
        question_rows("a", "no", [], condition="swapped"),
        _with_margin(question_rows("b", "yes", ["yes"]), math.log(3.0)),
        question_rows("b", "yes", [], condition="blank"),
        question_rows("b", "no", [], condition="swapped"),
        _with_margin(question_rows("c", "no", ["no", None]), None),
        question_rows("c", "yes", [], condition="blank"),
        question_rows("c", "no", [], condition="swapped"),
    ]
    return pd.DataFrame([row for group in groups for row in group])


def _rows(table: pd.DataFrame, metric: str) -> pd.DataFrame:
    return table[table["metric"] == metric].set_index("group")


H_B = -(0.75 * math.log2(0.75) + 0.25 * math.log2(0.25))  # entropy of p = 3/4: 0.8113 bits


def test_quadrant_entropy_rows_are_mean_bits_with_a_ci_over_questions() -> None:
    table = robustness_table(mined())
    entropy = _rows(table, "quadrant_entropy_bits")
    assert list(entropy.index) == ["ideal", "fragile", "dangerous", "worst"]
    assert entropy.loc["dangerous", "value"] == pytest.approx((1.0 + H_B) / 2)
    assert entropy.loc["dangerous", "ci_low"] == pytest.approx(H_B)
    assert entropy.loc["dangerous", "ci_high"] == pytest.approx(1.0)
    assert entropy.loc["dangerous", "n"] == 2
    assert math.isnan(entropy.loc["ideal", "value"])  # c has no scores
    assert (entropy.loc["ideal", "n"], entropy.loc["ideal", "n_excluded"]) == (0, 1)
    assert set(entropy["reliance_condition"]) == {"blank"}
    assert table.loc[table["metric"] == "flip_rate", "reliance_condition"].isna().all()


def test_reliance_can_be_judged_against_the_swapped_image() -> None:
    table = robustness_table(mined(), reliance_condition="swapped")
    fractions = _rows(table, "quadrant_fraction")
    assert fractions.loc["ideal", "value"] == pytest.approx(2 / 3)
    assert fractions.loc["dangerous", "value"] == pytest.approx(1 / 3)
    assert set(fractions["reliance_condition"]) == {"swapped"}
    assert _rows(table, "quadrant_entropy_bits").loc["ideal", "value"] == pytest.approx((1.0 + H_B) / 2)
    with pytest.raises(ValueError, match="reliance_condition must be one of"):
        robustness_table(mined(), reliance_condition="real")


def test_no_quadrants_without_the_reliance_condition() -> None:
    rows = mined()
    table = robustness_table(rows[rows["image_condition"] != "swapped"], reliance_condition="swapped")
    assert "quadrant_fraction" not in set(table["metric"])
    assert "text_only_agreement" in set(table["metric"])


def test_label_sources_are_shares_of_the_parsed_answers_when_recorded() -> None:
    assert "label_source" not in set(robustness_table(mined())["metric"])  # an old frame still works
    rows = mined()
    rows["label_source"] = None  # mined before label sources were recorded
    assert "label_source" not in set(robustness_table(rows)["metric"])
    real = rows["image_condition"] == "real"
    # real-image answers: a/0 a/1 b/0 b/1 c/0 c/1 parsed, c/2 excluded
    sources = ["leading_word", "leading_word", "keyword", "leading_word", "fallback", "leading_word", None]
    rows["label_source"] = None
    rows.loc[real, "label_source"] = sources
    table = robustness_table(rows)
    labels = _rows(table, "label_source")
    assert list(labels.index) == ["leading_word", "keyword", "fallback"]
    assert labels.loc["leading_word", "value"] == pytest.approx(4 / 6)
    assert list(labels["n"]) == [4, 1, 1]
    assert set(labels["excluded_answers"]) == {1}
    accuracy = _rows(table, "accuracy").loc["originals"]
    assert (accuracy["n"], accuracy["n_excluded"]) == (3, 0)  # the other exclusion counts are unchanged


def test_a_parsed_answer_without_a_source_is_unknown() -> None:
    rows = mined()
    rows["label_source"] = "keyword"
    rows.loc[rows.index[0], "label_source"] = None
    labels = _rows(robustness_table(rows), "label_source")
    assert labels.loc["unknown", "n"] == 1 and labels.loc["keyword", "n"] == 5
    assert labels.loc["leading_word", "value"] == 0.0


def test_the_printed_table_shows_entropy_in_bits_and_rates_in_percent() -> None:
    printed = format_robustness_table(robustness_table(mined()))
    entropy = next(
        line
        for line in printed.splitlines()
        if line.startswith("quadrant_entropy_bits  ") and "dangerous" in line
    )
    assert f"{(1.0 + H_B) / 2:.3f} bits" in entropy and "%" not in entropy
    assert "dangerous (vs blank)" in entropy
    flip = next(line for line in printed.splitlines() if line.startswith("flip_rate "))
    assert "%" in flip and "vs" not in flip
