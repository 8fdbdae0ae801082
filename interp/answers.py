"""The keyword answer parser of DESIGN §2: maps a generated answer to yes / no, or excludes it as hedged,
mixed, conditional, empty or unparseable (never guessed). Pure: text in, label out."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum


class AnswerLabel(StrEnum):
    YES = "yes"
    NO = "no"


class ExclusionReason(StrEnum):
    HEDGED = "hedged"
    MIXED = "mixed"
    CONDITIONAL = "conditional"
    UNPARSEABLE = "unparseable"
    EMPTY = "empty"


@dataclass(frozen=True)
class ParsedAnswer:
    """A parsed answer: exactly one of ``label`` and ``exclusion`` is set."""

    label: AnswerLabel | None
    exclusion: ExclusionReason | None

    @property
    def is_excluded(self) -> bool:
        return self.exclusion is not None


def _pattern(words: tuple[str, ...]) -> re.Pattern[str]:
    return re.compile(r"\b(?:" + "|".join(words) + r")\b")


_CONDITIONAL = _pattern(("if", "unless", "depends", "depending", "provided that", "assuming"))
_HEDGE = _pattern(
    (
        "possibly", "possible", "may", "might", "uncertain", "unclear", "cannot determine",
        "can't determine", "cannot be determined", "probably", "likely", "perhaps", "not sure",
        "could be", "suggests?", "questionable", "equivocal", "indeterminate",
    )
)  # fmt: skip
_NEGATED_AFFIRMATIVE = re.compile(
    r"\b(?:not|no longer|isn't|aren't|wasn't)\s+(?:\w+\s+)?(?:present|visible|evident|confirmed|seen|shown)\b"
)
_AFFIRMATIVE = _pattern(("yes", "present", "visible", "confirmed", "shows", "evident"))
_NEGATIVE = _pattern(("no", "absent", "not seen", "negative", "normal", "clear"))
_CONTRADICTS_YES = _pattern(("no", "absent", "not seen", "negative", "without"))
_LEADING = re.compile(r"^\W*(yes|no)\b")
_NEGATED_MARK = " negated_finding "


def _clean(text: str) -> str:
    return " ".join(text.lower().replace("’", "'").split())


def _label_without_leading_word(text: str) -> ParsedAnswer:
    affirmative = bool(_AFFIRMATIVE.search(text))
    negative = bool(_NEGATIVE.search(text)) or _NEGATED_MARK.strip() in text
    if affirmative and negative:
        return ParsedAnswer(None, ExclusionReason.MIXED)
    if affirmative:
        return ParsedAnswer(AnswerLabel.YES, None)
    if negative:
        return ParsedAnswer(AnswerLabel.NO, None)
    return ParsedAnswer(None, ExclusionReason.UNPARSEABLE)


def parse_answer(text: str) -> ParsedAnswer:
    """Parse one answer. A leading "yes"/"no" decides unless the rest contradicts it ("Yes, there is no
    effusion" is mixed); otherwise keyword hits decide, and both kinds at once make the answer mixed."""
    cleaned = _clean(text)
    if not cleaned:
        return ParsedAnswer(None, ExclusionReason.EMPTY)
    if _CONDITIONAL.search(cleaned):
        return ParsedAnswer(None, ExclusionReason.CONDITIONAL)
    if _HEDGE.search(cleaned):
        return ParsedAnswer(None, ExclusionReason.HEDGED)
    marked = _NEGATED_AFFIRMATIVE.sub(_NEGATED_MARK, cleaned)
    leading = _LEADING.match(marked)
    if leading is None:
        return _label_without_leading_word(marked)
    rest = marked[leading.end() :]
    if leading.group(1) == "yes":
        contradicted = bool(_CONTRADICTS_YES.search(rest)) or _NEGATED_MARK.strip() in rest
        label = AnswerLabel.YES
    else:
        contradicted = bool(re.search(r"\byes\b", rest))
        label = AnswerLabel.NO
    if contradicted:
        return ParsedAnswer(None, ExclusionReason.MIXED)
    return ParsedAnswer(label, None)
