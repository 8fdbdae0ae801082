"""Reads multiple-choice items (`flipbank.multiple_choice.ChoiceItem`) from a JSON list, JSON Lines or CSV,
each problem reported with the file, the row and the field. Fields: ``item_id``, ``question``, the options
(a JSON list ``options``, or CSV columns ``option_A``, ``option_B``, … left to right, blanks ignored),
``gold`` (the option's letter, its 0-based index or its exact text) and an optional ``image`` (relative to
the file's folder; it must exist).

>>> import tempfile, pathlib
>>> folder = pathlib.Path(tempfile.mkdtemp())
>>> text = '{"item_id": "q1", "question": "Which finding?", "options": ["nodule", "effusion"], "gold": "B"}'
>>> _ = (folder / "items.jsonl").write_text(text + "\\n")
>>> [item] = read_choice_items(folder / "items.jsonl")
>>> item.options[item.gold]
'effusion'
"""

from __future__ import annotations

import csv
import io
import json
import string
from collections.abc import Iterator
from pathlib import Path

from pydantic import ValidationError

from flipbank.errors import RecordError
from flipbank.multiple_choice import ChoiceItem
from flipbank.row_fields import RowContext, describe_row
from flipbank.text_files import parse_json, read_utf8


def _options(context: RowContext) -> list[str]:
    if "options" in context.row:
        value = context.value("options")
        if isinstance(value, str):  # a CSV cell holding a JSON list
            try:
                value = json.loads(value)
            except json.JSONDecodeError:
                context.fail("options", "expected a JSON list of option texts")
        if not isinstance(value, list) or not all(isinstance(o, str) and o.strip() for o in value):
            context.fail("options", "expected a list of non-empty option texts")
        return [option.strip() for option in value]
    columns = [f"option_{letter}" for letter in string.ascii_uppercase]
    return [text for column in columns if (text := context.optional_text(column)) is not None]


def _gold(context: RowContext, options: list[str]) -> int:
    value = context.value("gold")
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < len(options):
        return value
    text = str(value).strip()
    letters = string.ascii_uppercase[: len(options)]
    if len(text) == 1 and text.upper() in letters:
        return letters.index(text.upper())
    if text.isdigit() and int(text) < len(options):
        return int(text)
    if text in options:
        return options.index(text)
    context.fail("gold", f"{value!r} is neither a letter in {letters}, an index nor an option's text")


def _item(context: RowContext, folder: Path) -> ChoiceItem:
    options = _options(context)
    if len(options) < 2:
        context.fail("options", f"needs at least two options, got {len(options)}")
    image = context.optional_text("image")
    if image is not None:
        image = context.image("image", folder)
    try:
        return ChoiceItem(
            item_id=context.identifier("item_id"),
            question=context.text("question"),
            options=options,
            gold=_gold(context, options),
            image=image,
        )
    except ValidationError as error:
        context.fail(None, "; ".join(str(e["msg"]) for e in error.errors()))


def _contexts(path: Path, text: str) -> Iterator[RowContext]:
    if path.suffix.lower() == ".csv":
        reader = csv.DictReader(io.StringIO(text, newline=""))
        for row in reader:
            yield RowContext(
                str(path), describe_row(reader.line_num, row.get("item_id"), "line", "item_id"), row
            )
        return
    if path.suffix.lower() == ".jsonl":
        rows = [(n, parse_json(path, line)) for n, line in enumerate(text.splitlines(), 1) if line.strip()]
    else:
        found = parse_json(path, text)
        if not isinstance(found, list):
            raise RecordError(str(path), "whole file", None, "expected a JSON list of items")
        rows = list(enumerate(found, 1))
    for number, entry in rows:
        if not isinstance(entry, dict):
            raise RecordError(str(path), f"row {number}", None, "expected an object")
        yield RowContext(str(path), describe_row(number, entry.get("item_id"), key="item_id"), entry)


def read_choice_items(path: str | Path) -> list[ChoiceItem]:
    """Every item of ``path`` (``.json``, ``.jsonl`` or ``.csv``); ids must be unique."""
    file = Path(path)
    items: list[ChoiceItem] = []
    seen: set[str] = set()
    for context in _contexts(file, read_utf8(file)):
        item = _item(context, file.parent)
        if item.item_id in seen:
            context.fail("item_id", f"duplicate item id {item.item_id!r}")
        seen.add(item.item_id)
        items.append(item)
    if not items:
        raise RecordError(str(file), "whole file", None, "no items")
    return items
