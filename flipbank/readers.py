"""Readers for the input formats (PSF-Med MIMIC JSON, PadChest/VinDr flip-bank CSV, a
local copy of the Hugging Face dataset `saillab/psf-med`), each returning a `ReadResult`."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path

from flipbank.errors import RecordError, SkippedRecord
from flipbank.hf_loading import load_local_split
from flipbank.question_rows import (
    QuestionFields,
    ReadResult,
    SkipLog,
    questions_from_objects,
    questions_from_paraphrase_rows,
)
from flipbank.row_fields import EXTRA_FIELDS, RowContext, describe_row
from flipbank.text_files import parse_json, read_utf8

__all__ = [
    "CSV_COLUMNS",
    "ReadResult",
    "SkippedRecord",
    "read_flipbank_csv",
    "read_hf_psf_med",
    "read_psf_mimic_json",
]

#: Required columns of the PadChest/VinDr flip-bank CSV (question_type and finding are optional).
CSV_COLUMNS = (
    "question_id",
    "image_path",
    "ground_truth",
    "original_question",
    "paraphrase",
    "phenomenon",
)
_CSV_FIELDS = QuestionFields(image=("image_path",), answer=("ground_truth",))
_HF_OBJECT_FIELDS = QuestionFields(image=("filename", "image_path"), answer=("answer", "ground_truth"))
_HF_ROW_FIELDS = QuestionFields(image=("image_path", "filename"), answer=("ground_truth", "answer"))


def _image_root(image_root: str | Path | None) -> Path | None:
    if image_root is None:
        return None
    root = Path(image_root)
    if not root.is_dir():
        raise NotADirectoryError(f"image_root is not a folder: {root}")
    return root


# Every reader takes `image_root` (None keeps image paths as given, unchecked; a folder resolves
# relative paths against it and a missing file is an error) and `skip_invalid` (False raises a
# `RecordError` on the first invalid record; True skips and reports each one in
# `ReadResult.skipped`). File-level problems (zero-byte file, non-UTF-8 bytes, malformed JSON, a
# missing header) always raise.


def read_psf_mimic_json(
    path: str | Path,
    *,
    image_root: str | Path | None = None,
    source: str = "psf-med-mimic",
    skip_invalid: bool = False,
) -> ReadResult:
    """Reads a PSF-Med MIMIC split: a JSON object whose `results` list holds one object per question
    (question_id, question_type, answer, filename, original_question, paraphrases [{text,
    phenomenon}], optional finding). Errors name the row (counted from 1) and its question_id."""
    file = Path(path)
    document = parse_json(file, read_utf8(file))
    if not isinstance(document, dict) or "results" not in document:
        raise RecordError(str(file), "top level", "results", "expected an object with a 'results' list")
    rows = document["results"]
    if not isinstance(rows, list):
        reason = f"expected a list of questions, got {type(rows).__name__}"
        raise RecordError(str(file), "top level", "results", reason)
    log = SkipLog(skip_invalid)
    numbered = enumerate(rows, start=1)
    records = questions_from_objects(str(file), numbered, source, _image_root(image_root), log)
    return ReadResult(records, log.skipped, str(file), log.locations)


def _csv_contexts(file: Path, text: str) -> Iterator[RowContext]:
    reader = csv.DictReader(io.StringIO(text, newline=""), restkey=EXTRA_FIELDS)
    try:
        header = reader.fieldnames
        if not header:
            raise RecordError(str(file), "line 1", None, "no header row")
        for column in CSV_COLUMNS:
            if column not in header:
                raise RecordError(str(file), "line 1 (header)", column, "missing column")
        for row in reader:
            location = describe_row(reader.line_num, row.get("question_id"), unit="line")
            yield RowContext(str(file), location, row)
    except csv.Error as error:
        raise RecordError(str(file), f"line {reader.line_num}", None, f"bad CSV: {error}") from error


def read_flipbank_csv(
    path: str | Path,
    *,
    image_root: str | Path | None = None,
    source: str = "psf-med-flipbank",
    skip_invalid: bool = False,
) -> ReadResult:
    """Reads a PadChest/VinDr flip-bank CSV (one row per paraphrase; columns `CSV_COLUMNS`, optional
    question_type and finding) and groups its rows by question_id. A row that contradicts its
    question's first row, or repeats a paraphrase, is invalid. Errors name the physical line."""
    file = Path(path)
    text = read_utf8(file)
    log = SkipLog(skip_invalid)
    contexts = _csv_contexts(file, text)
    records = questions_from_paraphrase_rows(contexts, source, _image_root(image_root), log, _CSV_FIELDS)
    return ReadResult(records, log.skipped, str(file), log.locations)


def _yes_no_rows(
    label: str, rows: list[dict[str, object]], log: SkipLog
) -> Iterator[tuple[int, dict[str, object]]]:
    """Rows flagged `is_yesno`; the others are reported as out of scope, never dropped silently."""
    for number, row in enumerate(rows, start=1):
        flag = row.get("is_yesno", True)
        if flag is True or flag == 1:
            yield number, row
        else:
            location = describe_row(number, row.get("question_id"))
            log.out_of_scope(SkippedRecord(label, location, "is_yesno", "not a yes/no question"))


def read_hf_psf_med(
    folder: str | Path,
    *,
    config: str = "mimic",
    split: str = "test",
    image_root: str | Path | None = None,
    skip_invalid: bool = False,
    cache_dir: str | Path | None = None,
) -> ReadResult:
    """Reads a local copy of `saillab/psf-med` (never downloads): a `save_to_disk` folder or a
    folder of data files (see `flipbank.hf_loading`). Rows with a `paraphrases` list are read like
    the MIMIC JSON; rows with one `paraphrase` each are grouped like the flip-bank CSV. Rows with
    `is_yesno` false are reported in `skipped` in both modes. `cache_dir` is where `datasets`
    caches converted data files (None: its default cache)."""
    label = f"{folder} [{config}/{split}]"
    cache = None if cache_dir is None else Path(cache_dir)
    rows = load_local_split(Path(folder), config, split, cache)
    log = SkipLog(skip_invalid)
    root = _image_root(image_root)
    kept = list(_yes_no_rows(label, rows, log))
    source = f"psf-med-{config}"
    if rows and "paraphrases" not in rows[0] and "paraphrase" in rows[0]:
        contexts = (
            RowContext(label, describe_row(number, row.get("question_id")), row) for number, row in kept
        )
        records = questions_from_paraphrase_rows(contexts, source, root, log, _HF_ROW_FIELDS)
    else:
        records = questions_from_objects(label, kept, source, root, log, _HF_OBJECT_FIELDS)
    return ReadResult(records, log.skipped, label, log.locations)
