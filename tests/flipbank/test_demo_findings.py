"""Tests of the finding labels a synthetic picture implies."""

import random

import pytest

from flipbank.demo_findings import TEXT_PRIOR_FINDINGS, agrees, draw_findings, image_labels
from flipbank.demo_vocabulary import VOCABULARY
from flipbank.records import Answer


def test_every_vocabulary_finding_is_seen_or_a_text_prior():
    names = {vocabulary.name for vocabulary in VOCABULARY}
    seen = set(image_labels(frozenset()))
    assert seen | set(TEXT_PRIOR_FINDINGS) == names
    assert not seen & set(TEXT_PRIOR_FINDINGS)


@pytest.mark.parametrize(
    ("drawn", "finding", "answer"),
    [
        (frozenset(), "no finding", "yes"),
        (frozenset({"support devices"}), "no finding", "yes"),
        (frozenset({"edema"}), "no finding", "no"),
        (frozenset({"cardiomegaly"}), "enlarged cardiomediastinum", "yes"),
        (frozenset({"enlarged cardiomediastinum"}), "cardiomegaly", "no"),
        (frozenset({"atelectasis"}), "lung opacity", "yes"),
        (frozenset({"pleural effusion"}), "lung opacity", "no"),
    ],
)
def test_labels_follow_the_hierarchy(drawn, finding, answer):
    assert image_labels(drawn)[finding] == answer


def test_drawn_findings_agree_with_what_is_required():
    rng = random.Random(0)
    required: dict[str, Answer] = {
        "lung opacity": "yes",
        "consolidation": "no",
        "no finding": "no",
        "fracture": "yes",
    }
    for _ in range(50):
        drawn = draw_findings(rng, required)
        assert agrees(drawn, required)
        assert "consolidation" not in drawn and drawn & {"lung lesion", "edema", "atelectasis"}


def test_impossible_requirements_are_refused():
    required: dict[str, Answer] = {"lung opacity": "yes", "no finding": "yes"}
    with pytest.raises(ValueError, match="no drawable findings agree"):
        draw_findings(random.Random(0), required)
