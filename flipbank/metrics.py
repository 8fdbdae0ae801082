"""Robustness metrics over a DataFrame of mining rows: flip rates (asymmetric,
pairwise, by phenomenon, by paraphrase count), text-only agreement, swap sensitivity, accuracy."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from flipbank.mining_frame import (
    answer_codes,
    condition_rows,
    first_paraphrases,
    per_question_originals,
)
from flipbank.records import Phenomenon
from flipbank.statistics import (
    DEFAULT_SEED,
    ConfidenceInterval,
    bootstrap_mean_ci,
    bootstrap_ratio_ci,
)

# Excluded answers (hedged, mixed, ...) are never guessed: they are left out and counted. The
# four-quadrant taxonomy is in `flipbank.quadrants`.


@dataclass(frozen=True)
class RateEstimate:
    """A rate over units (questions, pairs or rows). `n` units were counted; `n_excluded` could not
    be, because an answer they need was excluded (hedged, mixed, ...) or missing;
    `excluded_answers` counts the excluded answers among the rows considered. `value` and `ci` are
    NaN when n == 0."""

    value: float
    n: int
    n_excluded: int
    excluded_answers: int
    ci: ConfidenceInterval

    @property
    def exclusion_rate(self) -> float:
        total = self.n + self.n_excluded
        return self.n_excluded / total if total else math.nan


def estimate_rate(
    indicators: ArrayLike, n_excluded: int, excluded_answers: int, seed: int = DEFAULT_SEED
) -> RateEstimate:
    """The mean of 0/1 indicators with its bootstrap CI."""
    values = np.asarray(indicators, dtype=np.float64)
    value = float(values.mean()) if values.size else math.nan
    ci = bootstrap_mean_ci(values, seed=seed)
    return RateEstimate(value, int(values.size), int(n_excluded), int(excluded_answers), ci)


def question_flips(rows: pd.DataFrame, paraphrases: pd.DataFrame) -> pd.DataFrame:
    """One row per question that has at least one of the given paraphrase rows, indexed by
    question_id: `evaluable` (the original and at least one paraphrase parsed), `flipped` (some
    parsed paraphrase differs from the parsed original) and `excluded_answers`."""
    originals = per_question_originals(rows, "answer")
    selected = paraphrases[["question_id", "answer"]]
    original = selected["question_id"].map(originals)
    usable = selected["answer"].notna() & original.notna()
    marked = selected.assign(
        usable=usable,
        differs=usable & (selected["answer"] != original),
        excluded=selected["answer"].isna(),
    )
    table = marked.groupby("question_id", sort=True).agg(
        usable=("usable", "sum"), flipped=("differs", "any"), excluded=("excluded", "sum")
    )
    has_original = table.index.isin(originals.index)
    original_excluded = has_original & table.index.map(originals).isna()
    table["evaluable"] = table.index.map(originals).notna() & (table["usable"] > 0)
    table["excluded_answers"] = table["excluded"] + original_excluded.astype(int)
    return table[["evaluable", "flipped", "excluded_answers"]]


def _flip_estimate(table: pd.DataFrame, seed: int) -> RateEstimate:
    evaluable = table.loc[table["evaluable"]]
    n_excluded = int((~table["evaluable"]).sum())
    return estimate_rate(
        evaluable["flipped"].to_numpy(dtype=float), n_excluded, int(table["excluded_answers"].sum()), seed
    )


def flip_rate(
    frame: pd.DataFrame,
    *,
    image_condition: str = "real",
    paraphrase_count: int | None = None,
    phenomenon: Phenomenon | str | None = None,
    seed: int = DEFAULT_SEED,
) -> RateEstimate:
    """Asymmetric flip rate: the fraction of questions where any parsed paraphrase gets a different
    parsed answer than the parsed original, under one image condition.

    A question counts when its original and at least one of its paraphrases parsed; otherwise it
    is in `n_excluded` (an excluded paraphrase never counts as a flip). `paraphrase_count=k` uses
    each question's first k paraphrases and only questions that have at least k; `phenomenon` uses
    only paraphrases of that phenomenon and only questions that have one."""
    rows = condition_rows(frame, image_condition, ["phenomenon"])
    paraphrases = first_paraphrases(rows, paraphrase_count)
    if paraphrase_count is not None:
        available = rows.loc[rows["variant_index"] > 0].groupby("question_id").size()
        enough = available.index[available >= paraphrase_count]
        paraphrases = paraphrases.loc[paraphrases["question_id"].isin(enough)]
    if phenomenon is not None:
        paraphrases = paraphrases.loc[paraphrases["phenomenon"] == Phenomenon(phenomenon).value]
    return _flip_estimate(question_flips(rows, paraphrases), seed)


def flip_rate_by_phenomenon(
    frame: pd.DataFrame, *, image_condition: str = "real", seed: int = DEFAULT_SEED
) -> dict[Phenomenon, RateEstimate]:
    """`flip_rate` per phenomenon present in the frame (in the order of `Phenomenon`)."""
    rows = condition_rows(frame, image_condition, ["phenomenon"])
    present = set(rows["phenomenon"].dropna().astype(str))
    return {
        phenomenon: flip_rate(frame, image_condition=image_condition, phenomenon=phenomenon, seed=seed)
        for phenomenon in Phenomenon
        if phenomenon.value in present
    }


def flip_rate_by_paraphrase_count(
    frame: pd.DataFrame, *, image_condition: str = "real", seed: int = DEFAULT_SEED
) -> dict[int, RateEstimate]:
    """`flip_rate` with the first k paraphrases, for k = 1 .. the largest paraphrase count."""
    rows = condition_rows(frame, image_condition, [])
    counts = rows.loc[rows["variant_index"] > 0].groupby("question_id").size()
    largest = int(counts.max()) if len(counts) else 0
    return {
        count: flip_rate(frame, image_condition=image_condition, paraphrase_count=count, seed=seed)
        for count in range(1, largest + 1)
    }


def pairwise_disagreement_rate(
    frame: pd.DataFrame, *, image_condition: str = "real", seed: int = DEFAULT_SEED
) -> RateEstimate:
    """Symmetric rate: the fraction of disagreeing pairs over all pairs of parsed variants (original
    and paraphrases) of the same question, pooled over questions. Units are pairs: `n_excluded`
    counts pairs lost to an excluded answer. The CI resamples whole questions."""
    rows = condition_rows(frame, image_condition, [])
    grouped = rows.groupby("question_id").agg(
        variants=("answer", "size"), parsed=("answer", "count"), yes=("answer", "sum")
    )
    pairs = grouped["parsed"] * (grouped["parsed"] - 1) // 2
    all_pairs = grouped["variants"] * (grouped["variants"] - 1) // 2
    disagreements = grouped["yes"] * (grouped["parsed"] - grouped["yes"])
    total = int(pairs.sum())
    value = float(disagreements.sum() / total) if total else math.nan
    counted = pairs > 0
    ci = bootstrap_ratio_ci(disagreements[counted].to_numpy(float), pairs[counted].to_numpy(float), seed=seed)
    excluded_answers = int((grouped["variants"] - grouped["parsed"]).sum())
    return RateEstimate(value, total, int((all_pairs - pairs).sum()), excluded_answers, ci)


def _paired_conditions(
    frame: pd.DataFrame, first: str, second: str, variant_index: int | None
) -> tuple[pd.DataFrame, int]:
    """Outer-joined answers of the same (question, variant) under two conditions, and the count of
    excluded answers among those rows."""
    sides = []
    for condition in (first, second):
        rows = condition_rows(frame, condition, [])
        if variant_index is not None:
            rows = rows.loc[rows["variant_index"] == variant_index]
        sides.append(rows[["question_id", "variant_index", "answer"]])
    joined = sides[0].merge(
        sides[1], on=["question_id", "variant_index"], how="outer", suffixes=("_first", "_second")
    )
    excluded = int(sides[0]["answer"].isna().sum() + sides[1]["answer"].isna().sum())
    return joined, excluded


def _condition_rate(
    frame: pd.DataFrame, first: str, second: str, variant_index: int | None, same: bool, seed: int
) -> RateEstimate:
    joined, excluded_answers = _paired_conditions(frame, first, second, variant_index)
    usable = joined["answer_first"].notna() & joined["answer_second"].notna()
    equal = joined.loc[usable, "answer_first"] == joined.loc[usable, "answer_second"]
    indicators = equal if same else ~equal
    return estimate_rate(indicators.to_numpy(dtype=float), int((~usable).sum()), excluded_answers, seed)


def condition_agreement(
    frame: pd.DataFrame,
    first: str,
    second: str,
    *,
    variant_index: int | None = 0,
    seed: int = DEFAULT_SEED,
) -> RateEstimate:
    """Fraction of (question, variant) units with the same parsed answer under two image conditions.
    `variant_index=0` compares original questions only; None compares every variant. A unit whose
    answer is excluded or missing under either condition is in `n_excluded`."""
    return _condition_rate(frame, first, second, variant_index, True, seed)


def text_only_agreement(
    frame: pd.DataFrame,
    *,
    removed_condition: str = "blank",
    variant_index: int | None = 0,
    seed: int = DEFAULT_SEED,
) -> RateEstimate:
    """Fraction of questions with answer(q, real image) == answer(q, image removed); the removed
    condition is the blank image by default, or 'none' (text only)."""
    return _condition_rate(frame, "real", removed_condition, variant_index, True, seed)


def swap_sensitivity(
    frame: pd.DataFrame, *, variant_index: int | None = 0, seed: int = DEFAULT_SEED
) -> RateEstimate:
    """Fraction of questions with answer(q, real image) != answer(q, another patient's image)."""
    return _condition_rate(frame, "real", "swapped", variant_index, False, seed)


def blank_image_flip_rate(frame: pd.DataFrame, *, seed: int = DEFAULT_SEED) -> RateEstimate:
    """`flip_rate` under the blank image."""
    return flip_rate(frame, image_condition="blank", seed=seed)


def accuracy(
    frame: pd.DataFrame,
    *,
    image_condition: str = "real",
    variant_index: int | None = 0,
    seed: int = DEFAULT_SEED,
) -> RateEstimate:
    """Fraction of parsed answers equal to the ground truth, under one image condition, over the
    originals (`variant_index=0`) or every variant (None). Excluded answers are in `n_excluded`,
    so `exclusion_rate` is the answer exclusion rate."""
    rows = condition_rows(frame, image_condition, ["ground_truth"])
    if variant_index is not None:
        rows = rows.loc[rows["variant_index"] == variant_index]
    parsed = rows.loc[rows["answer"].notna()]
    correct = parsed["answer"] == answer_codes(parsed["ground_truth"])
    excluded = int(rows["answer"].isna().sum())
    return estimate_rate(correct.to_numpy(dtype=float), excluded, excluded, seed)
