"""A multiple-choice demo set for the NOTA analysis: each item is one synthetic chest radiograph showing
exactly one drawable finding, asked "Which finding is present?" with that finding and three it does not
show as options (order seeded). Written as ``choices.jsonl`` plus images and read back by the real reader
(`flipbank.choice_io`), so the demo exercises the same path as a user's file.

>>> items = choice_entries(n_items=2, seed=0)
>>> items[0]["options"][items[0]["gold"]] == items[0]["finding"], len(items[0]["options"])
(True, 4)
"""

from __future__ import annotations

import json
import random
from pathlib import Path

from flipbank.radiographs import DRAWABLE_FINDINGS, render_radiograph

CHOICES_FILE = "choices.jsonl"
QUESTION = "Which finding is present in this chest radiograph?"
#: Options per item: the finding shown and this many minus one that are not.
OPTIONS_PER_ITEM = 4


def choice_entries(n_items: int, seed: int) -> list[dict[str, object]]:
    """``n_items`` items, findings in turn; distractors and option order drawn from ``seed``."""
    rng = random.Random(seed)
    entries = []
    for index in range(n_items):
        finding = DRAWABLE_FINDINGS[index % len(DRAWABLE_FINDINGS)]
        others = rng.sample([f for f in DRAWABLE_FINDINGS if f != finding], OPTIONS_PER_ITEM - 1)
        options = [finding, *others]
        rng.shuffle(options)
        entries.append(
            {
                "item_id": f"choice-{index + 1:03d}",
                "question": QUESTION,
                "options": options,
                "gold": options.index(finding),
                "image": f"images/choice-{index + 1:03d}.png",
                "finding": finding,
                "seed": 60_000 + index,
            }
        )
    return entries


def write_choice_set(folder: str | Path, n_items: int = 48, seed: int = 0) -> Path:
    """Render the items' images and write ``choices.jsonl`` into ``folder``; returns the file's path."""
    root = Path(folder)
    (root / "images").mkdir(parents=True, exist_ok=True)
    entries = choice_entries(n_items, seed)
    for entry in entries:
        picture = render_radiograph(frozenset({str(entry["finding"])}), int(str(entry["seed"])))
        picture.image.save(root / str(entry["image"]))
    fields = ("item_id", "question", "options", "gold", "image")
    lines = [json.dumps({key: entry[key] for key in fields}) for entry in entries]
    path = root / CHOICES_FILE
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path
