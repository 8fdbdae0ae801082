"""Per-question uncertainty estimates computed from mined rows (no extra forward pass), and the PSF version
of "does uncertainty warn?": how well each estimate on the original question anticipates a paraphrase flip
(AUROC with a bootstrap CI).

Estimates, each oriented so that larger means more uncertain:
``1 − max probability`` and ``entropy (bits)`` of the restricted yes/no softmax (from the margin,
p_yes = σ(m_yes − m_no)), ``−|margin|``, and ``paraphrase spread`` (the standard deviation of the margins
over the original and its paraphrases; it sees the paraphrases, so it is a diagnostic, not a warning), and
``answer NLL``, −log p of the parsed answer's first token over the whole vocabulary (the greedy answer's NLL
when it is one token, as with forced-choice mining; from the rows' ``p_yes``/``p_no``, NaN without them).
`error_detection` asks the classical question of the same estimates (do they flag wrong answers?) with the
maximum probability's calibration (10-bin ECE, Brier, AURC); `uncertainty_table` puts both in one frame.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from flipbank.metrics import question_flips
from flipbank.mining_frame import answer_codes, condition_rows, first_paraphrases
from flipbank.quadrants import yes_no_entropy_bits
from flipbank.statistics import DEFAULT_SEED
from flipbank.uncertainty_metrics import (
    UncertaintyMetric,
    aurc,
    auroc,
    brier_score,
    expected_calibration_error,
    with_bootstrap,
)

UNCERTAINTY_METHODS = (
    "one_minus_max_probability",
    "entropy_bits",
    "negative_abs_margin",
    "paraphrase_spread",
    "answer_nll",
)


def question_uncertainty(frame: pd.DataFrame, image_condition: str = "real") -> pd.DataFrame:
    """One row per question with scores under ``image_condition``, indexed by question_id: each estimate of
    `UNCERTAINTY_METHODS` (the first three from the original's margin)."""
    probabilities = [name for name in ("p_yes", "p_no") if name in frame.columns]
    rows = condition_rows(frame, image_condition, ["margin", "scores_available", *probabilities])
    scored = rows.loc[rows["scores_available"].astype(bool)]
    first = scored.loc[scored["variant_index"] == 0].set_index("question_id")
    margins = first["margin"].astype(float).to_numpy()
    probability = 1.0 / (1.0 + np.exp(-np.abs(margins)))  # the larger of p_yes and p_no
    spread = scored.groupby("question_id")["margin"].std(ddof=0)
    return pd.DataFrame(
        {
            "one_minus_max_probability": 1.0 - probability,
            "entropy_bits": yes_no_entropy_bits(margins),
            "negative_abs_margin": -np.abs(margins),
            "paraphrase_spread": spread.reindex(first.index).to_numpy(),
            "answer_nll": _answer_nll(first) if len(probabilities) == 2 else np.nan,
        },
        index=first.index,
    )


def _answer_nll(originals: pd.DataFrame) -> np.ndarray:
    """−log p of each parsed answer's token (NaN where the answer was excluded)."""
    chosen = np.where(originals["answer"] == 1.0, originals["p_yes"], originals["p_no"]).astype(float)
    with np.errstate(divide="ignore"):
        return np.where(originals["answer"].isna(), np.nan, -np.log(chosen))


def _available(scores: pd.DataFrame) -> list[str]:
    """The estimates that have a value for some question (the answer NLL needs ``p_yes``/``p_no``)."""
    return [method for method in UNCERTAINTY_METHODS if scores[method].notna().any()]


def flip_anticipation(
    frame: pd.DataFrame, image_condition: str = "real", seed: int = DEFAULT_SEED
) -> pd.DataFrame:
    """Per estimate: AUROC (bootstrap CI) of its value on the original for "some paraphrase flips the parsed
    answer", over the questions that are evaluable and scored; columns method, auroc, ci_low, ci_high, n,
    n_flipped."""
    rows = condition_rows(frame, image_condition, ["phenomenon"])
    flips = question_flips(rows, first_paraphrases(rows, None))
    flips = flips.loc[flips["evaluable"], "flipped"].astype(bool)
    scores = question_uncertainty(frame, image_condition).join(flips, how="inner")
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
    frame: pd.DataFrame, image_condition: str = "real", seed: int = DEFAULT_SEED
) -> pd.DataFrame:
    """Per estimate: AUROC (bootstrap CI) for "the original's answer is wrong"; then the calibration of the
    maximum probability as the confidence of that answer: 10-bin ECE, Brier score and AURC, each with a
    bootstrap CI. Columns as `uncertainty_table`."""
    scores = question_uncertainty(frame, image_condition).join(
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
    frame: pd.DataFrame, image_condition: str = "real", seed: int = DEFAULT_SEED
) -> pd.DataFrame:
    """Flip anticipation and error detection in one long frame: target ("paraphrase flip" or "wrong
    answer"), method, metric, value, ci_low, ci_high, n, n_events."""
    flips = flip_anticipation(frame, image_condition, seed)
    anticipation = flips.rename(columns={"auroc": "value", "n_flipped": "n_events"}).assign(
        target="paraphrase flip", metric="auroc"
    )[["target", "method", "metric", "value", "ci_low", "ci_high", "n", "n_events"]]
    return pd.concat([anticipation, error_detection(frame, image_condition, seed)], ignore_index=True)
