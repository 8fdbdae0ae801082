"""Sampling entropy over parsed answers, the majority answer and verbalized confidence, by hand."""

import math

import pytest

from flipbank.generated_uncertainty import (
    UNPARSED,
    answer_content,
    confidence_question,
    majority_answer,
    parse_confidence,
    sampling_entropy_bits,
)


def test_entropy_counts_content_not_wording() -> None:
    assert sampling_entropy_bits(["Yes", "yes.", "Yes, it is present"]) == 0.0
    assert sampling_entropy_bits(["Yes", "No"]) == pytest.approx(1.0)
    three = ["Yes", "No", "maybe later"]  # yes, no, unparsed: log2 3
    assert sampling_entropy_bits(three) == pytest.approx(math.log2(3))
    assert answer_content("maybe later") == UNPARSED
    assert math.isnan(sampling_entropy_bits([]))


def test_the_majority_answer_breaks_ties_towards_yes() -> None:
    assert majority_answer(["No", "No", "Yes"]) == "no"
    assert majority_answer(["No", "Yes"]) == "yes"
    assert majority_answer(["??", "??", "No"]) == UNPARSED


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("85", 85.0),
        ("I am 85% sure", 85.0),
        ("Confidence: 72.5", 72.5),
        ("100", 100.0),
        ("0", 0.0),
        ("150", None),
        ("-5", None),
        ("Yes", None),
        ("", None),
    ],
)
def test_verbalized_confidence_parses_a_number_from_0_to_100(text: str, expected: float | None) -> None:
    assert parse_confidence(text) == expected


def test_the_confidence_question_shows_the_answer() -> None:
    text = confidence_question("Is there an effusion?", "No")
    assert text.startswith("Is there an effusion?\nProposed answer: No\n") and "0 to 100" in text
