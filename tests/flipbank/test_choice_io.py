"""Multiple-choice items from JSON, JSON Lines and CSV, with every problem located; the demo choice set."""

import json
from pathlib import Path

import pytest

from flipbank.choice_io import read_choice_items
from flipbank.demo_choices import choice_entries, write_choice_set
from flipbank.errors import RecordError


def test_json_jsonl_and_csv_read_alike(tmp_path: Path) -> None:
    (tmp_path / "a.png").write_bytes(b"not read here")
    items = [
        {"item_id": "q1", "question": "Which?", "options": ["nodule", "edema", "mass"], "gold": "C"},
        {"item_id": 2, "question": "Which?", "options": ["nodule", "edema"], "gold": 0, "image": "a.png"},
        {"item_id": "q3", "question": "Which?", "options": ["nodule", "edema"], "gold": "edema"},
    ]
    (tmp_path / "items.json").write_text(json.dumps(items))
    (tmp_path / "items.jsonl").write_text("\n".join(json.dumps(item) for item in items) + "\n")
    (tmp_path / "items.csv").write_text(
        "item_id,question,option_A,option_B,option_C,gold,image\n"
        "q1,Which?,nodule,edema,mass,C,\n2,Which?,nodule,edema,,0,a.png\nq3,Which?,nodule,edema,,edema,\n"
    )
    read = [read_choice_items(tmp_path / name) for name in ("items.json", "items.jsonl", "items.csv")]
    assert read[0] == read[1] == read[2]
    first, second, third = read[0]
    assert first.gold == 2 and second.item_id == "2" and third.gold == 1
    assert second.image == str(tmp_path / "a.png") and first.image is None


@pytest.mark.parametrize(
    ("item", "field", "reason"),
    [
        ({"question": "Which?", "options": ["a", "b"], "gold": 0}, "item_id", "missing field"),
        ({"item_id": "q", "question": "Which?", "options": ["a"], "gold": 0}, "options", "at least two"),
        ({"item_id": "q", "question": "Which?", "options": ["a", "b"], "gold": "D"}, "gold", "neither"),
        (
            {"item_id": "q", "question": "Which?", "options": ["a", "b"], "gold": 0, "image": "x.png"},
            "image",
            "not found",
        ),
        ({"item_id": "q", "question": " ", "options": ["a", "b"], "gold": 0}, "question", "empty"),
    ],
)
def test_a_bad_item_names_file_row_and_field(tmp_path: Path, item: dict, field: str, reason: str) -> None:
    good = {"item_id": "ok", "question": "Which?", "options": ["a", "b"], "gold": 1}
    path = tmp_path / "items.jsonl"
    path.write_text(json.dumps(good) + "\n" + json.dumps(item) + "\n")
    with pytest.raises(RecordError) as caught:
        read_choice_items(path)
    assert caught.value.field == field and reason in caught.value.reason
    assert "row 2" in str(caught.value) and "items.jsonl" in str(caught.value)


def test_duplicate_ids_and_empty_files_are_refused(tmp_path: Path) -> None:
    item = {"item_id": "q", "question": "Which?", "options": ["a", "b"], "gold": 0}
    path = tmp_path / "items.json"
    path.write_text(json.dumps([item, item]))
    with pytest.raises(RecordError, match="duplicate item id"):
        read_choice_items(path)
    path.write_text("[]")
    with pytest.raises(RecordError, match="no items"):
        read_choice_items(path)


def test_the_demo_choice_set_shows_exactly_the_gold_finding(tmp_path: Path) -> None:
    entries = choice_entries(n_items=9, seed=3)
    assert all(entry["options"][entry["gold"]] == entry["finding"] for entry in entries)  # type: ignore[index]
    assert len({entry["finding"] for entry in entries}) == 9  # each drawable finding once
    assert choice_entries(n_items=9, seed=3) == entries
    items = read_choice_items(write_choice_set(tmp_path, n_items=2, seed=3))
    assert [item.item_id for item in items] == ["choice-001", "choice-002"]
    assert all(Path(str(item.image)).is_file() for item in items)
