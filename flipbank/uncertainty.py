"""Per-question uncertainty estimates computed from mined rows (no extra forward pass), and the PSF version
of "does uncertainty warn?": how well each estimate on the original question anticipates a paraphrase flip
(AUROC with a bootstrap CI).

Estimates, each oriented so that larger means more uncertain:
``1 − max probability`` and ``entropy (bits)`` of the restricted yes/no softmax (from the margin,
p_yes = σ(m_yes − m_no)), ``−|margin|``, and ``paraphrase spread`` (the standard deviation of the margins
over the original and its paraphrases; it sees the paraphrases, so it is a diagnostic, not a warning), and
``answer NLL``, −log p of the parsed answer's first token over the whole vocabulary (the greedy answer's NLL
when it is one token, as with forced-choice mining; from the rows' ``p_yes``/``p_no``, NaN without them),
``greedy NLL`` (Σ −log p over the greedy answer's emitted tokens, stop token included; rows mined with it) and
its per-token mean. Two more come from extra generations (``generated``, one row per question, see
`flipbank.generated_uncertainty`): ``sampling entropy`` (bits, over the sampled answers' content) and
``verbalized uncertainty`` (1 − the stated confidence / 100; NaN when the model gave no number).
`error_detection` asks the classical question of the same estimates (do they flag wrong answers?) with the
maximum probability's calibration (10-bin ECE, Brier, AURC); `uncertainty_table` puts both in one frame.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from flipbank.metrics import question_flips
from flipbank.mining_frame import answer_codes, condition_rows, first_paraphrases
from flipbank.quadrants import classify_questions, yes_no_entropy_bits
from flipbank.statistics import DEFAULT_SEED
from flipbank.uncertainty_metrics import (
    UncertaintyMetric,
    aurc,
    auroc,
    brier_score,
    expected_calibration_error,
    reliability_table,
    with_bootstrap,
)

UNCERTAINTY_METHODS = (
    "one_minus_max_probability",
    "entropy_bits",
    "negative_abs_margin",
    "paraphrase_spread",
    "answer_nll",
    "greedy_nll",
    "greedy_nll_per_token",
    "sampling_entropy_bits",
    "verbalized_uncertainty",
)
#: The columns of the extra generations' frame (`generated`) that feed the last two estimates.
GENERATED_COLUMNS = ("sampling_entropy_bits", "verbalized_confidence")


def question_uncertainty(
    frame: pd.DataFrame, image_condition: str = "real", generated: pd.DataFrame | None = None
) -> pd.DataFrame:
    """One row per question with scores under ``image_condition``, indexed by question_id: each estimate of
    `UNCERTAINTY_METHODS` (the first three from the original's margin; the last two from ``generated``,
    indexed by question_id with `GENERATED_COLUMNS`, NaN without it)."""
    optional = [name for name in ("p_yes", "p_no", "greedy_nll", "greedy_tokens") if name in frame.columns]
    rows = condition_rows(frame, image_condition, ["margin", "scores_available", *optional])
    scored = rows.loc[rows["scores_available"].astype(bool)]
    first = scored.loc[scored["variant_index"] == 0].set_index("question_id")
    margins = first["margin"].astype(float).to_numpy()
    probability = 1.0 / (1.0 + np.exp(-np.abs(margins)))  # the larger of p_yes and p_no
    spread = scored.groupby("question_id")["margin"].std(ddof=0)
    nll = _column(first, "greedy_nll")
    extra = pd.DataFrame(index=first.index, columns=list(GENERATED_COLUMNS), dtype=float)
    if generated is not None:
        extra = generated.reindex(first.index)[list(GENERATED_COLUMNS)].astype(float)
    return pd.DataFrame(
        {
            "one_minus_max_probability": 1.0 - probability,
            "entropy_bits": yes_no_entropy_bits(margins),
            "negative_abs_margin": -np.abs(margins),
            "paraphrase_spread": spread.reindex(first.index).to_numpy(),
            "answer_nll": _answer_nll(first) if {"p_yes", "p_no"} <= set(optional) else np.nan,
            "greedy_nll": nll,
            "greedy_nll_per_token": nll / _column(first, "greedy_tokens"),
            "sampling_entropy_bits": extra["sampling_entropy_bits"].to_numpy(),
            "verbalized_uncertainty": 1.0 - extra["verbalized_confidence"].to_numpy() / 100.0,
        },
        index=first.index,
    )


def _column(rows: pd.DataFrame, name: str) -> np.ndarray:
    """A float column of ``rows``, all NaN when the rows lack it (mined before it existed)."""
    return rows[name].astype(float).to_numpy() if name in rows.columns else np.full(len(rows), np.nan)


def _answer_nll(originals: pd.DataFrame) -> np.ndarray:
    """−log p of each parsed answer's token (NaN where the answer was excluded)."""
    chosen = np.where(originals["answer"] == 1.0, originals["p_yes"], originals["p_no"]).astype(float)
    with np.errstate(divide="ignore"):
        return np.where(originals["answer"].isna(), np.nan, -np.log(chosen))


def _available(scores: pd.DataFrame) -> list[str]:
    """The estimates that have a value for some question (the answer NLL needs ``p_yes``/``p_no``)."""
    return [method for method in UNCERTAINTY_METHODS if scores[method].notna().any()]


