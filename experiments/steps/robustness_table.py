"""Turns mining rows into the paper's robustness table (PSF-Med Tables 2–3, 20): one tidy row per metric,
with its value, bootstrap CI, n and exclusions. Image metrics appear only when their conditions were mined.
Every value is a rate except ``quadrant_entropy_bits`` (a mean yes/no entropy in bits)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from flipbank.answers import LabelSource
from flipbank.metrics import (
    RateEstimate,
    accuracy,
    blank_image_flip_rate,
    estimate_rate,
    flip_rate,
    flip_rate_by_paraphrase_count,
    flip_rate_by_phenomenon,
    pairwise_disagreement_rate,
    swap_sensitivity,
    text_only_agreement,
)
from flipbank.quadrants import RELIANCE_CONDITIONS, QuadrantStats, quadrant_summary

#: Where a parsed answer's label came from (the answer parser's rules, in order of precedence).
LABEL_SOURCES: tuple[str, ...] = tuple(source.value for source in LabelSource)
#: Metrics whose value is not a rate, and the unit they are printed in.
NON_RATE_UNITS = {"quadrant_entropy_bits": "bits"}


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
        "reliance_condition": None,
    }


def _entropy_row(stats: QuadrantStats) -> dict[str, object]:
    """Mean entropy (bits) of a quadrant's originals; questions without scores are its n_excluded."""
    return {
        "metric": "quadrant_entropy_bits",
        "group": stats.quadrant.value,
        "value": stats.mean_entropy_bits,
        "ci_low": stats.mean_entropy_bits_ci.low,
        "ci_high": stats.mean_entropy_bits_ci.high,
        "n": stats.n_entropy,
        "n_excluded": stats.count - stats.n_entropy,
        "excluded_answers": 0,
        "reliance_condition": None,
    }


def _quadrant_rows(rows: pd.DataFrame, reliance_condition: str, seed: int) -> list[dict[str, object]]:
    summary = quadrant_summary(rows, removed_condition=reliance_condition, seed=seed)
    found: list[dict[str, object]] = []
    for quadrant, stats in summary.quadrants.items():
        found.append(_row("quadrant_fraction", quadrant.value, stats.fraction))
        found.append(_row("quadrant_accuracy", quadrant.value, stats.accuracy))
        found.append(_entropy_row(stats))
    return [{**row, "reliance_condition": reliance_condition} for row in found]


def _image_rows(rows: pd.DataFrame, reliance_condition: str, seed: int) -> list[dict[str, object]]:
    conditions = set(rows["image_condition"])
    found: list[dict[str, object]] = []
    if {"real", "blank"} <= conditions:
        found.append(_row("text_only_agreement", "blank", text_only_agreement(rows, seed=seed)))
        found.append(_row("blank_image_flip_rate", "all", blank_image_flip_rate(rows, seed=seed)))
    if {"real", reliance_condition} <= conditions:
        found.extend(_quadrant_rows(rows, reliance_condition, seed))
    if {"real", "none"} <= conditions:
        agreement = text_only_agreement(rows, removed_condition="none", seed=seed)
        found.append(_row("text_only_agreement", "none", agreement))
    if {"real", "swapped"} <= conditions:
        found.append(_row("swap_sensitivity", "all", swap_sensitivity(rows, seed=seed)))
    return found


def label_source_rows(rows: pd.DataFrame, condition: str, seed: int = 0) -> list[dict[str, object]]:
    """Per label source: its share of the parsed answers under ``condition`` (bootstrap CI over answers),
    n = the answers it labelled; excluded_answers = the answers under ``condition`` that did not parse.
    Parsed answers without a source count as "unknown". No rows when the frame records no label source
    (no ``label_source`` column, or rows mined before it was recorded)."""
    if "label_source" not in rows.columns or rows["label_source"].isna().all():
        return []
    selected = rows.loc[rows["image_condition"] == condition]
    parsed = selected.loc[selected["parsed_answer"].notna(), "label_source"].astype(object)
    sources = parsed.where(parsed.notna(), "unknown").astype(str).to_numpy()
    excluded = int(selected["parsed_answer"].isna().sum())
    found = []
    for source in [*LABEL_SOURCES, *sorted(set(sources) - set(LABEL_SOURCES))]:
        indicators = (sources == source).astype(np.float64)
        row = _row("label_source", source, estimate_rate(indicators, 0, excluded, seed))
        found.append({**row, "n": int(indicators.sum())})
    return found


def robustness_table(rows: pd.DataFrame, seed: int = 0, reliance_condition: str = "blank") -> pd.DataFrame:
    """Flip rates (asymmetric, pairwise, by phenomenon, by paraphrase count), accuracy, the image metrics
    whose conditions were mined, and the label sources of the parsed answers when the rows record them.
    The quadrants judge image reliance against ``reliance_condition`` (one of ``RELIANCE_CONDITIONS``),
    recorded in their rows' ``reliance_condition`` column (None on every other row)."""
    if reliance_condition not in RELIANCE_CONDITIONS:
        raise ValueError(
            f"reliance_condition must be one of {RELIANCE_CONDITIONS}, got {reliance_condition!r}"
        )
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
    table.extend(_image_rows(rows, reliance_condition, seed))
    table.extend(label_source_rows(rows, condition, seed))
    frame = pd.DataFrame(table)
    frame.insert(0, "image_condition", condition)
    return frame


def _value_text(metric: str, value: float, low: float, high: float) -> tuple[str, str]:
    unit = NON_RATE_UNITS.get(metric)
    if unit is not None:
        return f"{value:.3f} {unit}", f"[{low:.3f}, {high:.3f}]"
    return f"{100 * value:.1f}%", f"[{100 * low:.1f}, {100 * high:.1f}]"


def format_robustness_table(table: pd.DataFrame) -> str:
    """Percentages with 95 % CIs, one metric per line; quadrant entropies in bits. A quadrant row's group
    names the condition image reliance was judged against."""
    lines = [f"{'metric':<30} {'group':<30} {'value':>10} {'95% CI':>17} {'n':>6} {'excl.':>6}"]
    for row in table.to_dict("records"):
        value, interval = _value_text(row["metric"], row["value"], row["ci_low"], row["ci_high"])
        group = str(row["group"])
        reliance = row.get("reliance_condition")
        if isinstance(reliance, str):
            group += f" (vs {reliance})"
        lines.append(
            f"{row['metric']:<30} {group:<30} {value:>10} {interval:>17} {row['n']:>6} {row['n_excluded']:>6}"
        )
    return "\n".join(lines)
