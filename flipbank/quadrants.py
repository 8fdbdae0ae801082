"""The four-quadrant taxonomy (consistent x image-reliant, per question) with quadrant
fractions, accuracy and yes/no entropy, and the correlation of flip rate with the Dangerous
fraction across configurations. Pure functions over mining-row DataFrames.

`yes_no_entropy_bits` is the workbench's one yes/no entropy: numpy, in bits, so both the data side and
the model side (which passes CPU tensors or arrays of margins) use it without importing a model."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Literal

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray

from flipbank.metrics import RateEstimate, estimate_rate, question_flips
from flipbank.mining_frame import answer_codes, condition_rows, first_paraphrases, per_question_originals
from flipbank.statistics import (
    DEFAULT_SEED,
    ConfidenceInterval,
    Correlation,
    bootstrap_mean_ci,
    pearson,
    spearman,
)

#: The conditions image reliance can be judged against: the original's answer under the real image is
#: compared with its answer under a blank image, no image (text only), or another patient's image.
RELIANCE_CONDITIONS = ("blank", "none", "swapped")


class Quadrant(StrEnum):
    """Ideal = consistent and image-reliant; Fragile = inconsistent and reliant; Dangerous =
    consistent and not reliant; Worst = inconsistent and not reliant."""

    IDEAL = "ideal"
    FRAGILE = "fragile"
    DANGEROUS = "dangerous"
    WORST = "worst"


def quadrant_of(consistent: bool, image_reliant: bool) -> Quadrant:
    if consistent:
        return Quadrant.IDEAL if image_reliant else Quadrant.DANGEROUS
    return Quadrant.FRAGILE if image_reliant else Quadrant.WORST


def yes_no_entropy_bits(margins: ArrayLike) -> NDArray[np.float64]:
    """Entropy in bits of the softmax over the {Yes, No} logits, from margin = logit(Yes) -
    logit(No): p = sigmoid(margin), H = -p log2 p - (1 - p) log2 (1 - p), in [0, 1]. Computed
    through log-sigmoids, so large margins do not lose precision; +-inf give 0 and NaN stays NaN.
    Accepts anything numpy can read (lists, arrays, CPU torch tensors)."""
    margin = np.asarray(margins, dtype=np.float64)
    p_yes = 0.5 * (1.0 + np.tanh(0.5 * margin))
    with np.errstate(invalid="ignore"):
        nats = p_yes * np.logaddexp(0.0, -margin) + (1.0 - p_yes) * np.logaddexp(0.0, margin)
    return np.where(np.isinf(margin), 0.0, nats / math.log(2.0))


@dataclass(frozen=True)
class QuestionTaxonomy:
    """Per-question taxonomy (`table`, indexed by question_id, columns consistent, image_reliant,
    quadrant, correct, entropy_bits) and the count of questions that could not be classified."""

    table: pd.DataFrame
    n_excluded: int


def classify_questions(
    frame: pd.DataFrame, *, image_condition: str = "real", removed_condition: str = "blank"
) -> QuestionTaxonomy:
    """Classifies each question. Consistent = no flip among its parsed paraphrases under
    `image_condition`; image-reliant = the original's parsed answer differs between
    `image_condition` and `removed_condition` (one of `RELIANCE_CONDITIONS`: blank by default,
    'none' for text only, or 'swapped' for another patient's image). A question lacking either
    judgement (excluded or missing answers) is counted in `n_excluded`. `correct` and
    `entropy_bits` (from the margin; NaN without scores) describe the original under
    `image_condition`."""
    if removed_condition not in RELIANCE_CONDITIONS:
        raise ValueError(f"removed_condition must be one of {RELIANCE_CONDITIONS}, got {removed_condition!r}")
    rows = condition_rows(frame, image_condition, ["ground_truth", "margin"])
    removed = per_question_originals(condition_rows(frame, removed_condition, []), "answer")
    flips = question_flips(rows, first_paraphrases(rows, None))
    answer = per_question_originals(rows, "answer")
    questions = pd.Index(sorted(set(rows["question_id"]) | set(removed.index)), name="question_id")
    table = pd.DataFrame(index=questions)
    table["answer"], table["removed"] = answer.reindex(questions), removed.reindex(questions)
    evaluable = flips["evaluable"].reindex(questions, fill_value=False).astype(bool)
    included = evaluable & table["answer"].notna() & table["removed"].notna()
    table = table.loc[included]
    table["consistent"] = ~flips["flipped"].reindex(table.index).astype(bool)
    table["image_reliant"] = table["answer"] != table["removed"]
    table["quadrant"] = [
        quadrant_of(bool(c), bool(r)).value
        for c, r in zip(table["consistent"], table["image_reliant"], strict=True)
    ]
    truth = answer_codes(per_question_originals(rows, "ground_truth")).reindex(table.index)
    table["correct"] = table["answer"] == truth
    table["entropy_bits"] = yes_no_entropy_bits(per_question_originals(rows, "margin").reindex(table.index))
    columns = ["consistent", "image_reliant", "quadrant", "correct", "entropy_bits"]
    return QuestionTaxonomy(table[columns], int((~included).sum()))


@dataclass(frozen=True)
class QuadrantStats:
    """One quadrant: its share of the classified questions, the accuracy of its originals, and the
    mean yes/no entropy (bits) of its originals with a bootstrap CI over those with scores
    (`n_entropy`)."""

    quadrant: Quadrant
    count: int
    fraction: RateEstimate
    accuracy: RateEstimate
    mean_entropy_bits: float
    mean_entropy_bits_ci: ConfidenceInterval
    n_entropy: int


@dataclass(frozen=True)
class QuadrantSummary:
    """`n` classified questions, `n_excluded` unclassifiable ones, and the condition reliance was
    judged against."""

    n: int
    n_excluded: int
    quadrants: dict[Quadrant, QuadrantStats]
    removed_condition: str = "blank"


def quadrant_summary(
    frame: pd.DataFrame,
    *,
    image_condition: str = "real",
    removed_condition: str = "blank",
    seed: int = DEFAULT_SEED,
) -> QuadrantSummary:
    """Fractions (with bootstrap CIs), accuracy and mean entropy (bits, with bootstrap CIs over
    questions) of the four quadrants; `removed_condition` as in `classify_questions`."""
    taxonomy = classify_questions(frame, image_condition=image_condition, removed_condition=removed_condition)
    table, excluded = taxonomy.table, taxonomy.n_excluded
    stats = {}
    for quadrant in Quadrant:
        members = table.loc[table["quadrant"] == quadrant.value]
        entropy = members["entropy_bits"].to_numpy(dtype=float)
        finite = entropy[np.isfinite(entropy)]
        stats[quadrant] = QuadrantStats(
            quadrant=quadrant,
            count=len(members),
            fraction=estimate_rate((table["quadrant"] == quadrant.value).to_numpy(float), excluded, 0, seed),
            accuracy=estimate_rate(members["correct"].to_numpy(float), 0, 0, seed),
            mean_entropy_bits=float(finite.mean()) if finite.size else math.nan,
            mean_entropy_bits_ci=bootstrap_mean_ci(finite, seed=seed),
            n_entropy=int(finite.size),
        )
    return QuadrantSummary(len(table), excluded, stats, removed_condition)


@dataclass(frozen=True)
class ConfigurationResult:
    """One configuration's (model, clamp, prompt normalisation, ...) flip rate and Dangerous share."""

    name: str
    flip_rate: float
    dangerous_fraction: float


def flip_dangerous_correlation(
    configurations: Sequence[ConfigurationResult],
    *,
    method: Literal["pearson", "spearman"] = "pearson",
    seed: int = DEFAULT_SEED,
) -> Correlation:
    """Correlation of flip rate with Dangerous fraction across configurations (bootstrap CI over
    configurations). A NaN value (a configuration with nothing to count) is a ValueError."""
    for configuration in configurations:
        values = (configuration.flip_rate, configuration.dangerous_fraction)
        if not all(math.isfinite(value) for value in values):
            raise ValueError(f"configuration {configuration.name!r} has a NaN or infinite value")
    flips = [configuration.flip_rate for configuration in configurations]
    dangerous = [configuration.dangerous_fraction for configuration in configurations]
    correlate = pearson if method == "pearson" else spearman
    return correlate(flips, dangerous, seed=seed)
