"""The free-text answer parser on realistic MedGemma / LLaVA-Med style answers to yes/no radiology questions
("Is there a pleural effusion?"), with the fallback to the first-answer-token margin."""

from __future__ import annotations

import doctest
import math

import pytest

from flipbank import answers
from flipbank.answers import AnswerLabel, ExclusionReason, LabelSource, ParsedAnswer, parse_answer

Expected = tuple[AnswerLabel | None, ExclusionReason | None, LabelSource | None]

YES_LEADING: Expected = (AnswerLabel.YES, None, LabelSource.LEADING_WORD)
NO_LEADING: Expected = (AnswerLabel.NO, None, LabelSource.LEADING_WORD)
YES_KEYWORD: Expected = (AnswerLabel.YES, None, LabelSource.KEYWORD)
NO_KEYWORD: Expected = (AnswerLabel.NO, None, LabelSource.KEYWORD)
YES_FALLBACK: Expected = (AnswerLabel.YES, None, LabelSource.FALLBACK)
NO_FALLBACK: Expected = (AnswerLabel.NO, None, LabelSource.FALLBACK)
HEDGED: Expected = (None, ExclusionReason.HEDGED, None)
MIXED: Expected = (None, ExclusionReason.MIXED, None)
CONDITIONAL: Expected = (None, ExclusionReason.CONDITIONAL, None)
UNPARSEABLE: Expected = (None, ExclusionReason.UNPARSEABLE, None)
EMPTY: Expected = (None, ExclusionReason.EMPTY, None)

