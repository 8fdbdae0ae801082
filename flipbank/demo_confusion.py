"""A synthetic MediConfusion-format set from the demo's radiographs: each pair is one chest (same seed, same
anatomy and noise) drawn with and without one finding, asked the same two-option question, so the right
letter differs between the two images. Written as ``dataset.json`` plus images, read back by the real
MediConfusion reader (`flipbank.mediconfusion`).

>>> entries = confusion_entries(n_pairs=2, seed=0)
>>> sorted(entries["50001"])[:3], entries["50001"]["im_1_correct"] != entries["50001"]["im_2_correct"]
(['AI_option_A', 'AI_option_B', 'AI_question'], True)
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import cast

from flipbank.radiographs import DRAWABLE_FINDINGS, render_radiograph

DATASET_FILE = "dataset.json"
#: MediConfusion-like categories of the drawable findings.
CATEGORIES = {
    "cardiomegaly": ["heart"],
    "enlarged cardiomediastinum": ["heart", "mediastinum"],
    "edema": ["lung"],
    "consolidation": ["lung"],
    "atelectasis": ["lung"],
    "lung lesion": ["lung", "mass"],
    "pleural effusion": ["pleura"],
    "pneumothorax": ["pleura"],
    "support devices": ["devices"],
}
QUESTION = "Which statement describes this chest radiograph?"


def _entry(index: int, finding: str, present_first: bool, others: frozenset[str]) -> dict[str, object]:
    option_a, option_b = f"It shows {finding}.", f"It shows no {finding}."
    first, second = ("A", "B") if present_first else ("B", "A")
    names = (f"images/{index}_1.png", f"images/{index}_2.png")
    return {
        "im_1": names[0],
        "im_2": names[1],
        "im_1_local": names[0],
        "im_2_local": names[1],
        "cap_1": "synthetic radiograph",
        "cap_2": "synthetic radiograph",
        "category_1": CATEGORIES[finding],
        "category_2": CATEGORIES[finding],
        "question": QUESTION,
        "option_A": option_a,
        "option_B": option_b,
        "im_1_correct": first,
        "im_2_correct": second,
        "AI_question": QUESTION,
        "AI_option_A": option_a,
        "AI_option_B": option_b,
        "findings_1": sorted(others | {finding}) if present_first else sorted(others),
        "findings_2": sorted(others) if present_first else sorted(others | {finding}),
        "seed": 50_000 + index,
    }


def confusion_entries(n_pairs: int, seed: int) -> dict[str, dict[str, object]]:
    """``n_pairs`` pairs keyed "50001"…, findings in turn, which image shows the finding seeded; each chest
    may also show other findings, the same on both images."""
    rng = random.Random(seed)
    entries: dict[str, dict[str, object]] = {}
    for index in range(1, n_pairs + 1):
        finding = DRAWABLE_FINDINGS[(index - 1) % len(DRAWABLE_FINDINGS)]
        others = frozenset(f for f in DRAWABLE_FINDINGS if f != finding and rng.random() < 0.15)
        entries[str(50_000 + index)] = _entry(index, finding, rng.random() < 0.5, others)
    return entries


def write_confusion_set(folder: str | Path, n_pairs: int = 36, seed: int = 0) -> Path:
    """Render the pairs' images and write ``dataset.json`` into ``folder``; returns the dataset path."""
    root = Path(folder)
    (root / "images").mkdir(parents=True, exist_ok=True)
    entries = confusion_entries(n_pairs, seed)
    for entry in entries.values():
        for side in ("1", "2"):
            findings = frozenset(cast(list[str], entry[f"findings_{side}"]))
            picture = render_radiograph(findings, cast(int, entry["seed"]))
            picture.image.save(root / str(entry[f"im_{side}_local"]))
    path = root / DATASET_FILE
    path.write_text(json.dumps(entries, indent=1), encoding="utf-8")
    return path
