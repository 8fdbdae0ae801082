"""Tests of the demo VLM's training data: patients, phrasings and answers kept apart from the demo bank."""

from collections import Counter

from flipbank.demo_bank import load_demo_bank
from flipbank.demo_findings import IMAGE_FINDINGS, TEXT_PRIOR_FINDINGS, image_labels
from flipbank.demo_vlm_data import (
    labelled_questions,
    majority_answers,
    synthetic_studies,
    training_phrasings,
)


def _bank_texts() -> set[str]:
    bank = load_demo_bank()
    return {q.original_question for q in bank} | {p.text for q in bank for p in q.paraphrases}


def test_training_never_sees_the_demo_banks_patients_or_phrasings():
    bank = load_demo_bank()
    studies = synthetic_studies(20, seed=1)
    assert not {s.patient for s in studies} & {q.patient for q in bank}
    assert not {s.image_id for s in studies} & {q.image for q in bank}
    phrasings = training_phrasings(_bank_texts())
    assert set(phrasings) == set(IMAGE_FINDINGS) | set(TEXT_PRIOR_FINDINGS)
    assert not {text for texts in phrasings.values() for text in texts} & _bank_texts()


def test_answers_are_balanced_per_image_finding_and_follow_the_picture():
    studies = synthetic_studies(50, seed=2)
    items = labelled_questions(studies, training_phrasings(_bank_texts()), per_answer=20, seed=3)
    counts = Counter((item.finding, item.answer) for item in items)
    for finding in IMAGE_FINDINGS:
        assert counts[finding, "yes"] == counts[finding, "no"] == 20
    for item in items:
        if item.finding in IMAGE_FINDINGS:
            assert image_labels(item.study.findings)[item.finding] == item.answer
    fracture_yes = counts["fracture", "yes"] / (counts["fracture", "yes"] + counts["fracture", "no"])
    assert fracture_yes < 0.5  # a text prior, rarely "yes"


def test_studies_and_questions_are_seeded():
    assert synthetic_studies(5, seed=4) == synthetic_studies(5, seed=4)
    assert synthetic_studies(5, seed=4) != synthetic_studies(5, seed=5)
    majority = majority_answers(synthetic_studies(50, seed=2))
    assert majority["pneumothorax"] == "no" and majority["pneumonia"] == "yes"
