"""Reading (original, paraphrase) pairs for feature ranking from a PSF-Med MIMIC-format JSON file (one pair
per paraphrase, always against the question's original), as the workbench's one pair type
(`interp.prompt_pair.PromptPair`)."""

from __future__ import annotations

import json
from pathlib import Path

from interp.prompt_pair import PromptPair
from interp.prompts import PromptInput


def pairs_from_psf_json(path: str | Path) -> list[PromptPair]:
    """Every (original, paraphrase) pair of a PSF-Med MIMIC-format file (rows under ``results``), text-only;
    pair ids are ``{question_id}/{paraphrase index}``."""
    rows = json.loads(Path(path).read_text())["results"]
    pairs: list[PromptPair] = []
    for row in rows:
        for index, paraphrase in enumerate(row["paraphrases"]):
            pairs.append(
                PromptPair(
                    original=PromptInput(str(row["original_question"])),
                    paraphrase=PromptInput(str(paraphrase["text"])),
                    pair_id=f"{row['question_id']}/{index}",
                    question_id=str(row["question_id"]),
                    phenomenon=str(paraphrase["phenomenon"]),
                )
            )
    return pairs
