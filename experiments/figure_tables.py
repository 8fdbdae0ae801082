"""The paper's tables as display frames for the run report: rates in percent with their 95 % CIs in one
cell, margins in logits, counts as integers. Frames in, frames out."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import pandas as pd

from experiments.figure_causal import CLAMP_METRICS
from experiments.figure_flipbank import composition_counts
from experiments.figure_style import label

TOP_FEATURE_ROWS = 20


def _number(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def ci_text(value: Any, low: Any = None, high: Any = None, scale: float = 100.0, unit: str = "%") -> str:
    """``"15.6% [12.0, 19.1]"``; ``scale=1, unit=" logits"`` for margins; "n/a" when there is no value."""
    number = _number(value)
    if math.isnan(number):
        return "n/a"
    digits = 1 if unit == "%" else 3
    text = f"{number * scale:+.{digits}f}" if unit == " logits" else f"{number * scale:.{digits}f}"
    low_number, high_number = _number(low), _number(high)
    if math.isnan(low_number) or math.isnan(high_number):
        return f"{text}{unit}"
    return f"{text}{unit} [{low_number * scale:.{digits}f}, {high_number * scale:.{digits}f}]"


def robustness_view(robustness: pd.DataFrame) -> pd.DataFrame:
    """PSF-Med Tables 2–3, 20 and the image metrics: one line per metric and group."""
    return pd.DataFrame(
        {
            "metric": [label(metric) for metric in robustness["metric"]],
            "group": list(robustness["group"]),
            "value [95% CI]": [
                ci_text(r.value, r.ci_low, r.ci_high) for r in robustness.itertuples(index=False)
            ],
            "n": list(robustness["n"]),
            "excluded units": list(robustness["n_excluded"]),
            "excluded answers": list(robustness["excluded_answers"]),
            "image condition": list(robustness["image_condition"]),
        }
    )


def flipbank_view(flipbank: pd.DataFrame) -> pd.DataFrame:
    """PSF-Med Table 16: pair counts and shares by direction, phenomenon and finding."""
    parts = []
    for column in ("direction", "phenomenon", "finding"):
        counts = composition_counts(flipbank, column)
        parts.append(
            pd.DataFrame(
                {
                    "by": column,
                    "value": [label(value) for value in counts.index],
                    "pairs": list(counts),
                    "share": [f"{100 * count / len(flipbank):.1f}%" for count in counts],
                }
            )
        )
    return pd.concat(parts, ignore_index=True)


def features_view(features: pd.DataFrame, k: int = TOP_FEATURE_ROWS) -> pd.DataFrame:
    """PSF-Med Tables 5–6: the top features with mean |Δf|, Pearson and Spearman r with CIs, and the
    Mann–Whitney p of activation on flip vs non-flip pairs."""
    top = features.sort_values("rank").head(k)
    view = pd.DataFrame({"rank": list(top["rank"]), "feature": list(top["feature"])})
    view["mean |Δf|"] = [f"{value:.3g}" for value in top["mean_abs_delta"]]
    for method, name in (("pearson", "Pearson r"), ("spearman", "Spearman ρ")):
        if f"{method}_r" in top.columns:
            cells = zip(top[f"{method}_r"], top[f"{method}_ci_low"], top[f"{method}_ci_high"], strict=True)
            view[f"{name} [95% CI]"] = [ci_text(r, lo, hi, 1.0, "") for r, lo, hi in cells]
    if "mwu_p" in top.columns:
        view["Mann–Whitney p"] = [f"{p:.3g}" for p in top["mwu_p"]]
    for column, name in (("mean_act_flip", "mean act. (flip)"), ("mean_act_no_flip", "mean act. (no flip)")):
        if column in top.columns:
            view[name] = [f"{value:.3g}" for value in top[column]]
    return view


def _recovery_cells(frame: pd.DataFrame) -> dict[str, list[Any]]:
    rows = list(frame.itertuples(index=False))
    return {
        "n": [r.n for r in rows],
        "mean recovery [95% CI]": [
            ci_text(r.mean_recovery, r.mean_recovery_low, r.mean_recovery_high) for r in rows
        ],
        "median recovery": [ci_text(r.median_recovery) for r in rows],
        "recovery > 50%": [ci_text(r.share_recovery_above_50pct) for r in rows],
        "full reversals": [f"{r.full_reversals} / {r.n}" for r in rows],
        "mean shift [95% CI]": [
            ci_text(r.mean_shift, r.mean_shift_low, r.mean_shift_high, 1.0, " logits") for r in rows
        ],
    }


def patching_view(summary: pd.DataFrame) -> pd.DataFrame:
    """PSF-Med Tables 7, 18: every arm overall and by finding, phenomenon and direction."""
    ordered = summary.assign(overall=summary["group_by"] != "all").sort_values(["overall"], kind="stable")
    head = {
        "arm": list(ordered["arm"]),
        "grouped by": list(ordered["group_by"]),
        "group": [label(g) for g in ordered["group"]],
    }
    return pd.DataFrame({**head, **_recovery_cells(ordered)})


def layer_sweep_view(sweep: pd.DataFrame) -> pd.DataFrame:
    """PSF-Med Table 19: recovery by layer for each kind of patch."""
    ordered = sweep.sort_values(["patch", "layer"], kind="stable")
    head = {"patch": list(ordered["patch"]), "layer": list(ordered["layer"])}
    return pd.DataFrame({**head, **_recovery_cells(ordered)})


def clamping_view(clamping: pd.DataFrame) -> pd.DataFrame:
    """PSF-Med Tables 8, 26, 28: one line per configuration, one column per metric, and the paired
    permutation test of its flip rate against baseline."""
    lines = []
    for name, group in clamping.groupby("configuration", sort=False):
        cells = {"configuration": name}
        by_metric = group.drop_duplicates("metric").set_index("metric")
        for metric in CLAMP_METRICS:
            row = by_metric.loc[metric] if metric in by_metric.index else None
            cells[label(metric)] = (
                "n/a" if row is None else ci_text(row["value"], row["ci_low"], row["ci_high"])
            )
        first = group.iloc[0]
        if "flip_rate_difference" in group.columns:
            cells["Δ flip rate vs baseline"] = f"{100 * first['flip_rate_difference']:+.1f} pts"
            cells["permutation p"] = f"{first['permutation_p_value']:.3g}"
            cells["paired n"] = str(first["paired_n"])
        lines.append(cells)
    return pd.DataFrame(lines)


def configurations_view(configurations: pd.DataFrame) -> pd.DataFrame:
    """Flip rate and Dangerous fraction per configuration, with CIs."""
    return pd.DataFrame(
        {
            "configuration": list(configurations["configuration"]),
            "flip rate [95% CI]": [
                ci_text(r.flip_rate, r.flip_rate_low, r.flip_rate_high)
                for r in configurations.itertuples(index=False)
            ],
            "Dangerous fraction [95% CI]": [
                ci_text(r.dangerous_fraction, r.dangerous_low, r.dangerous_high)
                for r in configurations.itertuples(index=False)
            ],
        }
    )


def latency_view(latency: pd.DataFrame) -> pd.DataFrame:
    """Median latency (ms) and ratio to a plain forward pass per method."""
    view = pd.DataFrame({"method": list(latency["method"])})
    view["median (ms)"] = [f"{value:.1f}" for value in latency["median_ms"]]
    if "ratio_to_plain" in latency.columns:
        view["ratio to plain forward"] = [f"{value:.3f}" for value in latency["ratio_to_plain"]]
    return view


def mapping_view(values: Mapping[str, Any], key: str = "quantity") -> pd.DataFrame:
    """A two-column table of a flat or nested mapping (nested keys joined with a dot)."""
    rows: list[tuple[str, str]] = []

    def visit(prefix: str, value: Any) -> None:
        if isinstance(value, Mapping):
            for name, inner in value.items():
                visit(f"{prefix}.{name}" if prefix else str(name), inner)
        else:
            rows.append((prefix, f"{value:.4g}" if isinstance(value, float) else str(value)))

    visit("", values)
    return pd.DataFrame(rows, columns=[key, "value"])
