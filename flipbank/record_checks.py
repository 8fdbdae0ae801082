"""The data side of the preflight: every check a question record must pass before a run spends model time on
it (the reader's own checks, its images decoding, being a yes/no question, no text over the length limit),
with each problem located by file, row or line, and field. Never runs a model."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from flipbank.errors import RecordError, SkippedRecord, format_problem
from flipbank.image_checks import DEFAULT_IMAGE_WORKERS, image_problems
from flipbank.question_rows import ReadResult
from flipbank.question_scope import scope_problems
from flipbank.records import QuestionRecord

#: Longest question or paraphrase accepted, in characters; real ones are under 300.
DEFAULT_MAX_QUESTION_CHARS = 1000


class RecordCheck(StrEnum):
    """What a record failed: the reader's checks, its image, the yes/no scope, or the length limit."""

    INVALID = "invalid record"
    BAD_IMAGE = "bad image"
    OUT_OF_SCOPE = "out of scope"
    TOO_LONG = "too long"


@dataclass(frozen=True)
class CheckProblem:
    """One problem a preflight found: its kind (a `RecordCheck` or, outside the data, "model", "sae",
    "disk", "setup"), where it is (file, row or line, field) and why."""

    kind: str
    file: str
    location: str
    field: str | None
    reason: str

    @classmethod
    def from_error(cls, error: RecordError) -> CheckProblem:
        """A file-level or record-level reader error."""
        return cls(RecordCheck.INVALID, error.file, error.location, error.field, error.reason)

    @classmethod
    def from_skipped(cls, skipped: SkippedRecord) -> CheckProblem:
        """A record a reader skipped; rows flagged not yes/no (`is_yesno`) are out of scope."""
        kind = RecordCheck.OUT_OF_SCOPE if skipped.field == "is_yesno" else RecordCheck.INVALID
        return cls(kind, skipped.file, skipped.location, skipped.field, skipped.reason)

    def describe(self) -> str:
        return f"[{self.kind.upper()}] {format_problem(self.file, self.location, self.field, self.reason)}"


@dataclass(frozen=True)
class RecordScreen:
    """The checks applied to records a reader accepted: texts longer than ``max_question_chars`` are
    refused, and with ``check_images`` (a run that shows real or swapped images) every image must decode."""

    max_question_chars: int = DEFAULT_MAX_QUESTION_CHARS
    check_images: bool = True
    image_workers: int = DEFAULT_IMAGE_WORKERS

    def __post_init__(self) -> None:
        if self.max_question_chars < 1:
            raise ValueError(f"max_question_chars must be positive, got {self.max_question_chars}")


@dataclass(frozen=True)
class ScreenResult:
    """The records that passed every check, and one problem per failed check of the others."""

    kept: list[QuestionRecord]
    problems: list[CheckProblem]


def length_problems(record: QuestionRecord, limit: int) -> list[tuple[str, str]]:
    """(field, reason) for the original question and each paraphrase longer than ``limit`` characters."""
    texts = [("original_question", record.original_question)]
    texts += [(f"paraphrases[{i}].text", p.text) for i, p in enumerate(record.paraphrases)]
    return [
        (field, f"{len(text):,} characters, over the limit of {limit:,}")
        for field, text in texts
        if len(text) > limit
    ]


def _record_problems(
    record: QuestionRecord, screen: RecordScreen, bad_images: dict[str, str]
) -> list[tuple[RecordCheck, str, str]]:
    found = [(RecordCheck.BAD_IMAGE, "image", bad_images[record.image])] if record.image in bad_images else []
    found += [(RecordCheck.OUT_OF_SCOPE, field, reason) for field, reason in scope_problems(record)]
    too_long = length_problems(record, screen.max_question_chars)
    return found + [(RecordCheck.TOO_LONG, field, reason) for field, reason in too_long]


def screen_records(
    records: Sequence[QuestionRecord], where: ReadResult, screen: RecordScreen = RecordScreen()
) -> ScreenResult:
    """Applies ``screen`` to ``records`` (read into ``where``, which locates them) and returns the records
    that pass with every problem of the others; nothing is dropped without a problem naming it."""
    paths = [record.image for record in records] if screen.check_images else []
    bad_images = image_problems(paths, screen.image_workers)
    kept: list[QuestionRecord] = []
    problems: list[CheckProblem] = []
    for record in records:
        found = _record_problems(record, screen, bad_images)
        location = where.location_of(record.question_id)
        problems += [CheckProblem(kind, where.file, location, field, why) for kind, field, why in found]
        if not found:
            kept.append(record)
    return ScreenResult(kept, problems)
