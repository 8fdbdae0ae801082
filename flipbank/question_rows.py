"""Turning raw rows into `QuestionRecord`s, shared by the readers: one object per question (the
MIMIC JSON shape) or one row per paraphrase, grouped by question_id (the flip-bank CSV shape)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import ValidationError

from flipbank.errors import RecordError, SkippedRecord, error_from_validation
from flipbank.records import Answer, Paraphrase, QuestionRecord
from flipbank.row_fields import EXTRA_FIELDS, RowContext, describe_row

#: Question type given to flip-bank CSV rows, which carry no question_type column.
UNSPECIFIED_QUESTION_TYPE = "unspecified"
#: The optional field (JSON key or CSV column) naming the patient an image belongs to.
PATIENT_FIELD = "patient_id"


@dataclass(frozen=True)
class ReadResult:
    """What a reader returns: the valid records and every record it skipped, with the reason.
    In strict mode (`skip_invalid=False`) the first invalid record raises instead, so `skipped` only
    holds out-of-scope rows (such as non-yes/no questions of the Hugging Face dataset). `file` names
    the input and `locations` maps each record's question_id to its row or line (for the CSV shape,
    the line of the question's first row), so later checks can point at it."""

    records: list[QuestionRecord]
    skipped: list[SkippedRecord] = field(default_factory=list)
    file: str = ""
    locations: dict[str, str] = field(default_factory=dict)

    def location_of(self, question_id: str) -> str:
        """The row or line of ``question_id``, or its id where the reader kept no location."""
        return self.locations.get(question_id, f"question_id {question_id!r}")


class SkipLog:
    """Raises invalid-record errors in strict mode and collects them in `skip_invalid` mode."""

    def __init__(self, skip_invalid: bool) -> None:
        self.skip_invalid = skip_invalid
        self.skipped: list[SkippedRecord] = []
        self.locations: dict[str, str] = {}

    def invalid(self, error: RecordError) -> None:
        if not self.skip_invalid:
            raise error
        self.skipped.append(SkippedRecord.from_error(error))

    def out_of_scope(self, skipped: SkippedRecord) -> None:
        self.skipped.append(skipped)


def present_field(row: Mapping[str, object], names: tuple[str, ...]) -> str:
    """The first of `names` present in the row, else the first name (so errors name it)."""
    return next((name for name in names if name in row), names[0])


@dataclass(frozen=True)
class QuestionFields:
    """Which raw field holds what; the alternatives cover the Hugging Face dataset's naming."""

    image: tuple[str, ...] = ("filename",)
    answer: tuple[str, ...] = ("answer",)


def question_from_object(
    context: RowContext, source: str, image_root: Path | None, fields: QuestionFields
) -> QuestionRecord:
    """One question in the MIMIC JSON shape. Fields are checked in this order: question_id,
    question_type, answer, image, original_question, finding (optional), paraphrases, patient_id
    (optional)."""
    row = context.row
    question_id = context.identifier("question_id")
    question_type = context.text("question_type")
    answer = context.answer(present_field(row, fields.answer))
    image = context.image(present_field(row, fields.image), image_root)
    question = context.text("original_question")
    finding = context.finding("finding", question, infer=True)
    paraphrases = context.paraphrases("paraphrases")
    try:
        return QuestionRecord(
            question_id=question_id,
            question_type=question_type,
            answer=answer,
            image=image,
            finding=finding,
            original_question=question,
            paraphrases=paraphrases,
            source=source,
            patient=context.optional_text(PATIENT_FIELD),
        )
    except ValidationError as error:
        raise error_from_validation(context.file, context.location, error) from error


def questions_from_objects(
    file: str,
    rows: Iterable[tuple[int, object]],
    source: str,
    image_root: Path | None,
    log: SkipLog,
    fields: QuestionFields = QuestionFields(),
) -> list[QuestionRecord]:
    """Questions from (row number, object) pairs; errors name `row N`. A repeated question_id is an
    error on the later row."""
    records: list[QuestionRecord] = []
    first_seen: dict[str, str] = {}
    for number, row in rows:
        try:
            if not isinstance(row, Mapping):
                reason = f"expected an object, got {type(row).__name__}"
                raise RecordError(file, f"row {number}", None, reason)
            context = RowContext(file, describe_row(number, row.get("question_id")), row)
            record = question_from_object(context, source, image_root, fields)
            if record.question_id in first_seen:
                first = first_seen[record.question_id]
                context.fail("question_id", f"duplicate question_id (first at {first})")
        except RecordError as error:
            log.invalid(error)
            continue
        first_seen[record.question_id] = context.location
        log.locations[record.question_id] = context.location
        records.append(record)
    return records


