"""Margin-level consistency: the mean |original_margin − paraphrase_margin| over (original, paraphrase)
pairs, the LoRA paper's metric (1.63 → 0.33 logits on MedGemma-4B with targeted LoRA), with a bootstrap CI
over questions.
>>> rows = pd.DataFrame({
...     "question_id": ["a", "a", "a", "b", "b"], "variant_index": [0, 1, 2, 0, 1],
...     "image_condition": ["real"] * 5, "parsed_answer": ["yes", "yes", "no", "no", "no"],
...     "margin": [2.0, 1.0, -1.0, -0.5, -1.5], "scores_available": [True] * 5})
>>> estimate = mean_margin_difference(rows, image_condition="real")
>>> estimate.value, estimate.n
(1.5, 2)
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from flipbank.metrics import RateEstimate, estimate_rate
from flipbank.mining_frame import condition_rows, per_question_originals
from flipbank.statistics import DEFAULT_SEED


def mean_margin_difference(
    frame: pd.DataFrame, *, image_condition: str = "real", seed: int = DEFAULT_SEED
) -> RateEstimate:
    """Per question, the mean of |original_margin − paraphrase_margin| over its paraphrases; their mean over
    questions with a bootstrap CI (the same shape as a rate, in logits). Rows without scores
    (``scores_available`` false) are left out; questions left with no pair are ``n_excluded``."""
    rows = condition_rows(frame, image_condition, ["margin", "scores_available"])
    scored = rows.loc[rows["scores_available"].astype(bool)]
    originals = per_question_originals(scored, "margin")
    paraphrases = scored.loc[scored["variant_index"] > 0]
    gaps = (paraphrases["margin"] - paraphrases["question_id"].map(originals)).abs()
    per_question = gaps.groupby(paraphrases["question_id"]).mean().dropna()
    n_excluded = int(rows["question_id"].nunique() - len(per_question))
    values = per_question.to_numpy(dtype=np.float64)
    return estimate_rate(values, n_excluded, int((~rows["scores_available"].astype(bool)).sum()), seed)
