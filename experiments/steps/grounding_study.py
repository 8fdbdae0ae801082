"""Where the model looks (PSF-Med Table 4): for each question whose finding has a box on its image, the
attention of the original prompt's last position to the image tokens (`interp.attention_maps`), scored
against the box (`flipbank.grounding`); then flip vs no-flip questions compared, each score's mean with a
bootstrap CI, the relative difference and a two-sample permutation test."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict

import numpy as np
import pandas as pd
from PIL import Image

from flipbank.grounding import DEFAULT_PERCENTILE, Box, grounding_scores
from flipbank.records import QuestionRecord
from flipbank.statistics import bootstrap_mean_ci, two_sample_permutation_test
from interp.attention_maps import attention_heatmap, image_attention
from interp.handle import ModelHandle
from interp.prompts import PromptInput, PromptTemplate

SCORES = ("coverage", "precision", "mass_in_box", "pointing_hit")


def boxed_questions(
    questions: Sequence[QuestionRecord], boxes: Mapping[tuple[str, str], Box]
) -> list[tuple[QuestionRecord, Box]]:
    """The questions whose finding has a box on their image (a "no" answer usually has none)."""
    return [
        (question, boxes[question.image, question.finding])
        for question in questions
        if question.finding is not None and (question.image, question.finding) in boxes
    ]


def grounding_rows(
    handle: ModelHandle,
    boxed: Sequence[tuple[QuestionRecord, Box]],
    template: PromptTemplate,
    load: Callable[[str], Image.Image],
    percentile: float = DEFAULT_PERCENTILE,
    batch_size: int = 8,
) -> pd.DataFrame:
    """One row per boxed question: its grounding scores on the original question with the real image."""
    rows = []
    for start in range(0, len(boxed), batch_size):
        batch = boxed[start : start + batch_size]
        pictures = [load(question.image) for question, _ in batch]
        prompts = [PromptInput(q.original_question, p) for (q, _), p in zip(batch, pictures, strict=True)]
        weights = image_attention(handle, prompts, template)
        for (question, box), picture, row in zip(batch, pictures, weights, strict=True):
            heat = attention_heatmap(row, image_size=picture.size[0])
            scores = grounding_scores(heat, box, percentile)
            rows.append({"question_id": question.question_id, "finding": question.finding, **asdict(scores)})
    return pd.DataFrame(rows)


def flip_grounding_table(scores: pd.DataFrame, flipped: pd.Series, seed: int = 0) -> pd.DataFrame:
    """Per score: mean and CI for flip and no-flip questions, the flip group's relative difference
    ((flip − no flip) / no flip) and the permutation test's p-value."""
    joined = scores.set_index("question_id").join(flipped.rename("flipped"), how="inner")
    table = []
    for score in SCORES:
        groups = {
            "flip": joined.loc[joined["flipped"], score].to_numpy(dtype=np.float64),
            "no flip": joined.loc[~joined["flipped"], score].to_numpy(dtype=np.float64),
        }
        test = two_sample_permutation_test(groups["flip"], groups["no flip"], seed=seed)
        base = float(groups["no flip"].mean()) if groups["no flip"].size else float("nan")
        relative = test.difference / base if base else float("nan")
        for group, values in groups.items():
            interval = bootstrap_mean_ci(values, seed=seed)
            table.append(
                {
                    "metric": score,
                    "group": group,
                    "value": float(values.mean()) if values.size else float("nan"),
                    "ci_low": interval.low,
                    "ci_high": interval.high,
                    "n": int(values.size),
                    "relative_difference": relative,
                    "p_value": test.p_value,
                }
            )
    return pd.DataFrame(table)