CASES: list[tuple[str, Expected]] = [
    # -- bugs of the previous parser ------------------------------------------------------------------
    ("There is not a pneumothorax visible", NO_KEYWORD),
    ("It doesn't appear to be present", NO_KEYWORD),
    ("There isn't any effusion present", NO_KEYWORD),
    ("There is clear evidence of a pneumothorax", YES_KEYWORD),
    ("The findings are not normal", YES_KEYWORD),
    ("It is not clear", HEDGED),
    ("No, effusion is present", MIXED),
    ("The X-ray shows no effusion", NO_KEYWORD),
    ("There is no pleural effusion present", NO_KEYWORD),
    ("The cardiac silhouette is enlarged", YES_KEYWORD),
    ("The X-ray demonstrates a hiatal hernia", YES_KEYWORD),
    ("The mediastinum is not widened", NO_KEYWORD),
    # -- kept from the previous table -----------------------------------------------------------------
    ("Yes", YES_LEADING),
    ("yes.", YES_LEADING),
    ("Yes, a small left pleural effusion is present.", YES_LEADING),
    ("A pneumothorax is visible in the right apex.", YES_KEYWORD),
    ("The film shows cardiomegaly.", YES_KEYWORD),
    ("Findings confirmed.", YES_KEYWORD),
    ("No", NO_LEADING),
    ("No, the lungs are clear.", NO_LEADING),
    ("Effusion is absent.", NO_KEYWORD),
    ("The study is normal.", NO_KEYWORD),
    ("Negative for pneumothorax.", NO_KEYWORD),
    ("Consolidation is not seen.", NO_KEYWORD),
    ("An effusion is not present.", NO_KEYWORD),
    ("The fracture is not clearly visible.", NO_KEYWORD),
    ("Possibly a small effusion.", HEDGED),
    ("There may be some edema.", HEDGED),
    ("Uncertain.", HEDGED),
    ("I cannot determine this from the image.", HEDGED),
    ("Yes, there is no effusion.", MIXED),
    ("Yes, the effusion is absent.", MIXED),
    ("No, yes.", MIXED),
    # was MIXED: "otherwise normal" describes the rest of the study, not the effusion asked about
    ("Effusion is present but the lungs are otherwise normal.", YES_KEYWORD),
    ("Yes if the patient is supine.", CONDITIONAL),
    ("It depends on the projection.", CONDITIONAL),
    ("The patient is standing.", UNPARSEABLE),
    ("Is there a pleural effusion in this chest", UNPARSEABLE),
    ("", EMPTY),
    ("   \n ", EMPTY),
    # -- leading yes / no with a consistent or neutral rest -------------------------------------------
    ("Yes. The heart is enlarged.", YES_LEADING),
    ("Yes, there is.", YES_LEADING),
    ("Yes — a moderate right pleural effusion is seen.", YES_LEADING),
    ("Yes; the cardiac silhouette is enlarged.", YES_LEADING),
    ("**Yes**, there is a large left-sided pneumothorax.", YES_LEADING),
    ("Yes, the image shows a hiatal hernia behind the heart.", YES_LEADING),
    ("NO.", NO_LEADING),
    ("No. There is no pneumothorax.", NO_LEADING),
    ("No, there isn't.", NO_LEADING),
    ("No, it isn’t.", NO_LEADING),
    ("No; the mediastinum is not widened.", NO_LEADING),
    ("No, the heart size is within normal limits.", NO_LEADING),
    # -- leading word contradicted by the rest --------------------------------------------------------
    ("Yes. No effusion is seen.", MIXED),
    ("Yes, the heart size is normal.", MIXED),
    ("No, but there is a small effusion at the left base.", MIXED),
    ("No — a small pneumothorax is visible at the right apex.", MIXED),
    # -- affirmative statements of findings -----------------------------------------------------------
    ("There is a small right pleural effusion.", YES_KEYWORD),
    ("The heart appears enlarged.", YES_KEYWORD),
    ("There is increased opacity in the right lower lobe.", YES_KEYWORD),
    ("Bilateral hilar enlargement is noted.", YES_KEYWORD),
    ("Consolidation is identified in the left lower lobe.", YES_KEYWORD),
    ("The X-ray reveals a fracture of the right clavicle.", YES_KEYWORD),
    ("There is blunting of the left costophrenic angle.", YES_KEYWORD),
    ("The findings are consistent with a right-sided pneumothorax.", YES_KEYWORD),
    ("I can see a pneumothorax on the right.", YES_KEYWORD),
    ("The left hemidiaphragm is elevated.", YES_KEYWORD),
    ("It isn’t normal.", YES_KEYWORD),
    ("The answer is yes.", YES_KEYWORD),
    ("There is a small effusion on the right; otherwise, the study is unremarkable.", YES_KEYWORD),
    ("A small left effusion is seen; otherwise no acute abnormality is identified.", YES_KEYWORD),
    # -- negative statements, negation scope and contractions -----------------------------------------
    ("There is no evidence of pneumothorax.", NO_KEYWORD),
    ("The image does not show any nodules.", NO_KEYWORD),
    ("There isn’t any consolidation.", NO_KEYWORD),
    ("There doesn’t appear to be an effusion.", NO_KEYWORD),
    ("I don't see any pleural effusion.", NO_KEYWORD),
    ("A pneumothorax cannot be seen.", NO_KEYWORD),
    ("Pleural effusion can’t be seen on this image.", NO_KEYWORD),
    ("The study does not demonstrate a pneumothorax.", NO_KEYWORD),
    ("The findings are not consistent with pneumonia.", NO_KEYWORD),
    ("The image shows no signs of pneumonia.", NO_KEYWORD),
    ("The lungs are free of consolidation.", NO_KEYWORD),
    ("The heart is normal in size without cardiomegaly.", NO_KEYWORD),
    ("The lungs appear clear, with no evidence of pleural effusion.", NO_KEYWORD),
    ("No focal consolidation, pleural effusion, or pneumothorax is identified.", NO_KEYWORD),
    (
        "There is no evidence of pleural effusion, pneumothorax, or consolidation seen in this image.",
        NO_KEYWORD,
    ),
    ("The image does not show any evidence of a pneumothorax being present.", NO_KEYWORD),
    ("Neither effusion nor pneumothorax is seen.", NO_KEYWORD),
    ("The heart is not enlarged, and the lungs are clear.", NO_KEYWORD),
    ("No acute cardiopulmonary process.", NO_KEYWORD),
    ("The chest radiograph is unremarkable.", NO_KEYWORD),
    ("Heart size is within normal limits.", NO_KEYWORD),
    ("Findings consistent with a normal chest radiograph.", NO_KEYWORD),
    ("The lungs are well expanded and clear.", NO_KEYWORD),
    ("The lung fields are clear.", NO_KEYWORD),
    ("Clear lungs bilaterally.", NO_KEYWORD),
    ("The costophrenic angles are clear.", NO_KEYWORD),
    ("Pneumothorax is ruled out.", NO_KEYWORD),
    ("No fracture is detected.", NO_KEYWORD),
    ("No evidence of free air under the diaphragm.", NO_KEYWORD),
    ("None seen.", NO_KEYWORD),
    ("The answer is no.", NO_KEYWORD),
    ("Effusion: absent.", NO_KEYWORD),
    # -- mixed without a leading word -----------------------------------------------------------------
    ("The heart is enlarged, but there is no pleural effusion.", MIXED),
    ("There is no effusion and the heart is enlarged.", MIXED),
    ("The heart is not enlarged; a small effusion is present.", MIXED),
    ("The lungs are clear except for a small nodule in the right upper lobe.", MIXED),
    ("Yes and no.", MIXED),
    # -- hedges ---------------------------------------------------------------------------------------
    ("The opacity most likely represents atelectasis.", HEDGED),
    ("Findings are suggestive of pneumonia.", HEDGED),
    ("Cannot rule out a small pneumothorax.", HEDGED),
    ("A small effusion cannot be excluded.", HEDGED),
    ("Pneumothorax is unlikely.", HEDGED),
    ("It is difficult to say from this image.", HEDGED),
    ("There might be a small effusion.", HEDGED),
    ("The lungs are not clear.", HEDGED),
    ("It is unclear whether an effusion is present.", HEDGED),
    ("Yes, possibly a small effusion.", HEDGED),
    # -- conditionals ---------------------------------------------------------------------------------
    ("Assuming this is an upright film, there is no effusion.", CONDITIONAL),
    ("Unless this is an artifact, a pneumothorax is present.", CONDITIONAL),
    ("It depends on the clinical context.", CONDITIONAL),
    ("Only if the patient is supine would the effusion layer posteriorly.", CONDITIONAL),
    # -- nothing decides ------------------------------------------------------------------------------
    ("The trachea is midline.", UNPARSEABLE),
    ("I would recommend a lateral view for further evaluation.", UNPARSEABLE),
    ("The image is clear.", UNPARSEABLE),
    ("Otherwise normal.", UNPARSEABLE),
]


