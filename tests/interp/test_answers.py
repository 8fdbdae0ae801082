import pytest

from interp.answers import AnswerLabel, ExclusionReason, parse_answer

YES, NO = AnswerLabel.YES, AnswerLabel.NO
HEDGED, MIXED = ExclusionReason.HEDGED, ExclusionReason.MIXED
CONDITIONAL, UNPARSEABLE, EMPTY = (
    ExclusionReason.CONDITIONAL,
    ExclusionReason.UNPARSEABLE,
    ExclusionReason.EMPTY,
)

CASES = [
    ("Yes", YES, None),
    ("yes.", YES, None),
    ("Yes, a small left pleural effusion is present.", YES, None),
    ("A pneumothorax is visible in the right apex.", YES, None),
    ("The film shows cardiomegaly.", YES, None),
    ("Findings confirmed.", YES, None),
    ("No", NO, None),
    ("No, the lungs are clear.", NO, None),
    ("Effusion is absent.", NO, None),
    ("The study is normal.", NO, None),
    ("Negative for pneumothorax.", NO, None),
    ("Consolidation is not seen.", NO, None),
    ("An effusion is not present.", NO, None),
    ("The fracture is not clearly visible.", NO, None),
    ("Possibly a small effusion.", None, HEDGED),
    ("There may be some edema.", None, HEDGED),
    ("Uncertain.", None, HEDGED),
    ("I cannot determine this from the image.", None, HEDGED),
    ("Yes, there is no effusion.", None, MIXED),
    ("Yes, the effusion is absent.", None, MIXED),
    ("No, yes.", None, MIXED),
    ("Effusion is present but the lungs are otherwise normal.", None, MIXED),
    ("Yes if the patient is supine.", None, CONDITIONAL),
    ("It depends on the projection.", None, CONDITIONAL),
    ("The patient is standing.", None, UNPARSEABLE),
    ("Is there a pleural effusion in this chest", None, UNPARSEABLE),
    ("", None, EMPTY),
    ("   \n ", None, EMPTY),
]


@pytest.mark.parametrize(("text", "label", "exclusion"), CASES)
def test_parser_table(text: str, label: AnswerLabel | None, exclusion: ExclusionReason | None) -> None:
    parsed = parse_answer(text)
    assert parsed.label == label
    assert parsed.exclusion == exclusion
    assert parsed.is_excluded == (exclusion is not None)


def test_words_inside_other_words_do_not_count() -> None:
    assert parse_answer("Nothing notable; the analysis continues").exclusion == UNPARSEABLE
