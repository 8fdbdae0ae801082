"""Builds the prompt pairs the causal experiments run on: FlipBank cases, and non-flip control pairs taken
from the same mining rows, each a `PromptPair` carrying its question, phenomenon, flip and clean margins,
with the grouping labels beside them as a frame."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd

from experiments.steps.mining import ImageLoader
from flipbank.curation import answer_pairs
from flipbank.records import FlipCase, QuestionRecord
from flipbank.sampling import stratified_sample
from interp.prompt_pair import PromptPair
from interp.prompts import PromptInput


@dataclass(frozen=True)
class LabelledPairs:
    """Pairs with their clean margins and labels (finding, phenomenon, direction) as a frame."""

    pairs: list[PromptPair]
    labels: pd.DataFrame


def _prompt(text: str, image: str | None, load: ImageLoader | None) -> PromptInput:
    return PromptInput(text, None if load is None or image is None else load(image))


def flipbank_pairs(cases: Sequence[FlipCase], load: ImageLoader | None) -> LabelledPairs:
    """One pair per FlipBank case; images are attached when ``load`` is given (multimodal models)."""
    pairs = [
        PromptPair(
            _prompt(c.original_question, c.image, load),
            _prompt(c.paraphrase, c.image, load),
            question_id=c.question_id,
            phenomenon=c.phenomenon.value,
            flipped=True,
            original_margin=c.original_margin,
            paraphrase_margin=c.paraphrase_margin,
        )
        for c in cases
    ]
    labels = pd.DataFrame(
        {
            "question_id": [c.question_id for c in cases],
            "finding": [c.finding or "unknown" for c in cases],
            "phenomenon": [c.phenomenon.value for c in cases],
            "direction": [c.direction for c in cases],
            "original_margin": [c.original_margin for c in cases],
            "paraphrase_margin": [c.paraphrase_margin for c in cases],
        }
    )
    return LabelledPairs(pairs, labels)


def non_flip_pairs(
    rows: pd.DataFrame,
    questions: Sequence[QuestionRecord],
    image_condition: str,
    load: ImageLoader | None,
    limit: int,
    seed: int,
) -> LabelledPairs:
    """Up to ``limit`` pairs whose parsed answers agree (the patching control of PSF-Med): a seeded random
    sample stratified by phenomenon and answer, the same for the same rows and seed."""
    joined = answer_pairs(rows, image_condition)
    same = joined[
        joined["parsed_answer"].notna() & (joined["parsed_answer"] == joined["parsed_answer_original"])
    ].reset_index(drop=True)
    strata = list(zip(same["phenomenon"], same["parsed_answer"], strict=True))
    same = same.iloc[stratified_sample(strata, limit, seed)]
    images = {question.question_id: question.image for question in questions}
    pairs = [
        PromptPair(
            _prompt(row.prompt_text_original, images[row.question_id], load),
            _prompt(row.prompt_text, images[row.question_id], load),
            question_id=row.question_id,
            phenomenon=row.phenomenon,
            flipped=False,
            original_margin=row.margin_original,
            paraphrase_margin=row.margin,
        )
        for row in same.itertuples(index=False)
    ]
    labels = pd.DataFrame(
        {
            "question_id": list(same["question_id"]),
            "finding": list(same["finding"].fillna("unknown")),
            "phenomenon": list(same["phenomenon"]),
            "direction": "none",
            "original_margin": list(same["margin_original"]),
            "paraphrase_margin": list(same["margin"]),
        }
    )
    return LabelledPairs(pairs, labels)