def flip_anticipation(
    frame: pd.DataFrame,
    image_condition: str = "real",
    seed: int = DEFAULT_SEED,
    generated: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Per estimate: AUROC (bootstrap CI) of its value on the original for "some paraphrase flips the parsed
    answer", over the questions that are evaluable and scored; columns method, auroc, ci_low, ci_high, n,
    n_flipped."""
    rows = condition_rows(frame, image_condition, ["phenomenon"])
    flips = question_flips(rows, first_paraphrases(rows, None))
    flips = flips.loc[flips["evaluable"], "flipped"].astype(bool)
    scores = question_uncertainty(frame, image_condition, generated).join(flips, how="inner")
    found = []
    for method in _available(scores):
        usable = scores[[method, "flipped"]].dropna()
        result = with_bootstrap(auroc, usable[method].to_numpy(), usable["flipped"].to_numpy(), seed=seed)
        found.append(
            {
                "method": method,
                "auroc": result.value,
                "ci_low": result.ci.low,
                "ci_high": result.ci.high,
                "n": result.n,
                "n_flipped": int(usable["flipped"].sum()),
            }
        )
    return pd.DataFrame(found)


def _metric_row(
    target: str, method: str, metric: str, result: UncertaintyMetric, events: int
) -> dict[str, object]:
    return {
        "target": target,
        "method": method,
        "metric": metric,
        "value": result.value,
        "ci_low": result.ci.low,
        "ci_high": result.ci.high,
        "n": result.n,
        "n_events": events,
    }


def _originals_correct(frame: pd.DataFrame, image_condition: str) -> pd.Series:
    """Per question: whether the original's parsed answer equals the ground truth (yes/no items only)."""
    rows = condition_rows(frame, image_condition, ["ground_truth"])
    originals = rows.loc[rows["variant_index"] == 0].set_index("question_id")
    truth = originals["ground_truth"].where(originals["ground_truth"].isin(["yes", "no"]))
    judged = originals.assign(truth=answer_codes(truth)).dropna(subset=["answer", "truth"])
    return (judged["answer"] == judged["truth"]).rename("correct")


def error_detection(
    frame: pd.DataFrame,
    image_condition: str = "real",
    seed: int = DEFAULT_SEED,
    generated: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Per estimate: AUROC (bootstrap CI) for "the original's answer is wrong"; then the calibration of the
    maximum probability as the confidence of that answer: 10-bin ECE, Brier score and AURC, each with a
    bootstrap CI. Columns as `uncertainty_table`."""
    scores = question_uncertainty(frame, image_condition, generated).join(
        _originals_correct(frame, image_condition), how="inner"
    )
    wrong = ~scores["correct"].astype(bool)
    found = []
    for method in _available(scores):
        usable = scores[method].notna()
        result = with_bootstrap(auroc, scores.loc[usable, method], wrong[usable], seed=seed)
        found.append(_metric_row("wrong answer", method, "auroc", result, int(wrong[usable].sum())))
    confidence = 1.0 - scores["one_minus_max_probability"].to_numpy()
    correct = scores["correct"].to_numpy(dtype=bool)
    for metric, function in (("ece", expected_calibration_error), ("brier", brier_score), ("aurc", aurc)):
        result = with_bootstrap(function, confidence, correct, seed=seed)
        found.append(_metric_row("wrong answer", "max_probability", metric, result, int((~correct).sum())))
    return pd.DataFrame(found)


def uncertainty_table(
    frame: pd.DataFrame,
    image_condition: str = "real",
    seed: int = DEFAULT_SEED,
    generated: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Flip anticipation and error detection in one long frame: target ("paraphrase flip" or "wrong
    answer"), method, metric, value, ci_low, ci_high, n, n_events."""
    flips = flip_anticipation(frame, image_condition, seed, generated)
    anticipation = flips.rename(columns={"auroc": "value", "n_flipped": "n_events"}).assign(
        target="paraphrase flip", metric="auroc"
    )[["target", "method", "metric", "value", "ci_low", "ci_high", "n", "n_events"]]
    detection = error_detection(frame, image_condition, seed, generated)
    return pd.concat([anticipation, detection], ignore_index=True)


def max_probability_reliability(frame: pd.DataFrame, image_condition: str = "real") -> pd.DataFrame:
    """The reliability table (10 bins, `reliability_table`) of the originals' maximum yes/no probability as
    the confidence of their parsed answer."""
    scores = question_uncertainty(frame, image_condition).join(
        _originals_correct(frame, image_condition), how="inner"
    )
    confidence = 1.0 - scores["one_minus_max_probability"].to_numpy()
    return reliability_table(confidence, scores["correct"].to_numpy(dtype=bool))


def uncertainty_by_quadrant(
    frame: pd.DataFrame,
    image_condition: str = "real",
    removed_condition: str = "blank",
    generated: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Are Dangerous questions confident? Per quadrant (`flipbank.quadrants`): the number of questions, their
    accuracy and the mean of each available estimate on the original, as a long frame (quadrant, method,
    mean, n)."""
    taxonomy = classify_questions(frame, image_condition=image_condition, removed_condition=removed_condition)
    classes = taxonomy.table[["quadrant", "correct"]]
    scores = question_uncertainty(frame, image_condition, generated).join(classes, how="inner")
    scores = scores.assign(accuracy=scores["correct"].astype(float))
    methods = ["accuracy", *_available(scores)]
    grouped = scores.groupby("quadrant", sort=True)
    means = grouped[methods].mean().rename_axis(columns="method").stack().rename("mean").reset_index()
    return means.merge(grouped.size().rename("n").reset_index(), on="quadrant")
