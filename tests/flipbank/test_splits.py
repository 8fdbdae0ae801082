"""The patient-disjoint split of questions for LoRA training and evaluation."""

import doctest

import pytest

import flipbank.splits
from flipbank.demo_bank import load_demo_bank
from flipbank.splits import split_by_patient


def test_no_patient_or_question_is_on_both_sides_and_the_fraction_is_met() -> None:
    questions = load_demo_bank()
    split = split_by_patient(questions, eval_fraction=0.3, seed=4)
    assert not split.shared_patients()
    assert len(split.train) + len(split.evaluation) == len(questions)
    assert 0.3 * len(questions) <= len(split.evaluation) < 0.3 * len(questions) + 6  # whole patients
    assert split_by_patient(questions, 0.3, seed=4) == split
    assert split_by_patient(questions, 0.3, seed=5) != split


def test_questions_without_patients_are_their_own_group_and_one_group_always_trains() -> None:
    questions = [q.model_copy(update={"patient": None}) for q in load_demo_bank()[:4]]
    split = split_by_patient(questions, eval_fraction=0.9, seed=0)
    assert len(split.train) == 1 and len(split.evaluation) == 3
    with pytest.raises(ValueError, match="cannot be split in two"):
        split_by_patient(questions[:1], 0.5, seed=0)
    with pytest.raises(ValueError, match="strictly between 0 and 1"):
        split_by_patient(questions, 1.0, seed=0)


def test_the_docstring_example_runs() -> None:
    assert doctest.testmod(flipbank.splits).failed == 0