def _expected_of(parsed: ParsedAnswer) -> Expected:
    return (parsed.label, parsed.exclusion, parsed.source)


def test_the_table_is_large_and_has_no_duplicates() -> None:
    texts = [text for text, _ in CASES]
    assert len(texts) >= 80
    assert len(set(texts)) == len(texts)


@pytest.mark.parametrize(("text", "expected"), CASES)
def test_parser_table(text: str, expected: Expected) -> None:
    parsed = parse_answer(text)
    assert _expected_of(parsed) == expected
    assert parsed.is_excluded == (expected[1] is not None)


@pytest.mark.parametrize(("text", "expected"), [case for case in CASES if case[0].strip()])
def test_case_and_trailing_punctuation_do_not_matter(text: str, expected: Expected) -> None:
    assert _expected_of(parse_answer(text.upper())) == expected
    assert _expected_of(parse_answer(text.rstrip(".!?;: "))) == expected


def test_words_inside_other_words_do_not_count() -> None:
    assert _expected_of(parse_answer("Nothing notable; the analysis continues")) == UNPARSEABLE
    assert _expected_of(parse_answer("Nothing notable; the analysis continues", 0.5)) == YES_FALLBACK


FALLBACK_CASES: list[tuple[str, float | None, Expected]] = [
    ("The patient is positioned supine.", 1.2, YES_FALLBACK),
    ("The patient is positioned supine.", -0.7, NO_FALLBACK),
    ("The patient is positioned supine.", None, UNPARSEABLE),
    ("The patient is positioned supine.", 0.0, UNPARSEABLE),
    ("The patient is positioned supine.", math.nan, UNPARSEABLE),
    ("The patient is positioned supine.", math.inf, UNPARSEABLE),
    ("", 1.2, YES_FALLBACK),
    ("  ", -0.7, NO_FALLBACK),
    ("", None, EMPTY),
    ("Possibly a small effusion.", 1.2, HEDGED),
    ("The lungs are not clear.", -0.7, HEDGED),
    ("Yes, there is no effusion.", 1.2, MIXED),
    ("Yes if the patient is supine.", -0.7, CONDITIONAL),
    ("No, the lungs are clear.", 1.2, NO_LEADING),  # a decided answer ignores the margin
    ("There is a small right pleural effusion.", -0.7, YES_KEYWORD),
]


@pytest.mark.parametrize(("text", "margin", "expected"), FALLBACK_CASES)
def test_fallback_labels_only_unparseable_and_empty_answers(
    text: str, margin: float | None, expected: Expected
) -> None:
    assert _expected_of(parse_answer(text, fallback_margin=margin)) == expected


@pytest.mark.parametrize(
    ("label", "exclusion", "source"),
    [
        (None, None, None),
        (AnswerLabel.YES, ExclusionReason.MIXED, LabelSource.KEYWORD),
        (AnswerLabel.YES, None, None),
        (None, ExclusionReason.HEDGED, LabelSource.FALLBACK),
    ],
)
def test_parsed_answer_rejects_inconsistent_fields(
    label: AnswerLabel | None, exclusion: ExclusionReason | None, source: LabelSource | None
) -> None:
    with pytest.raises(ValueError):
        ParsedAnswer(label, exclusion, source)


def test_the_docstring_example_runs() -> None:
    finder = doctest.DocTestFinder()
    runner = doctest.DocTestRunner()
    for test in finder.find(answers.parse_answer, "parse_answer", globs=vars(answers)):
        runner.run(test)
    assert runner.failures == 0 and runner.tries > 0
