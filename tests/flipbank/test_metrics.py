"""Tests of the robustness metrics on hand-made mining frames, plus property tests."""

import math

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flipbank.metrics import (
    RateEstimate,
    accuracy,
    blank_image_flip_rate,
    condition_agreement,
    flip_rate,
    flip_rate_by_paraphrase_count,
    flip_rate_by_phenomenon,
    pairwise_disagreement_rate,
    swap_sensitivity,
    text_only_agreement,
)
from flipbank.record_io import records_to_frame, write_parquet
from flipbank.records import MiningRow, Phenomenon
from tests.flipbank.builders import frame, mining_row, question_rows


def small_bank_rows() -> list[dict[str, object]]:
    """Four questions under the real image, hand-checked:
    a: yes | no, yes        -> flips
    b: no  | -, no          -> no flip (its excluded paraphrase is not a flip)
    c: -   | yes            -> excluded (original excluded)
    d: yes | -, -           -> excluded (every paraphrase excluded)"""
    return [
        *question_rows("a", "yes", ["no", "yes"]),
        *question_rows("b", "no", [None, "no"]),
        *question_rows("c", None, ["yes"]),
        *question_rows("d", "yes", [None, None]),
    ]


def small_bank() -> pd.DataFrame:
    return pd.DataFrame(small_bank_rows())


def test_flip_rate_by_hand():
    result = flip_rate(small_bank())
    assert (result.value, result.n, result.n_excluded) == (0.5, 2, 2)
    assert result.excluded_answers == 4  # b1, c0, d1, d2
    assert result.exclusion_rate == 0.5
    assert result.ci.contains(0.5)


def test_an_excluded_paraphrase_never_counts_as_a_flip():
    rows = frame(question_rows("q", "yes", [None, "yes", "yes"]))
    result = flip_rate(rows)
    assert (result.value, result.n, result.excluded_answers) == (0.0, 1, 1)


def test_flip_rate_is_per_image_condition():
    rows = frame(
        question_rows("a", "yes", ["yes", "yes"]),
        question_rows("a", "yes", ["no", "yes"], condition="blank"),
        question_rows("b", "no", ["no"]),
        question_rows("b", "no", ["no"], condition="blank"),
    )
    assert flip_rate(rows).value == 0.0
    blank = blank_image_flip_rate(rows)
    assert (blank.value, blank.n) == (0.5, 2)
    assert flip_rate(rows, image_condition="none").n == 0


def test_flip_rate_by_paraphrase_count_uses_the_first_k_paraphrases():
    rows = frame(
        question_rows("a", "yes", ["yes", "yes", "no"]),
        question_rows("b", "yes", ["no", "yes"]),
        question_rows("c", "no", ["no"]),
    )
    by_count = flip_rate_by_paraphrase_count(rows)
    assert sorted(by_count) == [1, 2, 3]
    assert (by_count[1].value, by_count[1].n) == (pytest.approx(1 / 3), 3)
    assert (by_count[2].value, by_count[2].n) == (0.5, 2)
    assert (by_count[3].value, by_count[3].n) == (1.0, 1)
    assert flip_rate(rows, paraphrase_count=2).value == 0.5


def test_flip_rate_by_phenomenon_only_uses_that_phenomenons_paraphrases():
    rows = frame(
        question_rows("a", "yes", ["no", "yes", "yes"]),  # variant 1 lexical, 2 syntactic, 3 negation
        question_rows("b", "yes", ["yes", "no"]),
    )
    by_phenomenon = flip_rate_by_phenomenon(rows)
    assert list(by_phenomenon) == [
        Phenomenon.LEXICAL_SUBSTITUTION,
        Phenomenon.SYNTACTIC_RESTRUCTURING,
        Phenomenon.NEGATION_PATTERN,
    ]
    assert by_phenomenon[Phenomenon.LEXICAL_SUBSTITUTION].value == 0.5
    assert by_phenomenon[Phenomenon.SYNTACTIC_RESTRUCTURING].value == 0.5
    negation = by_phenomenon[Phenomenon.NEGATION_PATTERN]
    assert (negation.value, negation.n) == (0.0, 1)
    assert flip_rate(rows, phenomenon="negation_pattern") == negation


def test_pairwise_disagreement_rate_by_hand():
    result = pairwise_disagreement_rate(small_bank())
    # a: yes,no,yes -> 3 pairs, 2 disagree; b: no,no -> 1 pair; c: 1 parsed; d: 1 parsed.
    assert (result.value, result.n) == (0.5, 4)
    # possible pairs: a 3, b 3, c 1, d 3 -> 10; 4 counted
    assert (result.n_excluded, result.excluded_answers) == (6, 4)
    assert result.ci.contains(0.5)


def test_pairwise_rate_is_symmetric_unlike_the_flip_rate():
    # The original is the odd one out in 'a' but not in 'b'; both have one disagreeing pair of 3...
    rows = frame(question_rows("a", "no", ["yes", "yes"]), question_rows("b", "yes", ["no", "yes"]))
    assert pairwise_disagreement_rate(rows).value == pytest.approx(4 / 6)
    assert flip_rate(rows).value == 1.0


