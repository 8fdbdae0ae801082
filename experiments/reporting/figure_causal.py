"""Figures of the causal experiments: delta-only patching recovery by arm and by group (PSF-Med Tables 7,
18), the layer sweep (Table 19), the clamping table as grouped bars (Tables 8, 26, 28) and, when measured,
the latency of each intervention. Recovery and reversals are drawn for the arms on FlipBank pairs only; the
non-flip control arm has none (its summary row leaves them empty) and is drawn by its mean |Δmargin|."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from experiments.reporting.figure_style import (
    ARM_COLOURS,
    PALETTE,
    ci_trace_values,
    label,
    require_columns,
    require_rows,
    styled,
)

SUMMARY_COLUMNS = (
    "arm",
    "group_by",
    "group",
    "n",
    "mean_recovery",
    "mean_recovery_low",
    "mean_recovery_high",
)
CLAMP_METRICS = ("flip_rate", "accuracy", "text_only_agreement", "swap_sensitivity")


def _recovery(frame: pd.DataFrame) -> dict[str, object]:
    return ci_trace_values(frame, "mean_recovery", "mean_recovery_low", "mean_recovery_high")


def flip_arm_rows(summary: pd.DataFrame) -> pd.Series:
    """The rows that carry flip-arm metrics (recovery, reversals, shift): every row but the non-flip
    control's, whose ``n_sign_flips`` is empty. A summary written before that column existed has them on
    every row."""
    if "n_sign_flips" not in summary.columns:
        return pd.Series(True, index=summary.index)
    return summary["n_sign_flips"].notna()


def _logits(frame: pd.DataFrame, value: str) -> dict[str, object]:
    return ci_trace_values(frame, value, f"{value}_low", f"{value}_high", scale=1.0, unit=" logits")


def _recovery_bars(flips: pd.DataFrame, colours: list[str]) -> list[go.Bar]:
    reversals = [
        f"{r} / {n} reversed" for r, n in zip(flips["full_reversals"], flips["n_sign_flips"], strict=True)
    ]
    mean = go.Bar(
        x=list(flips["arm"]),
        name="mean of per-pair recovery",
        marker_color=colours,
        text=reversals,
        **_recovery(flips),
    )
    aggregate = ci_trace_values(
        flips, "aggregate_recovery", "aggregate_recovery_low", "aggregate_recovery_high"
    )
    pooled = go.Bar(
        x=list(flips["arm"]),
        name="aggregate recovery (Σ shift / Σ |gap|)",
        marker_color=colours,
        marker_pattern_shape="/",
        marker_opacity=0.6,
        **aggregate,
    )
    return [mean, pooled]


def patching_by_arm_figure(summary: pd.DataFrame) -> go.Figure:
    """PSF-Med Table 7 per arm: recovery (%; the mean of per-pair ratios, labelled with the full reversals out
    of the margin-sign flips, and the aggregate Σ shift / Σ |gap|) and mean shift toward the original
    (logits) for the arms on FlipBank pairs; mean |Δmargin| (logits) for every arm, the non-flip control's
    only number. All with CIs."""
    columns = (*SUMMARY_COLUMNS, "full_reversals", "n_sign_flips", "aggregate_recovery", "mean_shift")
    require_columns(summary, (*columns, "mean_abs_delta_margin"), "patching by arm")
    overall = require_rows(summary[summary["group_by"] == "all"].reset_index(drop=True), "patching by arm")
    flips = overall[flip_arm_rows(overall)].reset_index(drop=True)
    figure = make_subplots(rows=1, cols=3, horizontal_spacing=0.1)
    colour = {arm: ARM_COLOURS.get(arm, PALETTE[0]) for arm in overall["arm"]}
    flip_colours = [colour[arm] for arm in flips["arm"]]
    for trace in _recovery_bars(flips, flip_colours):
        figure.add_trace(trace, row=1, col=1)
    shift = go.Bar(
        x=list(flips["arm"]),
        name="mean shift",
        marker_color=flip_colours,
        showlegend=False,
        **_logits(flips, "mean_shift"),
    )
    figure.add_trace(shift, row=1, col=2)
    moved = go.Bar(
        x=list(overall["arm"]),
        name="mean |Δmargin|",
        marker_color=[colour[arm] for arm in overall["arm"]],
        showlegend=False,
        **_logits(overall, "mean_abs_delta_margin"),
    )
    figure.add_trace(moved, row=1, col=3)
    titles = ("recovery (%)", "mean margin shift toward original (logits)", "mean |Δmargin| (logits)")
    for column, title in enumerate(titles, start=1):
        figure.update_yaxes(title_text=title, row=1, col=column)
        figure.update_xaxes(title_text="arm", row=1, col=column)
    figure.update_layout(barmode="group")
    return styled(figure, "Delta-only patching: recovery, margin shift and |Δmargin| by arm")


def patching_by_group_figure(summary: pd.DataFrame) -> go.Figure:
    """PSF-Med Table 18: mean recovery (%) with CIs per finding, phenomenon and direction, one panel per
    grouping and one bar colour per arm on FlipBank pairs (the non-flip control has no recovery)."""
    require_columns(summary, SUMMARY_COLUMNS, "patching by group")
    summary = summary[flip_arm_rows(summary)]
    groupings = [g for g in ("finding", "phenomenon", "direction") if (summary["group_by"] == g).any()]
    require_rows(summary[summary["group_by"].isin(groupings)], "patching by group")
    figure = make_subplots(rows=len(groupings), cols=1, vertical_spacing=0.12)
    for row, grouping in enumerate(groupings, start=1):
        rows = summary[summary["group_by"] == grouping]
        for arm, arm_rows in rows.groupby("arm", sort=False):
            figure.add_trace(
                go.Bar(
                    x=[label(group) for group in arm_rows["group"]],
                    name=str(arm),
                    legendgroup=str(arm),
                    showlegend=row == 1,
                    marker_color=ARM_COLOURS.get(str(arm), PALETTE[0]),
                    **_recovery(arm_rows.reset_index(drop=True)),
                ),
                row=row,
                col=1,
            )
        figure.update_yaxes(title_text="mean recovery (%)", row=row, col=1)
        figure.update_xaxes(title_text=grouping, row=row, col=1)
    figure.update_layout(barmode="group", height=320 * len(groupings) + 120)
    return styled(figure, "Delta-only patching recovery by group")


def layer_sweep_figure(sweep: pd.DataFrame) -> go.Figure:
    """PSF-Med Table 19: mean recovery (%) by layer, with CIs, for full final-token ``resid_post`` patching
    and for the SAE feature's component alone."""
    require_columns(
        sweep, ("patch", "layer", "mean_recovery", "mean_recovery_low", "mean_recovery_high"), "layer sweep"
    )
    require_rows(sweep, "layer sweep")
    figure = go.Figure()
    for index, (patch, rows) in enumerate(sweep.groupby("patch", sort=False)):
        rows = rows.sort_values("layer").reset_index(drop=True)
        single = len(rows) == 1
        figure.add_trace(
            go.Scatter(
                x=list(rows["layer"]),
                name=str(patch),
                mode="markers" if single else "lines+markers",
                marker={"size": 12 if single else 7, "symbol": "diamond" if single else "circle"},
                line_color=PALETTE[index % len(PALETTE)],
                **_recovery(rows),
            )
        )
    figure.add_hline(y=100, line_dash="dash", line_color="#999", annotation_text="full recovery")
    figure.update_layout(xaxis_dtick=1)
    return styled(figure, "Margin recovery by patched layer", "layer index", "mean recovery (%)")


