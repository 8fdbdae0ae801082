"""Owns the (original, paraphrase) pair that feature ranking works on, and reading such pairs from a PSF-Med
MIMIC-format JSON file (one pair per paraphrase, always against the question's original)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from PIL import Image


@dataclass(frozen=True)
class PromptPair:
    """One paraphrase against its original. ``flipped`` is the parsed-answer flip when flip mining knows it;
    margins, when already measured, spare the ranking a full forward pass (it then stops at the SAE's
    layer)."""

    pair_id: str
    question_id: str
    original: str
    paraphrase: str
    phenomenon: str
    image: Image.Image | None = None
    flipped: bool | None = None
    original_margin: float | None = None
    paraphrase_margin: float | None = None

    @property
    def has_margins(self) -> bool:
        return self.original_margin is not None and self.paraphrase_margin is not None


def pairs_from_psf_json(path: str | Path) -> list[PromptPair]:
    """Every (original, paraphrase) pair of a PSF-Med MIMIC-format file (rows under ``results``), text-only;
    pair ids are ``{question_id}/{paraphrase index}``."""
    rows = json.loads(Path(path).read_text())["results"]
    pairs: list[PromptPair] = []
    for row in rows:
        for index, paraphrase in enumerate(row["paraphrases"]):
            pairs.append(
                PromptPair(
                    pair_id=f"{row['question_id']}/{index}",
                    question_id=str(row["question_id"]),
                    original=str(row["original_question"]),
                    paraphrase=str(paraphrase["text"]),
                    phenomenon=str(paraphrase["phenomenon"]),
                )
            )
    return pairs
