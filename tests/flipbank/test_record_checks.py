"""The data-side preflight checks: image files, the yes/no scope rule, the length limit, and the screen."""

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from flipbank.demo_bank import load_demo_bank
from flipbank.image_checks import image_problem, image_problems
from flipbank.question_rows import ReadResult
from flipbank.question_scope import is_open_question, opens_with_yes_no_verb, scope_problems
from flipbank.record_checks import RecordCheck, RecordScreen, length_problems, screen_records
from flipbank.records import Paraphrase, Phenomenon, QuestionRecord
from tests.flipbank.broken_inputs import png_bytes


def question(question_id: str = "q-1", image: str = "x.png", **changes: object) -> QuestionRecord:
    fields: dict[str, object] = {
        "question_id": question_id,
        "question_type": "presence",
        "answer": "yes",
        "image": image,
        "finding": None,
        "original_question": "Is there a pleural effusion?",
        "paraphrases": [Paraphrase(text="Any effusion?", phenomenon=Phenomenon.SPECIFICITY_MODULATION)],
        "source": "test",
    }
    fields.update(changes)
    return QuestionRecord.model_validate(fields)


def test_image_problems_name_each_kind_of_bad_file(tmp_path: Path) -> None:
    (tmp_path / "good.png").write_bytes(png_bytes(1))
    (tmp_path / "empty.png").write_bytes(b"")
    (tmp_path / "text.png").write_text("not an image")
    whole = png_bytes(2)
    (tmp_path / "cut.png").write_bytes(whole[: len(whole) // 2])
    buffer = io.BytesIO()
    Image.new("LAB", (8, 8)).save(buffer, format="TIFF")
    (tmp_path / "lab.tif").write_bytes(buffer.getvalue())
    assert image_problem(tmp_path / "good.png") is None
    assert image_problem(tmp_path / "missing.png") == f"image not found: {tmp_path / 'missing.png'}"
    assert image_problem(tmp_path / "empty.png") == f"empty image file (zero bytes): {tmp_path / 'empty.png'}"
    assert "not an image" in (image_problem(tmp_path / "text.png") or "")
    assert "image file is truncated" in (image_problem(tmp_path / "cut.png") or "")
    assert "unsupported image mode 'LAB'" in (image_problem(tmp_path / "lab.tif") or "")
    paths = [str(tmp_path / name) for name in ("good.png", "text.png", "good.png", "cut.png")]
    assert sorted(image_problems(paths, workers=2)) == [str(tmp_path / "cut.png"), str(tmp_path / "text.png")]


def test_a_sixteen_bit_grayscale_image_is_accepted(tmp_path: Path) -> None:
    pixels = np.random.default_rng(0).integers(0, 65535, size=(16, 16), dtype=np.uint16)
    Image.fromarray(pixels).save(tmp_path / "deep.png")
    assert Image.open(tmp_path / "deep.png").mode.startswith("I")
    assert image_problem(tmp_path / "deep.png") is None


def test_a_file_that_changes_is_checked_again(tmp_path: Path) -> None:
    path = tmp_path / "image.png"
    path.write_text("not yet an image")
    assert image_problem(path) is not None
    path.write_bytes(png_bytes(3, size=64))
    assert image_problem(path) is None


@pytest.mark.parametrize(
    ("text", "open_question"),
    [
        ("Where is the nodule located?", True),
        ("what is the level of the effusion?", True),
        ("What's the view of this image?", True),
        ("  “Which side is the effusion on?”", True),
        ("How many lesions are there?", True),
        ("Is there a pleural effusion?", False),
        ("Any effusion here?", False),
        ("Spot a pneumothorax?", False),
        ("Looking at this film, is the heart enlarged?", False),
        ("Whether or not there is edema?", False),
    ],
)
def test_open_questions_are_those_opening_with_an_interrogative_word(text: str, open_question: bool) -> None:
    assert is_open_question(text) is open_question


def test_an_open_question_type_needs_a_yes_no_verb() -> None:
    in_scope = question(question_type="location", original_question="Isn't the effusion on the left?")
    assert opens_with_yes_no_verb("Isn't the effusion on the left?")
    assert scope_problems(in_scope) == []
    view = question(question_type="View", original_question="Frontal or lateral projection?")
    reason = "question_type 'view' is open-ended and the question does not open with a yes/no verb"
    assert scope_problems(view) == [("question_type", reason)]
    paraphrased = question(
        paraphrases=[Paraphrase(text="Where is the fluid?", phenomenon=Phenomenon.SYNTACTIC_RESTRUCTURING)]
    )
    expected = [("paraphrases[0].text", "not a yes/no question (opens with 'where')")]
    assert scope_problems(paraphrased) == expected


def test_the_demo_bank_is_entirely_in_scope_and_under_the_length_limit() -> None:
    bank = load_demo_bank()
    assert [q.question_id for q in bank if scope_problems(q) or length_problems(q, 1000)] == []


def test_length_problems_name_each_text_over_the_limit() -> None:
    record = question(original_question="Is there " + "x" * 30 + "?")
    assert length_problems(record, 39) == [("original_question", "40 characters, over the limit of 39")]
    assert length_problems(record, 40) == []


def test_screen_keeps_the_valid_records_and_locates_the_others(tmp_path: Path) -> None:
    (tmp_path / "good.png").write_bytes(png_bytes(4))
    good = question("q-good", str(tmp_path / "good.png"))
    bad_image = question("q-image", str(tmp_path / "gone.png"))
    open_one = question("q-open", str(tmp_path / "good.png"), original_question="Where is it?")
    where = ReadResult([], [], "data.json", {"q-good": "row 1", "q-image": "row 2", "q-open": "row 3"})
    result = screen_records([good, bad_image, open_one], where, RecordScreen(check_images=True))
    assert result.kept == [good]
    described = [(p.kind, p.location, p.field) for p in result.problems]
    assert described == [
        (RecordCheck.BAD_IMAGE, "row 2", "image"),
        (RecordCheck.OUT_OF_SCOPE, "row 3", "original_question"),
    ]
    without_images = screen_records([good, bad_image], where, RecordScreen(check_images=False))
    assert without_images.kept == [good, bad_image]
