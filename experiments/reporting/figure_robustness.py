"""Figures of the robustness table (PSF-Med Tables 2–3, 20 and the companion paper's taxonomy): flip rate by
phenomenon and by paraphrase count, grounding metrics, quadrant fractions, accuracy and entropy, and flip rate
against the Dangerous fraction across configurations. Each takes frames and returns a plotly Figure."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from experiments.reporting.figure_style import (
    PALETTE,
    QUADRANT_COLOURS,
    QUADRANT_ORDER,
    FigureInputError,
    ci_trace_values,
    label,
    require_columns,
    require_rows,
    scaled,
    styled,
)

ROBUSTNESS_COLUMNS = ("metric", "group", "value", "ci_low", "ci_high", "n")
GROUNDING_BARS = (
    ("text_only_agreement", "blank", "text-only agreement (blank image)"),
    ("text_only_agreement", "none", "text-only agreement (no image)"),
    ("blank_image_flip_rate", None, "flip rate under a blank image"),
    ("swap_sensitivity", None, "swap sensitivity (another patient's image)"),
)


def metric_rows(robustness: pd.DataFrame, metric: str, what: str) -> pd.DataFrame:
    """The rows of one metric of the long robustness table, or ``FigureInputError`` when there are none."""
    require_columns(robustness, ROBUSTNESS_COLUMNS, what)
    return require_rows(robustness[robustness["metric"] == metric].reset_index(drop=True), what)


def flip_rate_by_phenomenon_figure(robustness: pd.DataFrame) -> go.Figure:
    """PSF-Med Tables 2–3: the flip rate per paraphrase phenomenon with its CI, and the overall flip rate as
    a dashed reference line."""
    rows = metric_rows(robustness, "flip_rate_by_phenomenon", "flip rate by phenomenon")
    figure = go.Figure(
        go.Bar(
            x=[label(group) for group in rows["group"]],
            name="flip rate",
            marker_color=PALETTE[0],
            **ci_trace_values(rows),
        )
    )
    overall = robustness[robustness["metric"] == "flip_rate"]
    if not overall.empty and pd.notna(overall["value"].iloc[0]):
        level = 100 * float(overall["value"].iloc[0])
        figure.add_hline(
            y=level, line_dash="dash", line_color="#444", annotation_text=f"all phenomena: {level:.1f}%"
        )
    return styled(figure, "Flip rate by paraphrase phenomenon", "phenomenon", "flip rate (%)")


def flip_rate_by_paraphrase_count_figure(robustness: pd.DataFrame) -> go.Figure:
    """PSF-Med Table 20: the flip rate when each question is judged on its first k paraphrases."""
    rows = metric_rows(robustness, "flip_rate_by_paraphrase_count", "flip rate by paraphrase count")
    rows = rows.assign(count=rows["group"].astype(int)).sort_values("count")
    figure = go.Figure(
        go.Scatter(
            x=list(rows["count"]),
            mode="lines+markers",
            name="flip rate",
            line_color=PALETTE[0],
            **ci_trace_values(rows),
        )
    )
    figure.update_layout(xaxis_dtick=1)
    return styled(
        figure,
        "Flip rate by number of paraphrases per question",
        "paraphrases per question (count)",
        "flip rate (%)",
    )


def grounding_figure(robustness: pd.DataFrame) -> go.Figure:
    """Grounding metrics: text-only agreement (blank image and no image), the flip rate under a blank
    image, and swap sensitivity. Raises ``FigureInputError`` on a run without image conditions."""
    require_columns(robustness, ROBUSTNESS_COLUMNS, "grounding metrics")
    picked = []
    for metric, group, name in GROUNDING_BARS:
        rows = robustness[robustness["metric"] == metric]
        if group is not None:
            rows = rows[rows["group"] == group]
        if not rows.empty:
            picked.append(rows.iloc[[0]].assign(name=name))
    if not picked:
        raise FigureInputError("grounding metrics: no image conditions were mined (text-only run)")
    rows = pd.concat(picked, ignore_index=True)
    figure = go.Figure(
        go.Bar(
            x=list(rows["name"]),
            name="grounding",
            marker_color=[PALETTE[index % len(PALETTE)] for index in range(len(rows))],
            **ci_trace_values(rows),
        )
    )
    return styled(figure, "Grounding: does the answer depend on the image?", "metric", "questions (%)")


def _in_quadrant_order(rows: pd.DataFrame) -> pd.DataFrame:
    present = [q for q in QUADRANT_ORDER if q in set(rows["group"])]
    return rows.drop_duplicates("group").set_index("group").reindex(present).reset_index()


def _quadrant_bars(rows: pd.DataFrame, name: str, pattern: str, scale: float, unit: str) -> go.Bar:
    ordered = _in_quadrant_order(rows)
    return go.Bar(
        x=[group.capitalize() for group in ordered["group"]],
        name=name,
        marker_color=[QUADRANT_COLOURS.get(group, PALETTE[0]) for group in ordered["group"]],
        marker_pattern_shape=pattern,
        marker_opacity=0.5 if pattern else 1.0,
        **ci_trace_values(ordered, scale=scale, unit=unit),
    )


def _reliance_text(fractions: pd.DataFrame) -> str:
    if "reliance_condition" not in fractions.columns:
        return ""
    conditions = fractions["reliance_condition"].dropna()
    return f" vs the {conditions.iloc[0]} condition" if len(conditions) else ""


def quadrant_figure(robustness: pd.DataFrame) -> go.Figure:
    """The four-quadrant taxonomy: each quadrant's share of the questions and the accuracy of its originals
    (percent), and, in a second panel when the table has it, the mean yes/no entropy of its originals (bits),
    all with CIs. The title names the condition image reliance was judged against."""
    fractions = metric_rows(robustness, "quadrant_fraction", "quadrant fractions")
    accuracy = robustness[robustness["metric"] == "quadrant_accuracy"]
    entropy = robustness[robustness["metric"] == "quadrant_entropy_bits"]
    figure = make_subplots(rows=1, cols=2 if len(entropy) else 1, horizontal_spacing=0.12)
    figure.add_trace(_quadrant_bars(fractions, "share of questions", "", 100.0, "%"), row=1, col=1)
    if not accuracy.empty:
        figure.add_trace(_quadrant_bars(accuracy, "accuracy", "/", 100.0, "%"), row=1, col=1)
    figure.update_yaxes(title_text="percent (%)", row=1, col=1)
    figure.update_xaxes(title_text="quadrant", row=1, col=1)
    if len(entropy):
        bars = _quadrant_bars(entropy, "mean yes/no entropy", ".", 1.0, " bits")
        figure.add_trace(bars, row=1, col=2)
        figure.update_yaxes(title_text="mean yes/no entropy (bits)", range=[0, 1.05], row=1, col=2)
        figure.update_xaxes(title_text="quadrant", row=1, col=2)
    figure.update_layout(barmode="group")
    title = f"Four-quadrant taxonomy (consistency × image reliance{_reliance_text(fractions)})"
    return styled(figure, title)


def flip_vs_dangerous_figure(configurations: pd.DataFrame) -> go.Figure:
    """Flip rate against the Dangerous fraction, one point per configuration (with CIs where the frame has
    ``*_low``/``*_high`` columns), and the Pearson r across configurations in the title."""
    require_columns(configurations, ("configuration", "flip_rate", "dangerous_fraction"), "flip vs Dangerous")
    rows = configurations.dropna(subset=["flip_rate", "dangerous_fraction"]).reset_index(drop=True)
    if len(rows) < 2:
        raise FigureInputError("flip vs Dangerous: needs at least two configurations")
    trace = go.Scatter(
        x=scaled(rows["dangerous_fraction"]),
        y=scaled(rows["flip_rate"]),
        mode="markers+text",
        text=list(rows["configuration"]),
        textposition="top center",
        name="configuration",
        marker={"size": 11, "color": PALETTE[3]},
    )
    if {"flip_rate_low", "flip_rate_high"} <= set(rows.columns):
        values = ci_trace_values(rows, "flip_rate", "flip_rate_low", "flip_rate_high")
        trace.error_y = values["error_y"]
    if {"dangerous_low", "dangerous_high"} <= set(rows.columns):
        values = ci_trace_values(rows, "dangerous_fraction", "dangerous_low", "dangerous_high")
        trace.error_x = values["error_y"]
    title = "Flip rate vs Dangerous fraction across configurations"
    x, y = rows["dangerous_fraction"].to_numpy(float), rows["flip_rate"].to_numpy(float)
    if len(rows) >= 3 and np.ptp(x) > 0 and np.ptp(y) > 0:
        title += f" (Pearson r = {np.corrcoef(x, y)[0, 1]:.2f}, n = {len(rows)})"
    return styled(go.Figure(trace), title, "Dangerous fraction (% of questions)", "flip rate (%)")