@dataclass(frozen=True)
class ParaphraseRow:
    """One row of the flip-bank CSV shape: a question's fields plus one paraphrase."""

    location: str
    question_id: str
    image: str
    answer: Answer
    original_question: str
    question_type: str
    finding: str | None
    paraphrase: Paraphrase
    patient: str | None = None


_SHARED_FIELDS = ("image", "answer", "original_question", "question_type", "finding", "patient")


def paraphrase_row(context: RowContext, image_root: Path | None, fields: QuestionFields) -> ParaphraseRow:
    """Reads one CSV-shaped row, checking question_id, image, answer, original_question, paraphrase
    and phenomenon in that order (question_type, finding and patient_id are optional)."""
    row = context.row
    if EXTRA_FIELDS in row:
        context.fail(EXTRA_FIELDS, "more fields than the header has")
    question_id = context.identifier("question_id")
    image = context.image(present_field(row, fields.image), image_root)
    answer = context.answer(present_field(row, fields.answer))
    question = context.text("original_question")
    text = context.text("paraphrase")
    phenomenon = context.phenomenon("phenomenon")
    return ParaphraseRow(
        location=context.location,
        question_id=question_id,
        image=image,
        answer=answer,
        original_question=question,
        question_type=context.optional_text("question_type") or UNSPECIFIED_QUESTION_TYPE,
        finding=context.finding("finding", question, infer=True),
        paraphrase=Paraphrase(text=text, phenomenon=phenomenon),
        patient=context.optional_text(PATIENT_FIELD),
    )


def _check_consistent(context: RowContext, row: ParaphraseRow, first: ParaphraseRow) -> None:
    raw_names = {"image": "image_path", "answer": "ground_truth", "patient": PATIENT_FIELD}
    for name in _SHARED_FIELDS:
        here, there = getattr(row, name), getattr(first, name)
        if here != there:
            reason = (
                f"inconsistent within question_id {row.question_id!r}: {here!r} here, "
                f"{there!r} at {first.location}"
            )
            context.fail(raw_names.get(name, name), reason)


def _check_new_paraphrase(context: RowContext, row: ParaphraseRow, group: list[ParaphraseRow]) -> None:
    for seen in group:
        if seen.paraphrase.text == row.paraphrase.text:
            context.fail("paraphrase", f"duplicate paraphrase (first at {seen.location})")


def questions_from_paraphrase_rows(
    contexts: Iterable[RowContext],
    source: str,
    image_root: Path | None,
    log: SkipLog,
    fields: QuestionFields,
) -> list[QuestionRecord]:
    """Groups one-row-per-paraphrase rows by question_id (in order of first appearance). A row whose
    question fields contradict the group's first row, or that repeats a paraphrase, is an error."""
    groups: dict[str, list[ParaphraseRow]] = {}
    for context in contexts:
        try:
            row = paraphrase_row(context, image_root, fields)
            group = groups.get(row.question_id, [])
            if group:
                _check_consistent(context, row, group[0])
                _check_new_paraphrase(context, row, group)
        except RecordError as error:
            log.invalid(error)
            continue
        groups.setdefault(row.question_id, []).append(row)
        log.locations.setdefault(row.question_id, row.location)
    return [_question_from_group(rows, source) for rows in groups.values()]


def _question_from_group(rows: list[ParaphraseRow], source: str) -> QuestionRecord:
    first = rows[0]
    return QuestionRecord(
        question_id=first.question_id,
        question_type=first.question_type,
        answer=first.answer,
        image=first.image,
        finding=first.finding,
        original_question=first.original_question,
        paraphrases=[row.paraphrase for row in rows],
        source=source,
        patient=first.patient,
    )
