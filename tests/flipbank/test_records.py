"""Tests of the record models and their validation."""

import math

import pytest
from pydantic import ValidationError

from flipbank.records import (
    FlipCase,
    MiningRow,
    Paraphrase,
    Phenomenon,
    QuestionRecord,
    direction_of,
)
from tests.flipbank.builders import mining_row


def question(**changes: object) -> QuestionRecord:
    fields: dict[str, object] = {
        "question_id": "q-1",
        "question_type": "presence",
        "answer": "yes",
        "image": "images/a.png",
        "finding": "pleural effusion",
        "original_question": "Is there a pleural effusion?",
        "paraphrases": [{"text": "Any effusion here?", "phenomenon": "specificity_modulation"}],
        "source": "test",
    }
    fields.update(changes)
    return QuestionRecord.model_validate(fields)


def flip_case(**changes: object) -> FlipCase:
    fields: dict[str, object] = {
        "question_id": "q-1",
        "image": "images/a.png",
        "finding": "pleural effusion",
        "original_question": "Is there a pleural effusion?",
        "paraphrase": "Isn't there a pleural effusion?",
        "phenomenon": "negation_pattern",
        "original_answer": "yes",
        "paraphrase_answer": "no",
        "original_margin": 2.5,
        "paraphrase_margin": -1.0,
        "similarity": 0.97,
    }
    fields.update(changes)
    return FlipCase.model_validate(fields)


def test_phenomenon_values_are_the_released_tags():
    assert [item.value for item in Phenomenon] == [
        "lexical_substitution",
        "syntactic_restructuring",
        "negation_pattern",
        "scope_quantification",
        "specificity_modulation",
    ]


def test_question_record_accepts_a_valid_question():
    record = question()
    assert record.paraphrases[0].phenomenon is Phenomenon.SPECIFICITY_MODULATION
    assert record.finding == "pleural effusion"


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"paraphrases": []}, "paraphrases"),
        ({"paraphrases": [{"text": "  ", "phenomenon": "negation_pattern"}]}, "paraphrases"),
        ({"paraphrases": [{"text": "Any?", "phenomenon": "sarcasm"}]}, "paraphrases"),
        ({"answer": "maybe"}, "answer"),
        ({"answer": "Yes"}, "answer"),
        ({"original_question": ""}, "original_question"),
        ({"original_question": "\u200b\u200b"}, "original_question"),  # zero-width spaces only
        ({"question_id": " "}, "question_id"),
        ({"finding": ""}, "finding"),
        ({"extra": 1}, "extra"),
    ],
)
def test_question_record_rejects_invalid_fields(changes, field):
    with pytest.raises(ValidationError) as caught:
        question(**changes)
    assert caught.value.errors()[0]["loc"][0] == field


def test_records_are_frozen():
    record = question()
    with pytest.raises(ValidationError):
        record.answer = "no"  # type: ignore[misc]
    with pytest.raises(ValidationError):
        Paraphrase(text="x", phenomenon=Phenomenon.NEGATION_PATTERN).text = "y"  # type: ignore[misc]


def test_flip_case_derives_its_direction():
    assert flip_case().direction == "yes_to_no"
    assert flip_case(original_answer="no", paraphrase_answer="yes").direction == "no_to_yes"
    assert flip_case(direction="yes_to_no").direction == "yes_to_no"


@pytest.mark.parametrize(
    "changes",
    [
        {"direction": "no_to_yes"},
        {"paraphrase_answer": "yes"},
        {"similarity": 1.5},
        {"similarity": math.nan},
        {"original_margin": math.inf},
        {"phenomenon": "unknown"},
    ],
)
def test_flip_case_rejects_inconsistent_values(changes):
    with pytest.raises(ValidationError):
        flip_case(**changes)


def test_direction_of_agreeing_answers_is_an_error():
    with pytest.raises(ValueError, match="agree"):
        direction_of("yes", "yes")


def test_mining_row_accepts_original_and_paraphrase_rows():
    original = MiningRow.model_validate(mining_row("q", 0, "yes"))
    paraphrase = MiningRow.model_validate(mining_row("q", 2, None, condition="none"))
    assert original.phenomenon is None
    assert paraphrase.phenomenon is Phenomenon.SYNTACTIC_RESTRUCTURING
    assert paraphrase.exclusion_reason == "hedged"


def test_mining_row_without_scores_must_be_all_nan():
    row = MiningRow.model_validate(mining_row("q", 0, "yes", margin=None))
    assert not row.scores_available
    assert math.isnan(row.margin) and math.isnan(row.p_yes) and math.isnan(row.p_no)
    with pytest.raises(ValidationError, match="must be NaN"):
        MiningRow.model_validate({**mining_row("q", 0, "yes", margin=None), "margin": 1.0})


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"phenomenon": "negation_pattern"}, "phenomenon must be None"),
        ({"parsed_answer": None}, "exactly one of parsed_answer"),
        ({"exclusion_reason": "hedged"}, "exactly one of parsed_answer"),
        ({"exclusion_reason": "guessed", "parsed_answer": None}, "exclusion_reason"),
        ({"margin": math.nan}, "margin is nan"),
        ({"p_yes": math.inf}, "p_yes is inf"),
        ({"p_yes": 1.5}, "not a probability"),
        ({"p_yes": 0.7, "p_no": 0.6}, "exceeds 1"),
        ({"image_condition": "none"}, "must have image None"),
        ({"image": None}, "needs an image"),
        ({"variant_index": -1}, "variant_index"),
        ({"ground_truth": "maybe"}, "ground_truth"),
        ({"image_condition": "dark"}, "image_condition"),
    ],
)
def test_mining_row_rejects_inconsistent_rows(changes, message):
    with pytest.raises(ValidationError, match=message):
        MiningRow.model_validate({**mining_row("q", 0, "yes"), **changes})


def test_paraphrase_rows_need_a_phenomenon():
    with pytest.raises(ValidationError, match="phenomenon must be None exactly"):
        MiningRow.model_validate({**mining_row("q", 1, "yes"), "phenomenon": None})
