"""Report tables of the image-reliance steps: grounding (flip vs no-flip attention to the box), the
configuration comparison (one row per set and configuration), and uncertainty (does it warn?)."""

from __future__ import annotations

import pandas as pd

from experiments.reporting.figure_tables import ci_text
from flipbank.statistics import bootstrap_mean_ci

#: The comparison's columns: (metric, group, heading, scale, unit).
COMPARISON_COLUMNS = (
    ("flip_rate", "all", "flip rate", 100.0, "%"),
    ("accuracy", "originals", "accuracy", 100.0, "%"),
    ("mean_margin_difference", "all", "mean |original_margin − paraphrase_margin|", 1.0, " logits"),
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


def quadrant_uncertainty_view(by_quadrant: pd.DataFrame) -> pd.DataFrame:
    """One row per quadrant, one column per estimate (accuracy in %), with the quadrant's size."""
    wide = by_quadrant.pivot(index="quadrant", columns="method", values="mean")
    order = [q for q in ("ideal", "fragile", "dangerous", "worst") if q in wide.index]
    wide = wide.reindex(order)
    wide["accuracy"] = (100 * wide["accuracy"]).round(1)
    sizes = by_quadrant.drop_duplicates("quadrant").set_index("quadrant")["n"].reindex(order)
    methods = [c for c in wide.columns if c != "accuracy"]
    view = wide[["accuracy", *methods]].round(3).rename(columns=lambda c: c.replace("_", " "))
    return view.assign(questions=sizes.astype(int)).reset_index()


def nota_view(nota: pd.DataFrame) -> pd.DataFrame:
    """One row per NOTA variant: accuracies and selection in %, confidences, collapse rate, anticipation."""
    return pd.DataFrame(
        {
            "variant": nota["variant"],
            "items": nota["n_items"].astype(int),
            "accuracy clean → NOTA (%)": [
                f"{100 * a:.1f} → {100 * b:.1f}"
                for a, b in zip(nota["accuracy_clean"], nota["accuracy_nota"], strict=True)
            ],
            "NOTA chosen (%)": (100 * nota["nota_selection_rate"]).round(1),
            "confidence clean → NOTA": [
                f"{a:.3f} → {b:.3f}"
                for a, b in zip(nota["mean_confidence_clean"], nota["mean_confidence_nota"], strict=True)
            ],
            "collapse (%)": (100 * nota["collapse_rate"]).round(1),
            "anticipation AUROC [95% CI]": [
                ci_text(
                    row["anticipation_auroc"],
                    row["anticipation_ci_low"],
                    row["anticipation_ci_high"],
                    1.0,
                    "",
                )
                for _, row in nota.iterrows()
            ],
        }
    )


def confusion_patching_view(patches: pd.DataFrame) -> pd.DataFrame:
    """Per number of patched features: pairs, the mean share of the A − B margin gap closed (bootstrap CI),
    the median, and how far the margin moved."""
    rows = []
    for count, group in patches.groupby("n_features", sort=True):
        recovery = group["recovery"].dropna().to_numpy()
        interval = bootstrap_mean_ci(recovery)
        rows.append(
            {
                "features patched": int(count),
                "pairs": len(group),
                "mean recovery [95% CI]": ci_text(recovery.mean(), interval.low, interval.high),
                "median recovery": f"{100 * float(pd.Series(recovery).median()):.1f}%",
                "mean |Δmargin| (logits)": round(float(group["delta_margin"].abs().mean()), 4),
            }
        )
    return pd.DataFrame(rows)
