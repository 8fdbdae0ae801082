"""Field-level validation of one raw input row (a JSON object, a CSV row or a dataset row): each
accessor returns a clean value or raises a `RecordError` naming the file, the row and the field."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

from flipbank.errors import RecordError
from flipbank.normalisation import canonical_finding_name, find_finding
from flipbank.records import Answer, Paraphrase, Phenomenon, is_blank

_PHENOMENA = {phenomenon.value for phenomenon in Phenomenon}

#: The key under which a CSV row keeps fields beyond the header's.
EXTRA_FIELDS = "(extra fields)"


def describe_row(number: int, identifier: object, unit: str = "row", key: str = "question_id") -> str:
    """`row 12 (question_id 'q-0012')`, or `row 12` when the id is not a usable value."""
    if isinstance(identifier, str | int) and not isinstance(identifier, bool):
        return f"{unit} {number} ({key} {str(identifier)!r})"
    return f"{unit} {number}"


def _is_missing(value: object) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


@dataclass(frozen=True)
class RowContext:
    """One raw row and where it came from."""

    file: str
    location: str
    row: Mapping[str, object]

    def fail(self, field: str | None, reason: str) -> NoReturn:
        raise RecordError(self.file, self.location, field, reason)

    def value(self, field: str) -> object:
        """The field's raw value; a missing field or a null value is an error."""
        if field not in self.row:
            self.fail(field, "missing field")
        value = self.row[field]
        if _is_missing(value):
            self.fail(field, "missing value (null)")
        return value

    def text(self, field: str) -> str:
        """A required, non-blank string, stripped."""
        value = self.value(field)
        if not isinstance(value, str):
            self.fail(field, f"expected text, got {type(value).__name__}")
        if is_blank(value):
            self.fail(field, "empty text (only whitespace or invisible characters)")
        return value.strip()

    def identifier(self, field: str = "question_id") -> str:
        """A question id: non-blank text, or an integer (kept as its decimal text)."""
        value = self.value(field)
        if isinstance(value, int) and not isinstance(value, bool):
            return str(value)
        return self.text(field)

    def optional_text(self, field: str) -> str | None:
        """An optional string: absent, null or blank give None."""
        value = self.row.get(field)
        if _is_missing(value):
            return None
        if not isinstance(value, str):
            self.fail(field, f"expected text or null, got {type(value).__name__}")
        return value.strip() or None

    def answer(self, field: str) -> Answer:
        """A yes/no ground truth, case and surrounding spaces ignored."""
        value = self.value(field)
        cleaned = value.strip().lower() if isinstance(value, str) else value
        if cleaned == "yes":
            return "yes"
        if cleaned == "no":
            return "no"
        self.fail(field, f"non-yes/no ground-truth answer {value!r}")

    def phenomenon(self, field: str) -> Phenomenon:
        """A released phenomenon tag (case and surrounding spaces ignored)."""
        value = self.value(field)
        cleaned = value.strip().lower() if isinstance(value, str) else None
        if cleaned not in _PHENOMENA:
            expected = ", ".join(sorted(_PHENOMENA))
            self.fail(field, f"unknown phenomenon {value!r} (expected one of {expected})")
        return Phenomenon(cleaned)

    def finding(self, field: str, question: str, infer: bool) -> str | None:
        """The finding given in the row (canonical CheXpert name when recognised, else as given), or
        when absent and `infer` is true, the one the normaliser finds in the question."""
        given = self.optional_text(field)
        if given is not None:
            return canonical_finding_name(given) or given
        return find_finding(question) if infer else None

    def paraphrases(self, field: str = "paraphrases") -> list[Paraphrase]:
        """A non-empty list of {text, phenomenon} objects."""
        value = self.value(field)
        if not isinstance(value, list):
            self.fail(field, f"expected a list of paraphrases, got {type(value).__name__}")
        if not value:
            self.fail(field, "empty paraphrase list")
        return [self._paraphrase(f"{field}[{index}]", item) for index, item in enumerate(value)]

    def _paraphrase(self, field: str, item: object) -> Paraphrase:
        if not isinstance(item, Mapping):
            self.fail(field, f"expected an object with text and phenomenon, got {type(item).__name__}")
        nested = RowContext(self.file, self.location, item)
        try:
            text = nested.text("text")
            phenomenon = nested.phenomenon("phenomenon")
        except RecordError as error:
            self.fail(f"{field}.{error.field}", error.reason)
        return Paraphrase(text=text, phenomenon=phenomenon)

    def image(self, field: str, image_root: Path | None) -> str:
        """The image path; with an `image_root`, resolved against it and checked to exist."""
        value = self.text(field)
        if image_root is None:
            return value
        path = Path(value)
        resolved = path if path.is_absolute() else image_root / path
        if not resolved.is_file():
            self.fail(field, f"image not found: {resolved}")
        return str(resolved)
