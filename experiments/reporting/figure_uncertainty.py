"""Figures of the uncertainty analyses: the reliability diagram of the maximum yes/no probability, and what
NOTA does to a multiple-choice model (accuracy clean and under each variant, and how often NOTA is chosen).
Each takes frames and returns a plotly Figure."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from experiments.reporting.figure_style import PALETTE, require_columns, require_rows, scaled, styled


def reliability_figure(reliability: pd.DataFrame) -> go.Figure:
    """Accuracy against mean confidence per filled confidence bin (marker size: the bin's count), with the
    diagonal of perfect calibration."""
    require_columns(
        reliability, ("bin_low", "bin_high", "count", "mean_confidence", "accuracy"), "reliability"
    )
    filled = require_rows(reliability[reliability["count"] > 0].reset_index(drop=True), "reliability")
    total = int(filled["count"].sum())
    sizes = [8 + 30 * count / total for count in filled["count"]]
    points = go.Scatter(
        x=scaled(filled["mean_confidence"]),
        y=scaled(filled["accuracy"]),
        mode="markers+lines",
        marker={"size": sizes, "color": PALETTE[0]},
        text=[f"{int(c)} questions" for c in filled["count"]],
        name="confidence bins",
    )
    diagonal = go.Scatter(
        x=[0, 100], y=[0, 100], mode="lines", line={"dash": "dot", "color": "grey"}, name="calibrated"
    )
    title = f"Reliability of the maximum yes/no probability ({total} original questions, 10 bins)"
    return styled(go.Figure([diagonal, points]), title, "mean confidence (%)", "accuracy (%)")


def nota_figure(nota: pd.DataFrame) -> go.Figure:
    """Per NOTA variant: accuracy on the clean items and on their NOTA versions, and the NOTA selection
    rate."""
    require_columns(nota, ("variant", "accuracy_clean", "accuracy_nota", "nota_selection_rate"), "NOTA")
    rows = require_rows(nota, "NOTA")
    bars = [
        go.Bar(x=list(rows["variant"]), y=scaled(rows[column]), name=name, marker_color=PALETTE[index])
        for index, (column, name) in enumerate(
            (
                ("accuracy_clean", "accuracy, clean"),
                ("accuracy_nota", "accuracy with NOTA"),
                ("nota_selection_rate", "NOTA chosen"),
            )
        )
    ]
    title = f"NOTA: accuracy before and after ({int(rows['n_items'].iloc[0])} items)"
    return styled(go.Figure(bars), title, "NOTA variant", "% of items")
