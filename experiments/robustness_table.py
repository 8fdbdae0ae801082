"""Turns mining rows into the paper's robustness table (PSF-Med Tables 2–3, 20): one tidy row per metric,
with its value, bootstrap CI, n and exclusions. Image metrics appear only when their conditions were mined."""

from __future__ import annotations

import pandas as pd

from flipbank.metrics import (
    RateEstimate,
    accuracy,
    blank_image_flip_rate,
    flip_rate,
    flip_rate_by_paraphrase_count,
    flip_rate_by_phenomenon,
    pairwise_disagreement_rate,
    swap_sensitivity,
    text_only_agreement,
)
from flipbank.quadrants import quadrant_summary


def primary_condition(rows: pd.DataFrame) -> str:
    """The condition answers are judged under: the real image when mined, else text only."""
    return "real" if (rows["image_condition"] == "real").any() else "none"


def _row(metric: str, group: str, estimate: RateEstimate) -> dict[str, object]:
    return {
        "metric": metric,
        "group": group,
        "value": estimate.value,
        "ci_low": estimate.ci.low,
        "ci_high": estimate.ci.high,
        "n": estimate.n,
        "n_excluded": estimate.n_excluded,
        "excluded_answers": estimate.excluded_answers,
    }


def _image_rows(rows: pd.DataFrame, seed: int) -> list[dict[str, object]]:
    conditions = set(rows["image_condition"])
    found: list[dict[str, object]] = []
    if {"real", "blank"} <= conditions:
        found.append(_row("text_only_agreement", "blank", text_only_agreement(rows, seed=seed)))
        found.append(_row("blank_image_flip_rate", "all", blank_image_flip_rate(rows, seed=seed)))
        summary = quadrant_summary(rows, seed=seed)
        for quadrant, stats in summary.quadrants.items():
            found.append(_row("quadrant_fraction", quadrant.value, stats.fraction))
            found.append(_row("quadrant_accuracy", quadrant.value, stats.accuracy))
    if {"real", "none"} <= conditions:
        agreement = text_only_agreement(rows, removed_condition="none", seed=seed)
        found.append(_row("text_only_agreement", "none", agreement))
    if {"real", "swapped"} <= conditions:
        found.append(_row("swap_sensitivity", "all", swap_sensitivity(rows, seed=seed)))
    return found


def robustness_table(rows: pd.DataFrame, seed: int = 0) -> pd.DataFrame:
    """Flip rates (asymmetric, pairwise, by phenomenon, by paraphrase count), accuracy, and the image
    metrics whose conditions were mined."""
    condition = primary_condition(rows)
    table = [
        _row("flip_rate", "all", flip_rate(rows, image_condition=condition, seed=seed)),
        _row(
            "pairwise_flip_rate",
            "all",
            pairwise_disagreement_rate(rows, image_condition=condition, seed=seed),
        ),
        _row("accuracy", "originals", accuracy(rows, image_condition=condition, seed=seed)),
        _row(
            "accuracy",
            "all variants",
            accuracy(rows, image_condition=condition, variant_index=None, seed=seed),
        ),
    ]
    for phenomenon, estimate in flip_rate_by_phenomenon(rows, image_condition=condition, seed=seed).items():
        table.append(_row("flip_rate_by_phenomenon", phenomenon.value, estimate))
    for count, estimate in flip_rate_by_paraphrase_count(rows, image_condition=condition, seed=seed).items():
        table.append(_row("flip_rate_by_paraphrase_count", str(count), estimate))
    table.extend(_image_rows(rows, seed))
    frame = pd.DataFrame(table)
    frame.insert(0, "image_condition", condition)
    return frame


def format_robustness_table(table: pd.DataFrame) -> str:
    """Percentages with 95 % CIs, one metric per line."""
    lines = [f"{'metric':<30} {'group':<26} {'value':>8} {'95% CI':>17} {'n':>6} {'excl.':>6}"]
    for row in table.itertuples(index=False):
        lines.append(
            f"{row.metric:<30} {row.group:<26} {100 * row.value:>7.1f}% "
            f"{f'[{100 * row.ci_low:.1f}, {100 * row.ci_high:.1f}]':>17} {row.n:>6} {row.n_excluded:>6}"
        )
    return "\n".join(lines)
