"""Report tables of the image-reliance steps: grounding (flip vs no-flip attention to the box), the
configuration comparison (one row per set and configuration), and uncertainty (does it warn?)."""

from __future__ import annotations

import pandas as pd

from experiments.figure_tables import ci_text

#: The comparison's columns: (metric, group, heading, scale, unit).
COMPARISON_COLUMNS = (
    ("flip_rate", "all", "flip rate", 100.0, "%"),
    ("accuracy", "originals", "accuracy", 100.0, "%"),
    ("mean_margin_difference", "all", "mean |m_orig − m_para|", 1.0, " logits"),
    ("text_only_agreement", "blank", "text-only agreement", 100.0, "%"),
    ("swap_sensitivity", "all", "swap sensitivity", 100.0, "%"),
    ("quadrant_fraction", "dangerous", "Dangerous", 100.0, "%"),
)


def grounding_view(grounding: pd.DataFrame) -> pd.DataFrame:
    """Per score: flip and no-flip means with CIs, the relative difference and the permutation p-value."""
    rows = []
    for metric, group in grounding.groupby("metric", sort=False):
        by_group = group.set_index("group")
        cells = {
            name: ci_text(
                by_group.loc[name, "value"], by_group.loc[name, "ci_low"], by_group.loc[name, "ci_high"]
            )
            + f" (n = {int(by_group.loc[name, 'n'])})"
            for name in ("flip", "no flip")
            if name in by_group.index
        }
        first = group.iloc[0]
        rows.append(
            {
                "score": metric,
                **cells,
                "flip vs no flip": _finite(first["relative_difference"], "{:+.0%}"),
                "p": _finite(first["p_value"], "{:.3g}"),
            }
        )
    return pd.DataFrame(rows)


def _finite(value: float, pattern: str) -> str:
    return pattern.format(value) if pd.notna(value) else "n/a"


def _group_cell(row: pd.Series) -> str:
    return ci_text(row["value"], row["ci_low"], row["ci_high"]) + f" (n = {int(row['n'])})"


def _metric_cell(value: pd.Series | None, scale: float, unit: str) -> str:
    return "n/a" if value is None else ci_text(value["value"], value["ci_low"], value["ci_high"], scale, unit)


def comparison_view(comparison: pd.DataFrame) -> pd.DataFrame:
    """One row per (set, configuration): the headline metrics with CIs and the paired flip test."""
    rows = []
    for (set_name, arm), group in comparison.groupby(["set", "configuration"], sort=False):
        row: dict[str, str] = {"set": str(set_name), "configuration": str(arm)}
        for metric, subgroup, heading, scale, unit in COMPARISON_COLUMNS:
            found = group[(group["metric"] == metric) & (group["group"] == subgroup)]
            value = found.iloc[0] if not found.empty else None
            row[heading] = (
                "n/a"
                if value is None
                else ci_text(value["value"], value["ci_low"], value["ci_high"], scale, unit)
            )
        first = group.iloc[0]
        row["Δflip vs first (p)"] = (
            f"{100 * first['flip_rate_difference']:+.1f} pts ({first['permutation_p_value']:.3g})"
        )
        rows.append(row)
    return pd.DataFrame(rows)


def uncertainty_view(uncertainty: pd.DataFrame) -> pd.DataFrame:
    """One row per (target, estimate, metric): its value with the bootstrap CI and the counts."""
    return pd.DataFrame(
        {
            "predicts": uncertainty["target"],
            "estimate": uncertainty["method"].str.replace("_", " "),
            "metric": uncertainty["metric"].str.upper(),
            "value [95% CI]": [
                ci_text(row["value"], row["ci_low"], row["ci_high"], 1.0, "")
                for _, row in uncertainty.iterrows()
            ],
            "questions": uncertainty["n"].astype(int),
            "events": uncertainty["n_events"].astype(int),
        }
    )
