"""Errors of the data side: `RecordError` names the file, the line or row and the field of a bad
record; `SkippedRecord` is its report form when a reader skips invalid records."""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import ValidationError


class RecordError(ValueError):
    """A record that cannot be read. The message reads
    `FILE: LOCATION, field 'FIELD': REASON`, e.g.
    `psf_mimic.json: row 12 (question_id 'q-0012'), field 'paraphrases': empty paraphrase list`.
    File-level problems (empty file, bad encoding, malformed JSON) have `field=None` and a location
    such as `line 7, column 3` or `whole file`."""

    def __init__(self, file: str, location: str, field: str | None, reason: str) -> None:
        self.file = file
        self.location = location
        self.field = field
        self.reason = reason
        super().__init__(format_problem(file, location, field, reason))

    def __reduce__(self) -> tuple[type[RecordError], tuple[str, str, str | None, str]]:
        return (RecordError, (self.file, self.location, self.field, self.reason))


def format_problem(file: str, location: str, field: str | None, reason: str) -> str:
    """The one-line description shared by `RecordError` and `SkippedRecord`."""
    field_part = "" if field is None else f", field '{field}'"
    return f"{file}: {location}{field_part}: {reason}"


@dataclass(frozen=True)
class SkippedRecord:
    """One record a reader skipped (in `skip_invalid` mode, or because it is out of scope, such as a
    non-yes/no question), with where it was and why."""

    file: str
    location: str
    field: str | None
    reason: str

    @classmethod
    def from_error(cls, error: RecordError) -> SkippedRecord:
        return cls(error.file, error.location, error.field, error.reason)

    def describe(self) -> str:
        return format_problem(self.file, self.location, self.field, self.reason)


def field_path(location: tuple[int | str, ...]) -> str:
    """Formats a pydantic error location ('paraphrases', 0, 'text') as `paraphrases[0].text`."""
    text = ""
    for part in location:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += part if not text else f".{part}"
    return text or "(record)"


def error_from_validation(file: str, location: str, error: ValidationError) -> RecordError:
    """Turns the first problem of a pydantic `ValidationError` into a `RecordError`."""
    first = error.errors(include_url=False)[0]
    return RecordError(file, location, field_path(tuple(first["loc"])), str(first["msg"]))
