"""Tests of the finding dictionary and the rule-based prompt normaliser."""

import pytest

from flipbank.findings import FINDING_NAMES, FINDINGS
from flipbank.normalisation import (
    canonical_finding_name,
    explain_normalisation,
    find_finding,
    normalise_question,
)

CHEXPERT_14 = {
    "atelectasis",
    "cardiomegaly",
    "consolidation",
    "edema",
    "enlarged cardiomediastinum",
    "fracture",
    "lung lesion",
    "lung opacity",
    "no finding",
    "pleural effusion",
    "pleural other",
    "pneumonia",
    "pneumothorax",
    "support devices",
}


def test_the_dictionary_holds_the_chexpert_14():
    assert set(FINDING_NAMES) == CHEXPERT_14
    assert len(FINDINGS) == 14
    assert all(finding.synonyms for finding in FINDINGS)


@pytest.mark.parametrize(
    ("question", "finding"),
    [
        ("Is there a collapsed lung?", "pneumothorax"),
        ("Is there any fluid buildup?", "pleural effusion"),
        ("Does the patient have an enlarged heart?", "cardiomegaly"),
        ("Is there water on the lungs?", "edema"),
        ("Is there a PLEURAL-EFFUSION?", "pleural effusion"),
        ("Are there bilateral effusions?", "pleural effusion"),
        ("Is the heart enlarged?", "cardiomegaly"),
        ("Is the mediastinum widened?", "enlarged cardiomediastinum"),
        ("Is there a nodular opacity?", "lung lesion"),
        ("Is there an opacity in the left base?", "lung opacity"),
        ("Are there broken ribs?", "fracture"),
        ("Is an endotracheal tube in place?", "support devices"),
        ("Is this chest X-ray normal?", "no finding"),
        ("Are there no acute cardiopulmonary findings?", "no finding"),
        ("Is there pleural thickening?", "pleural other"),
        ("Is there atelectasis at the bases?", "atelectasis"),
        ("Is there airspace consolidation?", "consolidation"),
        ("Is there a chest infection?", "pneumonia"),
    ],
)
def test_find_finding_recognises_synonyms(question, finding):
    assert find_finding(question) == finding


@pytest.mark.parametrize(
    "question",
    [
        "What view is this radiograph?",
        "Is there a mass in the mediastinum?",
        "Is there cardiomegaly with a pleural effusion?",
        "Is the patient rotated?",
    ],
)
def test_find_finding_returns_none_when_unmatched_or_ambiguous(question):
    assert find_finding(question) is None


@pytest.mark.parametrize(
    ("question", "canonical"),
    [
        ("Is there a pleural effusion?", "Is pleural effusion present in this chest radiograph?"),
        ("Any fluid buildup here?", "Is pleural effusion present in this chest radiograph?"),
        ("Is there a collapsed lung?", "Is pneumothorax present in this chest radiograph?"),
        ("Does the heart look big on this film?", "Is cardiomegaly present in this chest radiograph?"),
        (
            "Isn't there a pneumothorax on this image?",
            "Is pneumothorax present in this chest radiograph?",
        ),
        (
            "Are there any lines or tubes?",
            "Are support devices present in this chest radiograph?",
        ),
        ("Are there no abnormalities on this image?", "Is this chest radiograph normal?"),
        (
            "Is there radiographic evidence of an enlarged cardiac silhouette?",
            "Is cardiomegaly present in this chest radiograph?",
        ),
    ],
)
def test_normalise_question_maps_to_the_canonical_question(question, canonical):
    assert normalise_question(question) == canonical


@pytest.mark.parametrize(
    ("question", "reason"),
    [
        ("What view is this?", "no finding matched"),
        ("Is there cardiomegaly or edema?", "several findings matched"),
        ("Is there no effusion?", "negation may invert the polarity"),
        ("Can pneumothorax be ruled out?", "negation may invert the polarity"),
        ("There's no pneumothorax, is there?", "negation may invert the polarity"),
        ("Is cardiomegaly not present?", "negation may invert the polarity"),
        ("Is there a left pleural effusion?", "qualified question (not presence)"),
        ("Is the effusion worse than before?", "qualified question (not presence)"),
        ("Where is the pneumothorax?", "qualified question (not presence)"),
    ],
)
def test_other_questions_pass_through_unchanged(question, reason):
    decision = explain_normalisation(question)
    assert normalise_question(question) == question
    assert not decision.normalised
    assert decision.reason == reason


def test_every_canonical_question_is_a_fixed_point():
    for finding in FINDINGS:
        canonical = finding.question()
        assert find_finding(canonical) == finding.name
        assert normalise_question(canonical) == canonical


@pytest.mark.parametrize(
    ("label", "name"),
    [
        ("Pleural Effusion", "pleural effusion"),
        ("Effusion", "pleural effusion"),
        ("No Finding", "no finding"),
        ("Support Devices", "support devices"),
        ("Enlarged Cardiomediastinum", "enlarged cardiomediastinum"),
        ("Lung Opacity", "lung opacity"),
        ("Pleural Other", "pleural other"),
        ("hernia", None),
        ("pleural effusion on the left", None),
    ],
)
def test_canonical_finding_name(label, name):
    assert canonical_finding_name(label) == name
