"""A folder of broken inputs, built in a test's tmp_path: a PSF-Med MIMIC JSON whose rows fail every record
check once (next to three valid rows), three files that fail as a whole, and a flip-bank CSV with a row of too
many fields. ``EXPECTED`` says where each problem must be reported: (file, location, field, reason)."""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

RECORDS = "records.json"
MALFORMED = "malformed.json"
LATIN1 = "latin1.json"
ROWS_CSV = "rows.csv"
VALID_IDS = ["q-good-1", "q-good-2", "q-good-3"]
LONG_QUESTION = "Is there " + "a very " * 2857 + "subtle effusion?"


def png_bytes(seed: int, size: int = 48) -> bytes:
    pixels = np.random.default_rng(seed).integers(0, 256, size=(size, size, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels, mode="RGB").save(buffer, format="PNG")
    return buffer.getvalue()


def _images(folder: Path) -> None:
    folder.mkdir(parents=True)
    for index in (1, 2, 3):
        (folder / f"good_{index}.png").write_bytes(png_bytes(index))
    (folder / "empty.png").write_bytes(b"")
    (folder / "text.png").write_text("this is a text file, not a PNG\n")
    whole = png_bytes(9)
    (folder / "truncated.png").write_bytes(whole[: len(whole) // 2])


def row(question_id: str, image: str = "good_1.png", **changes: object) -> dict[str, object]:
    record: dict[str, object] = {
        "question_id": question_id,
        "question_type": "presence",
        "answer": "yes",
        "filename": image,
        "original_question": "Is there a pleural effusion?",
        "paraphrases": [
            {"text": "Is there fluid around the lung?", "phenomenon": "lexical_substitution"},
            {"text": "Any effusion here?", "phenomenon": "specificity_modulation"},
        ],
        "patient_id": f"patient-{question_id}",
    }
    record.update(changes)
    return {key: value for key, value in record.items() if value is not None}


def _records() -> list[dict[str, object]]:
    return [
        row("q-good-1", "good_1.png"),
        row("q-good-2", "good_2.png"),
        row("q-no-answer", answer=None),
        row("q-phenomenon", paraphrases=[{"text": "Is fluid present?", "phenomenon": "sarcasm"}]),
        row("q-missing-image", "missing.png"),
        row("q-zero-byte", "empty.png"),
        row("q-text-png", "text.png"),
        row("q-truncated", "truncated.png"),
        row("q-good-1", "good_3.png"),
        row("q-where", original_question="Where is the nodule located?"),
        row("q-long", original_question=LONG_QUESTION),
        row("q-no-paraphrases", paraphrases=[]),
        row("q-maybe", answer="maybe"),
        row("q-good-3", "good_3.png"),
    ]


@dataclass(frozen=True)
class BrokenInputs:
    folder: Path

    @property
    def images(self) -> Path:
        return self.folder / "images"

    def path(self, name: str) -> Path:
        return self.folder / name


def build_broken_inputs(folder: Path) -> BrokenInputs:
    _images(folder / "images")
    (folder / RECORDS).write_text(json.dumps({"results": _records()}, indent=1), encoding="utf-8")
    (folder / MALFORMED).write_text('{"results": [\n  {"question_id": "q-1",, "answer": "yes"}\n]}\n')
    (folder / LATIN1).write_bytes('{"results": [\n  {"question_id": "q-é"}\n]}\n'.encode("latin-1"))
    header = "question_id,image_path,ground_truth,original_question,paraphrase,phenomenon,patient_id\n"
    good = "c-1,good_1.png,yes,Is there cardiomegaly?,Is the heart enlarged?,lexical_substitution,p1\n"
    extra = "c-2,good_2.png,no,Is there edema?,Any edema?,lexical_substitution,p2,surplus\n"
    other = "c-3,good_3.png,no,Is there a pneumothorax?,Any pneumothorax?,specificity_modulation,p3\n"
    (folder / ROWS_CSV).write_text(header + good + extra + other, encoding="utf-8")
    return BrokenInputs(folder)


#: file → every (location, field, reason) its check must report; the field is None for whole-file problems.
EXPECTED: dict[str, list[tuple[str, str | None, str]]] = {
    RECORDS: [
        ("row 3 (question_id 'q-no-answer')", "answer", "missing field"),
        ("row 4 (question_id 'q-phenomenon')", "paraphrases[0].phenomenon", "unknown phenomenon 'sarcasm'"),
        ("row 5 (question_id 'q-missing-image')", "filename", "image not found"),
        ("row 6 (question_id 'q-zero-byte')", "image", "empty image file (zero bytes)"),
        ("row 7 (question_id 'q-text-png')", "image", "not an image"),
        ("row 8 (question_id 'q-truncated')", "image", "image file is truncated"),
        ("row 9 (question_id 'q-good-1')", "question_id", "duplicate question_id (first at row 1"),
        ("row 10 (question_id 'q-where')", "original_question", "not a yes/no question (opens with 'where')"),
        ("row 11 (question_id 'q-long')", "original_question", "20,024 characters, over the limit of 1,000"),
        ("row 12 (question_id 'q-no-paraphrases')", "paraphrases", "empty paraphrase list"),
        ("row 13 (question_id 'q-maybe')", "answer", "non-yes/no ground-truth answer 'maybe'"),
    ],
    MALFORMED: [("line 2, column 25", None, "malformed JSON")],
    LATIN1: [("line 2, column 22", None, "not UTF-8 text (byte 0xe9)")],
    ROWS_CSV: [("line 3 (question_id 'c-2')", "(extra fields)", "more fields than the header has")],
}
