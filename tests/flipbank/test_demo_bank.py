"""Tests of the demo question bank: regeneration, coverage, balance and wording."""

import json
import re
from collections import Counter, defaultdict
from dataclasses import replace

import pytest

from flipbank.demo_bank import (
    DEMO_BANK,
    DEMO_BANK_PATH,
    REPHRASED_BANK,
    demo_bank_text,
    generate_document,
    load_demo_bank,
    main,
)
from flipbank.demo_images import labels_agree
from flipbank.demo_templates import CASUAL_TEMPLATES, FORMAL_TEMPLATES
from flipbank.demo_vocabulary import NO_FINDING_PARAPHRASES
from flipbank.findings import FINDING_NAMES
from flipbank.normalisation import find_finding
from flipbank.records import Answer, Phenomenon


@pytest.fixture(scope="module")
def bank():
    return load_demo_bank()


def test_committed_bank_matches_its_generator():
    assert DEMO_BANK_PATH.read_text(encoding="utf-8") == demo_bank_text()
    assert main(["--check"]) == 0


def test_generator_is_seeded():
    first, second = replace(DEMO_BANK, seed=1), replace(DEMO_BANK, seed=2)
    assert generate_document(first) == generate_document(first)
    assert generate_document(first)["results"] != generate_document(second)["results"]


def test_the_rephrased_bank_has_its_own_patients_ids_and_other_phrasings(bank):
    rephrased = load_demo_bank(path=REPHRASED_BANK.path)
    assert REPHRASED_BANK.path.read_text(encoding="utf-8") == demo_bank_text(REPHRASED_BANK)
    assert len(rephrased) == REPHRASED_BANK.count
    assert all(
        q.patient is not None and q.patient.startswith("p93") and q.question_id.startswith("rephrased-")
        for q in rephrased
    )
    texts = {q.original_question for q in bank} | {p.text for q in bank for p in q.paraphrases}
    new = {q.original_question for q in rephrased} | {p.text for q in rephrased for p in q.paraphrases}
    assert len(new - texts) > len(new) / 4  # a good share of its wording is not in the demo bank


def test_bank_loads_through_the_real_reader(bank):
    assert len(bank) >= 200
    assert len({record.question_id for record in bank}) == len(bank)
    assert {record.source for record in bank} == {"demo"}


def test_bank_covers_all_findings_and_phenomena(bank):
    assert {record.finding for record in bank} == set(FINDING_NAMES)
    per_finding = Counter(record.finding for record in bank)
    assert min(per_finding.values()) >= 15
    phenomena = Counter(p.phenomenon for record in bank for p in record.paraphrases)
    assert set(phenomena) == set(Phenomenon)
    assert min(phenomena.values()) >= 150


def test_every_question_has_four_to_six_varied_paraphrases(bank):
    for record in bank:
        texts = [p.text for p in record.paraphrases]
        assert 4 <= len(texts) <= 6
        assert len({p.phenomenon for p in record.paraphrases}) >= 4
        assert len({text.lower() for text in texts}) == len(texts)
        assert record.original_question.lower() not in {text.lower() for text in texts}
        assert all(text.endswith("?") and text[0].isupper() for text in texts)


def test_answers_are_balanced_overall_and_per_finding(bank):
    answers = Counter(record.answer for record in bank)
    assert answers["yes"] == answers["no"]
    for finding in FINDING_NAMES:
        found = Counter(record.answer for record in bank if record.finding == finding)
        assert abs(found["yes"] - found["no"]) <= 1


def test_question_types_are_mostly_presence(bank):
    types = Counter(record.question_type for record in bank)
    assert set(types) == {"presence", "abnormality"}
    assert 0.05 * len(bank) <= types["abnormality"] <= 0.25 * len(bank)


def test_questions_are_varied(bank):
    originals = {record.original_question for record in bank}
    assert len(originals) >= 0.8 * len(bank)
    openings = Counter(" ".join(record.original_question.split()[:2]) for record in bank)
    assert openings.most_common(1)[0][1] <= 0.25 * len(bank)


def template_pattern(template: str) -> re.Pattern[str]:
    parts = re.split(r"\{\w+\}", template)
    return re.compile("(?i)" + ".+".join(re.escape(part) for part in parts))


def register_of(text: str) -> str:
    for name, templates in (("formal", FORMAL_TEMPLATES), ("casual", CASUAL_TEMPLATES)):
        fixed = NO_FINDING_PARAPHRASES[name]
        if text in fixed or any(template_pattern(t).fullmatch(text) for t in templates):
            return name
    return "other"


def test_both_registers_of_specificity_are_well_represented(bank):
    specificity = [
        p.text
        for record in bank
        for p in record.paraphrases
        if p.phenomenon is Phenomenon.SPECIFICITY_MODULATION
    ]
    registers = Counter(register_of(text) for text in specificity)
    assert registers["other"] == 0
    assert registers["formal"] >= 0.35 * len(specificity)
    assert registers["casual"] >= 0.35 * len(specificity)
    assert register_of("Is there radiographic evidence of a pneumothorax?") == "formal"
    assert register_of("Any pneumothorax here?") == "casual"


def test_every_text_names_the_questions_finding(bank):
    for record in bank:
        for text in [record.original_question, *(p.text for p in record.paraphrases)]:
            assert find_finding(text) == record.finding, text


def test_images_are_shared_and_clinically_coherent(bank):
    by_image: defaultdict[str, dict[str, Answer]] = defaultdict(dict)
    for record in bank:
        assert record.image.startswith("synthetic/p90/p90") and record.image.endswith(".png")
        assert record.patient is not None and record.patient in record.image
        assert record.finding not in by_image[record.image]
        by_image[record.image][record.finding] = record.answer
    assert len(by_image) < len(bank)
    assert sum(len(labels) > 1 for labels in by_image.values()) >= 0.4 * len(by_image)
    assert all(labels_agree(labels) for labels in by_image.values())


def test_document_is_in_the_mimic_format():
    document = json.loads(DEMO_BANK_PATH.read_text(encoding="utf-8"))
    first = document["results"][0]
    assert set(first) == {
        "question_id",
        "question_type",
        "answer",
        "filename",
        "original_question",
        "finding",
        "paraphrases",
    }
    assert set(first["paraphrases"][0]) == {"text", "phenomenon"}
