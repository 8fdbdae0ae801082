"""MediConfusion (ICLR 2025): pairs of images that should get different answers to the same two-option
question. The reader takes its ``dataset.json`` and a local image folder (images under their
``im_*_local`` names; a pair whose image is missing or unreadable is skipped and reported with its id);
the metrics are exactly the benchmark's: set accuracy (both images right), individual accuracy, confusion
(the same valid letter for both images, over pairs with both answers valid), invalid rate, and per category
(an image counts for each of its categories). Random guessing gives 25 % set accuracy and 50 % confusion.

>>> score_pairs([ConfusionAnswers("1", "A", "B", "A", "B", ("x",), ("x",))]).set_accuracy
1.0
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from PIL import Image, UnidentifiedImageError

from flipbank.errors import RecordError, SkippedRecord

Letter = str  # "A" or "B"
#: The benchmark's answering modes (free-form with a judge is out of scope offline).
ConfusionMode = Literal["greedy", "mc", "prefix"]
CONFUSION_MODES: tuple[ConfusionMode, ...] = ("greedy", "mc", "prefix")
#: Tokens of a greedy answer in the ``mc`` mode.
MC_ANSWER_TOKENS = 32
LETTERS = ("A", "B")
RANDOM_SET_ACCURACY = 0.25
RANDOM_CONFUSION = 0.5
_FIELDS = ("im_1_local", "im_2_local", "question", "option_A", "option_B", "im_1_correct", "im_2_correct")


@dataclass(frozen=True)
class ConfusionPair:
    """One MediConfusion pair: two images asked the same question with options A and B."""

    pair_id: str
    image_1: Path
    image_2: Path
    question: str
    option_a: str
    option_b: str
    correct_1: Letter
    correct_2: Letter
    categories_1: tuple[str, ...]
    categories_2: tuple[str, ...]


@dataclass(frozen=True)
class ConfusionRead:
    """The readable pairs and the pairs skipped, each with why."""

    pairs: list[ConfusionPair]
    skipped: list[SkippedRecord]


def _image_problem(path: Path) -> str | None:
    if not path.is_file():
        return f"image not found: {path}"
    try:
        with Image.open(path) as picture:
            picture.verify()
    except (UnidentifiedImageError, OSError) as error:
        return f"not a readable image: {path} ({type(error).__name__})"
    return None


def _pair(file: str, pair_id: str, entry: dict[str, object], images: Path) -> ConfusionPair:
    location = f"pair {pair_id}"
    for field in _FIELDS:
        if not isinstance(entry.get(field), str) or not str(entry[field]).strip():
            raise RecordError(file, location, field, "missing or empty")
    correct = (str(entry["im_1_correct"]).strip(), str(entry["im_2_correct"]).strip())
    for field, letter in zip(("im_1_correct", "im_2_correct"), correct, strict=True):
        if letter not in LETTERS:
            raise RecordError(file, location, field, f"must be 'A' or 'B', not {letter!r}")
    if correct[0] == correct[1]:
        raise RecordError(file, location, "im_2_correct", "the two images must have different answers")
    paths = (images / str(entry["im_1_local"]), images / str(entry["im_2_local"]))
    for field, path in zip(("im_1_local", "im_2_local"), paths, strict=True):
        problem = _image_problem(path)
        if problem is not None:
            raise RecordError(file, location, field, problem)
    return ConfusionPair(
        pair_id,
        paths[0],
        paths[1],
        str(entry["question"]),
        str(entry["option_A"]),
        str(entry["option_B"]),
        correct[0],
        correct[1],
        _categories(entry.get("category_1")),
        _categories(entry.get("category_2")),
    )


def _categories(value: object) -> tuple[str, ...]:
    return tuple(str(item) for item in value) if isinstance(value, list) else ()


def read_mediconfusion(dataset: str | Path, images: str | Path) -> ConfusionRead:
    """Every pair of ``dataset`` (MediConfusion's ``dataset.json``) whose fields are valid and whose two
    images open under ``images``; the others are skipped, never a crash. A file that is not a JSON object
    of pairs is a `RecordError`."""
    path = Path(dataset)
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise RecordError(path.name, f"line {error.lineno}, column {error.colno}", None, error.msg) from None
    if not isinstance(document, dict):
        raise RecordError(path.name, "whole file", None, "expected a JSON object of pairs keyed by pair id")
    pairs, skipped = [], []
    for pair_id, entry in document.items():
        try:
            if not isinstance(entry, dict):
                raise RecordError(path.name, f"pair {pair_id}", None, "not an object")
            pairs.append(_pair(path.name, str(pair_id), entry, Path(images)))
        except RecordError as error:
            skipped.append(SkippedRecord.from_error(error))
    return ConfusionRead(pairs, skipped)


def parse_letter(text: str) -> Letter | None:
    """The option letter of a free answer ("B", "(A)", "Answer: B. …"): a standalone capital (a lower-case
    "a" is an article); None (invalid) when neither or both letters stand alone in it."""
    found = set(re.findall(r"(?<![A-Za-z])([AB])(?![A-Za-z])", text))
    return found.pop() if len(found) == 1 else None


@dataclass(frozen=True)
class ConfusionAnswers:
    """A pair's answers (None: invalid) next to its correct letters and categories."""

    pair_id: str
    answer_1: Letter | None
    answer_2: Letter | None
    correct_1: Letter
    correct_2: Letter
    categories_1: tuple[str, ...] = ()
    categories_2: tuple[str, ...] = ()


@dataclass(frozen=True)
class ConfusionScores:
    """MediConfusion's metrics over ``n_pairs`` pairs; ``per_category`` holds each category's individual
    accuracy and its number of images."""

    n_pairs: int
    set_accuracy: float
    individual_accuracy: float
    confusion: float
    invalid_rate: float
    per_category: dict[str, tuple[float, int]]


def score_pairs(answers: Sequence[ConfusionAnswers]) -> ConfusionScores:
    """Set accuracy = pairs with both images right / pairs; individual accuracy = right images / images;
    confusion = pairs whose two valid answers are the same letter / pairs with both answers valid; invalid
    rate = invalid answers / images. NaN where a denominator is zero."""
    nan = float("nan")
    n = len(answers)
    right = [(a.answer_1 == a.correct_1, a.answer_2 == a.correct_2) for a in answers]
    valid = [a for a in answers if a.answer_1 is not None and a.answer_2 is not None]
    invalid = sum((a.answer_1 is None) + (a.answer_2 is None) for a in answers)
    category_hits: dict[str, list[bool]] = {}
    for answer, (first, second) in zip(answers, right, strict=True):
        for categories, hit in ((answer.categories_1, first), (answer.categories_2, second)):
            for category in categories:
                category_hits.setdefault(category, []).append(hit)
    return ConfusionScores(
        n_pairs=n,
        set_accuracy=sum(a and b for a, b in right) / n if n else nan,
        individual_accuracy=sum(a + b for a, b in right) / (2 * n) if n else nan,
        confusion=sum(a.answer_1 == a.answer_2 for a in valid) / len(valid) if valid else nan,
        invalid_rate=invalid / (2 * n) if n else nan,
        per_category={c: (sum(h) / len(h), len(h)) for c, h in sorted(category_hits.items())},
    )