def _configuration_name(rows: pd.DataFrame, name: str) -> str:
    if name == "baseline" or "flip_rate_difference" not in rows.columns:
        return name
    difference, p_value = rows.iloc[0][["flip_rate_difference", "permutation_p_value"]]
    return f"{name} (Δflip {100 * difference:+.1f} pts, p = {p_value:.2g})"


def clamping_figure(clamping: pd.DataFrame) -> go.Figure:
    """PSF-Med Tables 8, 26, 28: flip rate, accuracy, text-only agreement and swap sensitivity (%, CIs) per
    configuration; the legend carries each configuration's paired flip-rate difference and p-value."""
    require_columns(clamping, ("configuration", "metric", "value", "ci_low", "ci_high"), "clamping")
    rows = require_rows(clamping[clamping["metric"].isin(CLAMP_METRICS)], "clamping")
    order = [metric for metric in CLAMP_METRICS if metric in set(rows["metric"])]
    figure = go.Figure()
    for index, (name, group) in enumerate(rows.groupby("configuration", sort=False)):
        group = group.drop_duplicates("metric").set_index("metric").reindex(order).reset_index()
        figure.add_trace(
            go.Bar(
                x=[label(metric) for metric in group["metric"]],
                name=_configuration_name(group.dropna(subset=["configuration"]), str(name)),
                marker_color=PALETTE[index % len(PALETTE)],
                **ci_trace_values(group),
            )
        )
    figure.update_layout(barmode="group", legend={"orientation": "v", "y": 1, "x": 1.02, "xanchor": "left"})
    return styled(figure, "Clamping and normalisation against baseline", "metric", "percent (%)")


def _latency_bars(rows: pd.DataFrame, name: str, color: str) -> go.Bar:
    ratios = list(rows["ratio_to_plain"]) if "ratio_to_plain" in rows.columns else [None] * len(rows)
    return go.Bar(
        x=list(rows["method"]),
        y=list(rows["median_ms"]),
        name=name,
        text=[None if ratio is None or pd.isna(ratio) else f"×{ratio:.2f}" for ratio in ratios],
        marker_color=color,
    )


def latency_figure(latency: pd.DataFrame) -> go.Figure:
    """Median latency per method (ms), labelled with its ratio to a plain forward pass; one group of bars
    per batch size when the table has several."""
    require_columns(latency, ("method", "median_ms"), "latency")
    rows = require_rows(latency.reset_index(drop=True), "latency")
    if "batch_size" not in rows.columns:
        figure = go.Figure(_latency_bars(rows, "median latency", PALETTE[0]))
    else:
        groups = list(rows.groupby("batch_size", sort=True))
        figure = go.Figure(
            [
                _latency_bars(group, f"batch {batch_size}", PALETTE[index % len(PALETTE)])
                for index, (batch_size, group) in enumerate(groups)
            ]
        )
        figure.update_layout(barmode="group")
    return styled(
        figure, "Latency of each intervention (ratio to a plain forward)", "method", "median latency (ms)"
    )
