"""MediConfusion: the reader on a small file written here (bad fields, a missing and an unreadable image are
skipped with their pair id), letter parsing, and the scores worked out by hand."""

import doctest
import json
from pathlib import Path

import pytest
from PIL import Image

import flipbank.mediconfusion
from flipbank.errors import RecordError
from flipbank.mediconfusion import ConfusionAnswers, parse_letter, read_mediconfusion, score_pairs


def _entry(first: str, second: str, **changes: object) -> dict[str, object]:
    entry: dict[str, object] = {
        "im_1_local": first,
        "im_2_local": second,
        "question": "Which finding is shown?",
        "option_A": "an effusion",
        "option_B": "a pneumothorax",
        "im_1_correct": "A",
        "im_2_correct": "B",
        "category_1": ["pleura"],
        "category_2": ["pleura", "lung"],
    }
    entry.update(changes)
    return entry


def test_the_reader_skips_bad_pairs_naming_them(tmp_path: Path) -> None:
    for name in ("a.png", "b.png", "c.png"):
        Image.new("RGB", (8, 8)).save(tmp_path / name)
    (tmp_path / "broken.png").write_text("not an image")
    dataset = {
        "10001": _entry("a.png", "b.png"),
        "10002": _entry("a.png", "missing.png"),
        "10003": _entry("c.png", "broken.png"),
        "10004": _entry("a.png", "c.png", im_2_correct="A"),
        "10005": _entry("a.png", "c.png", option_B=""),
    }
    path = tmp_path / "dataset.json"
    path.write_text(json.dumps(dataset))
    read = read_mediconfusion(path, tmp_path)
    assert [pair.pair_id for pair in read.pairs] == ["10001"]
    assert read.pairs[0].categories_2 == ("pleura", "lung")
    reasons = [skipped.describe() for skipped in read.skipped]
    assert "pair 10002, field 'im_2_local': image not found" in reasons[0]
    assert "pair 10003, field 'im_2_local': not a readable image" in reasons[1]
    assert "pair 10004, field 'im_2_correct': the two images must have different answers" in reasons[2]
    assert "pair 10005, field 'option_B': missing or empty" in reasons[3]
    path.write_text("[1, 2]")
    with pytest.raises(RecordError, match="expected a JSON object of pairs"):
        read_mediconfusion(path, tmp_path)


def test_letters_are_parsed_and_both_letters_are_invalid() -> None:
    assert parse_letter("B") == "B" and parse_letter("(A) an effusion") == "A"
    assert parse_letter("B: a pneumothorax") == "B"  # the article is not a letter
    assert parse_letter("Answer: B. A pneumothorax") is None  # both letters stand alone
    assert parse_letter("Both are possible") is None and parse_letter("Bilateral") is None


def test_scores_by_hand() -> None:
    answers = [
        ConfusionAnswers("1", "A", "B", "A", "B", ("pleura",), ("pleura", "lung")),  # both right
        ConfusionAnswers("2", "A", "A", "A", "B", ("lung",), ("lung",)),  # one right, confused
        ConfusionAnswers("3", None, "B", "B", "A", ("heart",), ("heart",)),  # invalid, wrong
        ConfusionAnswers("4", "B", "A", "A", "B", (), ()),  # both wrong, not confused
    ]
    scores = score_pairs(answers)
    assert scores.n_pairs == 4 and scores.set_accuracy == 0.25
    assert scores.individual_accuracy == 3 / 8  # right images: 1, 1, 0+0, 0 → 2 + 1 = 3
    assert scores.confusion == pytest.approx(1 / 3)  # pairs 1, 2, 4 are valid; only 2 repeats its letter
    assert scores.invalid_rate == 1 / 8
    assert scores.per_category == {"heart": (0.0, 2), "lung": (2 / 3, 3), "pleura": (1.0, 2)}


def test_the_docstring_example_runs() -> None:
    assert doctest.testmod(flipbank.mediconfusion).failed == 0
