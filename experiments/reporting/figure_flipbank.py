"""The FlipBank composition figure (PSF-Med Table 16): how many curated pairs flip in each direction, and
how they spread over phenomena and findings."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from experiments.reporting.figure_style import (
    DIRECTION_COLOURS,
    DIRECTION_LABELS,
    PALETTE,
    label,
    require_columns,
    require_rows,
    styled,
)

MAX_FINDINGS = 14


def composition_counts(flipbank: pd.DataFrame, column: str, limit: int | None = None) -> pd.Series:
    """Pair counts per value of ``column`` (missing values as "unknown"), largest first, capped at ``limit``
    values with the rest pooled as "other"."""
    counts = flipbank[column].fillna("unknown").astype(str).value_counts()
    if limit is not None and len(counts) > limit:
        rest = counts.iloc[limit - 1 :].sum()
        counts = pd.concat([counts.iloc[: limit - 1], pd.Series({"other": rest})])
    return counts


def flipbank_composition_figure(flipbank: pd.DataFrame) -> go.Figure:
    """Three panels of pair counts: by flip direction, by phenomenon and by finding."""
    require_columns(flipbank, ("direction", "phenomenon", "finding"), "FlipBank composition")
    require_rows(flipbank, "FlipBank composition")
    figure = make_subplots(
        rows=1,
        cols=3,
        column_widths=[0.2, 0.35, 0.45],
        horizontal_spacing=0.08,
    )
    directions = composition_counts(flipbank, "direction")
    figure.add_trace(
        go.Bar(
            x=[DIRECTION_LABELS.get(value, value) for value in directions.index],
            y=list(directions),
            name="direction",
            marker_color=[DIRECTION_COLOURS.get(value, PALETTE[0]) for value in directions.index],
        ),
        row=1,
        col=1,
    )
    for col, column, limit, colour in (
        (2, "phenomenon", None, PALETTE[2]),
        (3, "finding", MAX_FINDINGS, PALETTE[4]),
    ):
        counts = composition_counts(flipbank, column, limit)
        figure.add_trace(
            go.Bar(
                x=[label(value) for value in counts.index], y=list(counts), name=column, marker_color=colour
            ),
            row=1,
            col=col,
        )
    for col, title in enumerate(("flip direction", "phenomenon", "finding"), start=1):
        figure.update_xaxes(title_text=title, row=1, col=col)
    figure.update_yaxes(title_text="pairs (count)", row=1, col=1)
    figure.update_layout(showlegend=False)
    return styled(figure, f"FlipBank composition ({len(flipbank)} pairs)")
