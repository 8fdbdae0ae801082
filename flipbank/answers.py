"""The answer parser: maps a greedy free-text answer to yes / no, or excludes it. Pure: text
(and optionally the first-answer-token margin) in, label out. The vocabulary lives in
``flipbank.answer_rules``.

Rules, in order:

* Empty or whitespace-only text is EMPTY. Any conditional ("if", "unless", "depends", "assuming", ...) makes
  the answer CONDITIONAL, and any hedge ("possibly", "may", "likely", "suggestive of", "cannot rule out",
  "cannot be excluded", "not clear", "unclear", ...) makes it HEDGED. These are excluded, never guessed.
* Keywords and statements of findings are read clause by clause (clauses end at . ! ? ; dashes, "but",
  "however", "except", and at ", the ..." / "and there ..."). Affirmative: yes, present, visible, confirmed,
  evident, evidence, seen / noted / identified / observed / detected, enlarged, widened, increased, opacity,
  abnormal, .... Negative: no, none, absent, negative, normal, unremarkable, ruled out, without, free of,
  and "clear" where it describes the lungs, lung fields, costophrenic angles or bases ("the lungs are clear",
  "clear lungs"); "clear evidence of X" is affirmative through "evidence".
* Negation has scope. "no", "without", "free of", "nothing", "there isn't" negate the rest of their clause, so
  "No consolidation, effusion or pneumothorax is seen" is negative. "not", "never", "cannot" and "-n't"
  negate the next few words (up to a comma), and a cue they negated carries the scope on: "It doesn't
  appear to be present" is negative, "The findings are not normal" affirmative.
* Reporting verbs ("shows", "demonstrates", "reveals", "consistent with") and "there is" are weak: they
  count only in a clause without a stronger cue, so "The X-ray shows no effusion" is negative.
* Negative words after "otherwise" describe the rest of the study and are ignored ("Effusion is present but
  the lungs are otherwise normal" is affirmative).
* A leading "Yes" or "No" followed by punctuation (or nothing) decides unless the rest says the opposite,
  which makes the answer MIXED ("Yes, there is no effusion"; "No, effusion is present"). Otherwise both kinds
  of cue at once make it MIXED, one kind decides, and none leaves it UNPARSEABLE.
* Fallback (as in PSF-Med): given a finite, non-zero ``fallback_margin`` (the yes-minus-no logit margin at
  the first answer token), an UNPARSEABLE or EMPTY answer is labelled by the margin's sign, with source
  FALLBACK so it can be counted apart. Hedged, mixed and conditional answers stay excluded.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TypeGuard

from flipbank.answer_rules import (
    CLEAR_WINDOW,
    CONDITIONAL,
    HEDGE,
    LEADING,
    NOT_WINDOW,
    TOKENS,
    WEAK_KINDS,
    Kind,
    clean_text,
)


class AnswerLabel(StrEnum):
    YES = "yes"
    NO = "no"


class ExclusionReason(StrEnum):
    HEDGED = "hedged"
    MIXED = "mixed"
    CONDITIONAL = "conditional"
    UNPARSEABLE = "unparseable"
    EMPTY = "empty"


class LabelSource(StrEnum):
    LEADING_WORD = "leading_word"  # decided by a leading yes/no
    KEYWORD = "keyword"  # decided by keywords / finding statements
    FALLBACK = "fallback"  # decided by the sign of the first-answer-token margin


@dataclass(frozen=True)
class ParsedAnswer:
    """A parsed answer: exactly one of ``label`` and ``exclusion`` is set, and ``source`` is set exactly
    when ``label`` is."""

    label: AnswerLabel | None
    exclusion: ExclusionReason | None
    source: LabelSource | None = None

    def __post_init__(self) -> None:
        if (self.label is None) == (self.exclusion is None):
            raise ValueError(
                f"exactly one of label and exclusion must be set: {self.label}, {self.exclusion}"
            )
        if (self.source is None) != (self.label is None):
            raise ValueError(f"source must be set exactly when label is: {self.label}, {self.source}")

    @property
    def is_excluded(self) -> bool:
        return self.exclusion is not None


_OPPOSITE = {AnswerLabel.YES: AnswerLabel.NO, AnswerLabel.NO: AnswerLabel.YES}
_CUE_LABELS = {
    Kind.AFFIRMATIVE: AnswerLabel.YES,
    Kind.REPORTING: AnswerLabel.YES,
    Kind.EXISTENTIAL: AnswerLabel.YES,
    Kind.NEGATIVE: AnswerLabel.NO,
    Kind.CLEAR_BEFORE: AnswerLabel.NO,
    Kind.NEG_EXISTENTIAL: AnswerLabel.NO,
    Kind.NO_WORD: AnswerLabel.NO,
}
_CLAUSE_NEGATORS = frozenset({Kind.NO_WORD, Kind.DET_NEGATOR, Kind.NEG_EXISTENTIAL})


@dataclass
class _Reader:
    """Walks the scanned tokens of one answer and collects the labels its clauses state."""

    words: int = 0
    scope: Kind | None = None  # the negator in force: NOT (for a few words) or a clause negator
    scope_end: int = -1  # last word a NOT scope reaches
    otherwise: bool = False
    subject_at: int | None = None
    strong: set[AnswerLabel] = field(default_factory=set)
    weak: set[AnswerLabel] = field(default_factory=set)
    found: set[AnswerLabel] = field(default_factory=set)

    def end_clause(self) -> None:
        self.found |= self.strong or self.weak
        self.strong, self.weak = set(), set()
        self.scope, self.scope_end, self.otherwise, self.subject_at = None, -1, False, None

    def step(self, kind: Kind) -> None:
        if kind is Kind.HARD:
            self.end_clause()
            return
        if kind is Kind.SOFT:
            self.scope = None if self.scope is Kind.NOT else self.scope
            return
        self.words += 1
        if kind is Kind.EXCEPT:
            self.end_clause()
            self.strong.add(AnswerLabel.YES)
        elif kind is Kind.OTHERWISE:
            self.otherwise = True
        elif kind is Kind.SUBJECT:
            self.subject_at = self.words
        elif kind is Kind.CLEAR:
            if self.subject_at is not None and self.words - self.subject_at <= CLEAR_WINDOW:
                self.add(AnswerLabel.NO, weak=False)
        elif kind in (Kind.NO_WORD, Kind.NEG_EXISTENTIAL):
            self.add(_CUE_LABELS[kind], weak=kind in WEAK_KINDS)
            self.scope = kind
        elif kind is Kind.DET_NEGATOR:
            self.scope = kind
        elif kind is Kind.NOT:
            self.scope, self.scope_end = kind, self.words + NOT_WINDOW
        elif kind in _CUE_LABELS:
            self.cue(_CUE_LABELS[kind], weak=kind in WEAK_KINDS)

    def cue(self, label: AnswerLabel, *, weak: bool) -> None:
        """A keyword, flipped inside a negation's scope. Under "no" / "without" only affirmative words flip:
        a negative word there starts a new predicate ("without effusion, heart size normal")."""
        negated = self.scope in _CLAUSE_NEGATORS or (self.scope is Kind.NOT and self.words <= self.scope_end)
        if negated and (self.scope is Kind.NOT or label is AnswerLabel.YES):
            label = _OPPOSITE[label]
            self.scope_end = self.words + NOT_WINDOW
        self.add(label, weak=weak)

    def add(self, label: AnswerLabel, *, weak: bool) -> None:
        if label is AnswerLabel.NO and self.otherwise:
            return
        (self.weak if weak else self.strong).add(label)


def _stated_labels(cleaned: str) -> set[AnswerLabel]:
    """The labels the clauses of ``cleaned`` state: empty, one, or both (a mixed answer)."""
    reader = _Reader()
    for match in TOKENS.finditer(cleaned):
        reader.step(Kind(match.lastgroup or Kind.WORD))
    reader.end_clause()
    return reader.found


def _parse_cleaned(cleaned: str) -> ParsedAnswer:
    if not cleaned:
        return ParsedAnswer(None, ExclusionReason.EMPTY)
    if CONDITIONAL.search(cleaned):
        return ParsedAnswer(None, ExclusionReason.CONDITIONAL)
    if HEDGE.search(cleaned):
        return ParsedAnswer(None, ExclusionReason.HEDGED)
    leading = LEADING.match(cleaned)
    if leading is not None:
        label = AnswerLabel(leading.group(1))
        if _OPPOSITE[label] in _stated_labels(cleaned[leading.end() :]):
            return ParsedAnswer(None, ExclusionReason.MIXED)
        return ParsedAnswer(label, None, LabelSource.LEADING_WORD)
    stated = _stated_labels(cleaned)
    if len(stated) > 1:
        return ParsedAnswer(None, ExclusionReason.MIXED)
    if stated:
        return ParsedAnswer(stated.pop(), None, LabelSource.KEYWORD)
    return ParsedAnswer(None, ExclusionReason.UNPARSEABLE)


def _decides(margin: float | None) -> TypeGuard[float]:
    """Whether a first-answer-token margin can label an answer: given, finite and non-zero."""
    return margin is not None and math.isfinite(margin) and margin != 0


def parse_answer(text: str, fallback_margin: float | None = None) -> ParsedAnswer:
    """Parse one generated answer:

    >>> parse_answer("The mediastinum is not widened.").label
    <AnswerLabel.NO: 'no'>
    >>> parse_answer("Possibly.", fallback_margin=1.2).exclusion
    <ExclusionReason.HEDGED: 'hedged'>
    >>> parse_answer("The patient is supine.", fallback_margin=-0.7).source
    <LabelSource.FALLBACK: 'fallback'>

    See the module docstring for the rules. ``fallback_margin`` is the yes-minus-no margin at the first
    answer token: when it is given, finite and non-zero, an answer that would be UNPARSEABLE or EMPTY is
    labelled by its sign (source FALLBACK).
    """
    parsed = _parse_cleaned(clean_text(text))
    fallback_applies = parsed.exclusion in (ExclusionReason.UNPARSEABLE, ExclusionReason.EMPTY)
    if fallback_applies and _decides(fallback_margin):
        label = AnswerLabel.YES if fallback_margin > 0 else AnswerLabel.NO
        return ParsedAnswer(label, None, LabelSource.FALLBACK)
    return parsed