def test_text_only_agreement_and_swap_sensitivity_by_hand():
    rows = frame(
        question_rows("a", "yes", ["yes"]),
        question_rows("b", "no", ["no"]),
        question_rows("c", "yes", ["no"]),
        question_rows("d", None, ["yes"]),
        question_rows("a", "yes", ["no"], condition="blank"),
        question_rows("b", "yes", ["no"], condition="blank"),
        question_rows("c", None, ["no"], condition="blank"),
        question_rows("d", "yes", ["yes"], condition="blank"),
        question_rows("a", "no", ["yes"], condition="swapped"),
        question_rows("b", "no", ["yes"], condition="swapped"),
    )
    agreement = text_only_agreement(rows)
    assert (agreement.value, agreement.n, agreement.n_excluded) == (0.5, 2, 2)
    assert agreement.excluded_answers == 2
    every_variant = condition_agreement(rows, "real", "blank", variant_index=None)
    assert (every_variant.value, every_variant.n) == (pytest.approx(4 / 6), 6)
    swap = swap_sensitivity(rows)
    assert (swap.value, swap.n, swap.n_excluded) == (0.5, 2, 2)


def test_text_only_agreement_can_use_the_text_only_condition():
    rows = frame(question_rows("a", "yes", []), question_rows("a", "yes", [], condition="none"))
    assert text_only_agreement(rows, removed_condition="none").value == 1.0
    assert text_only_agreement(rows).n == 0


def test_accuracy_by_hand():
    rows = frame(
        question_rows("a", "yes", ["no"], truth="yes"),
        question_rows("b", "yes", ["no"], truth="no"),
        question_rows("c", None, ["no"], truth="no"),
    )
    originals = accuracy(rows)
    assert (originals.value, originals.n, originals.n_excluded) == (0.5, 2, 1)
    assert originals.exclusion_rate == pytest.approx(1 / 3)
    every = accuracy(rows, variant_index=None)
    assert (every.value, every.n) == (pytest.approx(3 / 5), 5)


def test_empty_frames_give_nan_with_n_zero():
    empty = frame([])
    for result in (
        flip_rate(small_bank().iloc[:0]),
        pairwise_disagreement_rate(small_bank().iloc[:0]),
        text_only_agreement(small_bank()),
        accuracy(small_bank(), image_condition="swapped"),
    ):
        assert math.isnan(result.value) and result.n == 0 and math.isnan(result.ci.low)
    assert empty.empty
    assert flip_rate_by_paraphrase_count(small_bank().iloc[:0]) == {}


def test_metrics_validate_their_input():
    rows = small_bank()
    with pytest.raises(ValueError, match="lacks columns"):
        flip_rate(rows.drop(columns=["parsed_answer"]))
    with pytest.raises(ValueError, match="'maybe'"):
        flip_rate(rows.assign(parsed_answer="maybe"))
    with pytest.raises(ValueError, match="occurs more than once"):
        flip_rate(pd.concat([rows, rows.iloc[:1]]))
    with pytest.raises(ValueError, match="image_condition must be one of"):
        flip_rate(rows, image_condition="dark")


def test_metrics_read_frames_from_records_and_parquet(tmp_path):
    dict_frame = small_bank()
    records = [MiningRow.model_validate(row) for row in small_bank_rows()]
    from_records = records_to_frame(records, MiningRow)
    from_parquet = pd.read_parquet(write_parquet(tmp_path / "rows.parquet", records, MiningRow))
    expected = flip_rate(dict_frame)
    assert flip_rate(from_records) == expected
    assert flip_rate(from_parquet) == expected
    assert pairwise_disagreement_rate(from_parquet) == pairwise_disagreement_rate(dict_frame)


def test_rate_estimate_exclusion_rate_of_nothing_is_nan():
    estimate = RateEstimate(math.nan, 0, 0, 0, flip_rate(small_bank().iloc[:0]).ci)
    assert math.isnan(estimate.exclusion_rate)


answers = st.sampled_from(["yes", "no", None])
truths = st.sampled_from(["yes", "no"])


@st.composite
def random_frames(draw: st.DrawFn) -> pd.DataFrame:
    rows = []
    for index in range(draw(st.integers(0, 6))):
        question = f"q{index}"
        for condition in draw(st.sets(st.sampled_from(["real", "blank", "swapped", "none"]))):
            variants = draw(st.lists(answers, min_size=0, max_size=5))
            first = 0 if draw(st.booleans()) else 1  # sometimes the original row is missing
            for variant, answer in enumerate(variants[first:], start=first):
                truth = draw(truths)
                rows.append(mining_row(question, variant, answer, condition=condition, truth=truth))
    return pd.DataFrame(rows) if rows else small_bank().iloc[:0]


def assert_rate(result: RateEstimate) -> None:
    if result.n == 0:
        assert math.isnan(result.value)
    else:
        assert 0.0 <= result.value <= 1.0
        assert 0.0 <= result.ci.low <= result.value <= result.ci.high <= 1.0
    assert result.n_excluded >= 0 and result.excluded_answers >= 0


@settings(max_examples=40, deadline=None)
@given(rows=random_frames())
def test_rates_are_within_zero_and_one_or_nan_with_n_zero(rows):
    for result in (
        flip_rate(rows),
        blank_image_flip_rate(rows),
        pairwise_disagreement_rate(rows),
        text_only_agreement(rows),
        swap_sensitivity(rows),
        accuracy(rows),
        accuracy(rows, variant_index=None),
        *flip_rate_by_paraphrase_count(rows).values(),
        *flip_rate_by_phenomenon(rows).values(),
    ):
        assert_rate(result)
