"""Small builders of mining-row frames for the metric tests."""

from __future__ import annotations

import math

import pandas as pd

PHENOMENA = (
    "lexical_substitution",
    "syntactic_restructuring",
    "negation_pattern",
    "scope_quantification",
    "specificity_modulation",
)


def mining_row(
    question_id: str,
    variant_index: int,
    answer: str | None,
    *,
    condition: str = "real",
    truth: str = "yes",
    phenomenon: str | None = None,
    margin: float | None = 0.0,
) -> dict[str, object]:
    """One mining row as a dict; `answer=None` is an excluded (hedged) answer, `margin=None` a row
    without scores."""
    if variant_index and phenomenon is None:
        phenomenon = PHENOMENA[(variant_index - 1) % len(PHENOMENA)]
    has_scores = margin is not None
    return {
        "question_id": question_id,
        "variant_index": variant_index,
        "prompt_text": f"prompt {question_id}/{variant_index}",
        "phenomenon": phenomenon if variant_index else None,
        "image_condition": condition,
        "image": None if condition == "none" else f"images/{question_id}.png",
        "ground_truth": truth,
        "finding": "pleural effusion",
        "question_type": "presence",
        "answer_text": answer.capitalize() + "." if answer else "Possibly.",
        "parsed_answer": answer,
        "exclusion_reason": None if answer else "hedged",
        "margin": margin if has_scores else math.nan,
        "p_yes": 0.4 if has_scores else math.nan,
        "p_no": 0.3 if has_scores else math.nan,
        "scores_available": has_scores,
    }


def question_rows(
    question_id: str,
    original: str | None,
    paraphrases: list[str | None],
    *,
    condition: str = "real",
    truth: str = "yes",
) -> list[dict[str, object]]:
    """The original (variant 0) and paraphrase rows of one question under one condition."""
    rows = [mining_row(question_id, 0, original, condition=condition, truth=truth)]
    for index, answer in enumerate(paraphrases, start=1):
        rows.append(mining_row(question_id, index, answer, condition=condition, truth=truth))
    return rows


def frame(*groups: list[dict[str, object]]) -> pd.DataFrame:
    return pd.DataFrame([row for group in groups for row in group])
