"""The paper's tables as display frames for the run report: rates in percent with their 95 % CIs in one
cell, margins in logits, counts as integers. Frames in, frames out."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import pandas as pd

from experiments.reporting.figure_causal import CLAMP_METRICS, flip_arm_rows
from experiments.reporting.figure_flipbank import composition_counts
from experiments.reporting.figure_style import QUADRANT_ORDER, label
from experiments.steps.robustness_table import NON_RATE_UNITS
from flipbank.causal_metrics import SUMMARY_COLUMNS

TOP_FEATURE_ROWS = 20
#: Robustness metrics shown in their own tables rather than in the list of rates.
OWN_TABLE_METRICS = ("quadrant_fraction", "quadrant_accuracy", "quadrant_entropy_bits", "label_source")
#: A cell that does not apply (e.g. recovery on the non-flip control arm).
NOT_APPLICABLE = "—"


def _number(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def ci_text(
    value: Any,
    low: Any = None,
    high: Any = None,
    scale: float = 100.0,
    unit: str = "%",
    signed: bool | None = None,
) -> str:
    """``"15.6% [12.0, 19.1]"``; ``scale=1, unit=" logits"`` for margins (signed unless ``signed=False``,
    e.g. for |Δmargin|), ``unit=" bits"`` for entropies; "n/a" when there is no value."""
    number = _number(value)
    if math.isnan(number):
        return "n/a"
    digits = 1 if unit == "%" else 3
    sign = unit == " logits" if signed is None else signed
    text = f"{number * scale:+.{digits}f}" if sign else f"{number * scale:.{digits}f}"
    low_number, high_number = _number(low), _number(high)
    if math.isnan(low_number) or math.isnan(high_number):
        return f"{text}{unit}"
    return f"{text}{unit} [{low_number * scale:.{digits}f}, {high_number * scale:.{digits}f}]"


def _value_cell(metric: str, value: Any, low: Any, high: Any) -> str:
    unit = NON_RATE_UNITS.get(metric)
    return ci_text(value, low, high) if unit is None else ci_text(value, low, high, 1.0, f" {unit}")


def robustness_view(robustness: pd.DataFrame) -> pd.DataFrame:
    """PSF-Med Tables 2–3, 20 and the image metrics: one line per metric and group (the quadrants and the
    label sources have their own tables: ``quadrant_view``, ``label_source_view``)."""
    rows = robustness[~robustness["metric"].isin(OWN_TABLE_METRICS)]
    return pd.DataFrame(
        {
            "metric": [label(metric) for metric in rows["metric"]],
            "group": list(rows["group"]),
            "value [95% CI]": [
                _value_cell(r.metric, r.value, r.ci_low, r.ci_high) for r in rows.itertuples(index=False)
            ],
            "n": list(rows["n"]),
            "excluded units": list(rows["n_excluded"]),
            "excluded answers": list(rows["excluded_answers"]),
            "image condition": list(rows["image_condition"]),
        }
    )


def _ci_cells(rows: pd.DataFrame, scale: float = 100.0, unit: str = "%") -> list[str]:
    values = zip(rows["value"], rows["ci_low"], rows["ci_high"], strict=True)
    return [ci_text(value, low, high, scale, unit) for value, low, high in values]


def _by_quadrant(robustness: pd.DataFrame, metric: str) -> pd.DataFrame:
    rows = robustness[robustness["metric"] == metric].drop_duplicates("group").set_index("group")
    return rows.reindex(list(QUADRANT_ORDER))


def quadrant_view(robustness: pd.DataFrame) -> pd.DataFrame:
    """The four quadrants side by side: share of the classified questions, accuracy of their originals and
    mean yes/no entropy (bits), each with its CI; the questions in each, those with scores, the questions
    that could not be classified, and the condition image reliance was judged against. Empty (no columns)
    without quadrant rows (a text-only run)."""
    if not (robustness["metric"] == "quadrant_fraction").any():
        return pd.DataFrame()
    fraction = _by_quadrant(robustness, "quadrant_fraction")
    accuracy, entropy = (_by_quadrant(robustness, m) for m in ("quadrant_accuracy", "quadrant_entropy_bits"))
    reliance = fraction.get("reliance_condition", pd.Series(index=fraction.index, dtype=object))
    return pd.DataFrame(
        {
            "quadrant": [quadrant.capitalize() for quadrant in QUADRANT_ORDER],
            "share of questions [95% CI]": _ci_cells(fraction),
            "accuracy [95% CI]": _ci_cells(accuracy),
            "mean yes/no entropy [95% CI]": _ci_cells(entropy, 1.0, " bits"),
            "questions": [_count(n) for n in accuracy["n"]],
            "with scores": [_count(n) for n in entropy["n"]],
            "unclassified questions": [_count(n) for n in fraction["n_excluded"]],
            "image reliance vs": [value if isinstance(value, str) else NOT_APPLICABLE for value in reliance],
        }
    )


def label_source_view(robustness: pd.DataFrame) -> pd.DataFrame:
    """Where the parsed answers' labels came from (leading word, keyword, fallback): each source's share of
    the parsed answers with its CI, its count, and the answers that did not parse. Empty (no columns) when
    the mining rows did not record label sources."""
    rows = robustness[robustness["metric"] == "label_source"]
    if rows.empty:
        return pd.DataFrame()
    return pd.DataFrame(
        {
            "label source": [label(source) for source in rows["group"]],
            "share of parsed answers [95% CI]": _ci_cells(rows),
            "answers": list(rows["n"]),
            "unparsed answers": list(rows["excluded_answers"]),
            "image condition": list(rows["image_condition"]),
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


def _count(value: Any) -> str:
    return NOT_APPLICABLE if pd.isna(value) else str(int(value))


def _flip_cells(r: Any) -> dict[str, str]:
    """The flip-arm metrics of one summary row (recovery, reversals out of the sign flips, gap floor)."""
    floor = "" if pd.isna(r.gap_floor) else f" (< {r.gap_floor:g} logits)"
    return {
        "sign flips": _count(r.n_sign_flips),
        "parsed flips, no sign flip": _count(r.n_parsed_not_sign_flips),
        "mean recovery [95% CI]": ci_text(r.mean_recovery, r.mean_recovery_low, r.mean_recovery_high),
        "median recovery": ci_text(r.median_recovery),
        "recovery > 50%": ci_text(r.share_recovery_above_50pct),
        "aggregate recovery [95% CI]": ci_text(
            r.aggregate_recovery, r.aggregate_recovery_low, r.aggregate_recovery_high
        ),
        "full reversals / sign flips": f"{_count(r.full_reversals)} / {_count(r.n_sign_flips)}",
        "small gaps": f"{_count(r.n_below_gap_floor)} / {r.n}{floor}",
        "mean shift [95% CI]": ci_text(r.mean_shift, r.mean_shift_low, r.mean_shift_high, 1.0, " logits"),
    }


def _recovery_cells(frame: pd.DataFrame) -> pd.DataFrame:
    """One line per summary row; the non-flip control's flip-arm cells are "—" (they do not apply), and every
    row has its mean |Δmargin|. Columns a summary lacks (written by an older version) read as n/a."""
    flips = list(flip_arm_rows(frame))
    rows = frame.reindex(columns=list(dict.fromkeys([*frame.columns, *SUMMARY_COLUMNS])))
    lines = []
    for r, has_flip_metrics in zip(rows.itertuples(index=False), flips, strict=True):
        cells = _flip_cells(r)
        if not has_flip_metrics:
            cells = dict.fromkeys(cells, NOT_APPLICABLE)
        moved = (r.mean_abs_delta_margin, r.mean_abs_delta_margin_low, r.mean_abs_delta_margin_high)
        lines.append(
            {"n": r.n, **cells, "mean |Δmargin| [95% CI]": ci_text(*moved, 1.0, " logits", signed=False)}
        )
    return pd.DataFrame(lines)


def patching_view(summary: pd.DataFrame) -> pd.DataFrame:
    """PSF-Med Tables 7, 18: every arm overall and by finding, phenomenon and direction; recovery and
    reversals for the arms on FlipBank pairs, "—" for the non-flip control, mean |Δmargin| for all."""
    ordered = summary.assign(overall=summary["group_by"] != "all").sort_values(["overall"], kind="stable")
    head = pd.DataFrame(
        {
            "arm": list(ordered["arm"]),
            "grouped by": list(ordered["group_by"]),
            "group": [label(g) for g in ordered["group"]],
        }
    )
    return pd.concat([head, _recovery_cells(ordered)], axis=1)


def layer_sweep_view(sweep: pd.DataFrame) -> pd.DataFrame:
    """PSF-Med Table 19: recovery by layer for each kind of patch."""
    ordered = sweep.sort_values(["patch", "layer"], kind="stable")
    head = pd.DataFrame({"patch": list(ordered["patch"]), "layer": list(ordered["layer"])})
    return pd.concat([head, _recovery_cells(ordered)], axis=1)


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
