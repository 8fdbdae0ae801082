"""The one visual style of every study figure: the plotly template, the colour maps, readable metric labels,
and the helpers that scale rates to percent and draw bootstrap CIs as asymmetric error bars."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio

#: Okabe–Ito, a colour-blind-safe qualitative palette.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000")
ARM_COLOURS = {
    "feature on flips": "#0072B2",
    "feature on non-flips": "#E69F00",
    "random feature on flips": "#7F7F7F",
}
QUADRANT_ORDER = ("ideal", "fragile", "dangerous", "worst")
QUADRANT_COLOURS = {"ideal": "#009E73", "fragile": "#E69F00", "dangerous": "#D55E00", "worst": "#CC79A7"}
DIRECTION_COLOURS = {"yes_to_no": "#D55E00", "no_to_yes": "#0072B2"}
DIRECTION_LABELS = {"yes_to_no": "Yes→No", "no_to_yes": "No→Yes", "none": "no flip"}
METRIC_LABELS = {
    "flip_rate": "flip rate",
    "pairwise_flip_rate": "pairwise flip rate",
    "accuracy": "accuracy",
    "text_only_agreement": "text-only agreement",
    "blank_image_flip_rate": "flip rate under a blank image",
    "swap_sensitivity": "swap sensitivity",
    "quadrant_fraction": "quadrant fraction",
    "quadrant_accuracy": "quadrant accuracy",
    "quadrant_entropy_bits": "quadrant yes/no entropy (bits)",
    "label_source": "answers labelled by",
    "flip_rate_by_phenomenon": "flip rate by phenomenon",
    "flip_rate_by_paraphrase_count": "flip rate by paraphrase count",
}
FONT_FAMILY = "Helvetica Neue, Arial, sans-serif"


class FigureInputError(ValueError):
    """Raised when a figure's input frame lacks the rows or columns it draws; the message says what."""


def label(name: str) -> str:
    """A readable label for a metric, flip direction, group or column name."""
    return METRIC_LABELS.get(name) or DIRECTION_LABELS.get(name) or name.replace("_", " ")


def template() -> go.layout.Template:
    """plotly_white with the workbench's palette, font and axis lines."""
    base = go.layout.Template(pio.templates["plotly_white"])
    base.layout.update(
        colorway=list(PALETTE),
        font={"family": FONT_FAMILY, "size": 13},
        title={"x": 0.01, "xanchor": "left", "font": {"size": 16}},
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.02, "xanchor": "right", "x": 1},
        margin={"l": 70, "r": 30, "t": 90, "b": 70},
        bargap=0.25,
    )
    base.layout.xaxis.update(showline=True, linecolor="#444", ticks="outside", automargin=True)
    base.layout.yaxis.update(showline=True, linecolor="#444", ticks="outside", zeroline=True, automargin=True)
    return base


def styled(
    figure: go.Figure, title: str, x_title: str | None = None, y_title: str | None = None
) -> go.Figure:
    """Apply the template and the title; axis titles are set on the (first) x and y axes when given."""
    figure.update_layout(template=template(), title_text=title)
    if x_title is not None:
        figure.layout.xaxis.update(title_text=x_title)
    if y_title is not None:
        figure.layout.yaxis.update(title_text=y_title)
    return figure


def _clean(values: Iterable[Any], scale: float) -> list[float | None]:
    return [None if pd.isna(value) else float(value) * scale for value in values]


def scaled(values: Iterable[Any], scale: float = 100.0) -> list[float | None]:
    """Values times ``scale`` (100: a rate in percent), with NaN as None so plotly leaves a gap."""
    return _clean(values, scale)


def ci_trace_values(
    frame: pd.DataFrame,
    value: str = "value",
    low: str = "ci_low",
    high: str = "ci_high",
    scale: float = 100.0,
    unit: str = "%",
) -> dict[str, Any]:
    """The ``y``, ``error_y`` (asymmetric, from the CI bounds), ``customdata`` and ``hovertemplate`` of a
    trace that shows ``frame[value]`` with its CI; a row without a CI gets no bar."""
    values = scaled(frame[value], scale)
    lows, highs = scaled(frame[low], scale), scaled(frame[high], scale)
    above = [None if v is None or h is None else max(h - v, 0.0) for v, h in zip(values, highs, strict=True)]
    below = [
        None if v is None or lo is None else max(v - lo, 0.0) for v, lo in zip(values, lows, strict=True)
    ]
    counts = list(frame["n"]) if "n" in frame.columns else [None] * len(frame)
    number = ".1f" if unit == "%" else ".3g"
    return {
        "y": values,
        "error_y": {
            "type": "data",
            "symmetric": False,
            "array": above,
            "arrayminus": below,
            "thickness": 1.2,
        },
        "customdata": [[lo, h, n] for lo, h, n in zip(lows, highs, counts, strict=True)],
        "hovertemplate": (
            f"%{{x}}: %{{y:{number}}}{unit} [%{{customdata[0]:{number}}}, %{{customdata[1]:{number}}}]"
            "<br>n = %{customdata[2]}<extra>%{fullData.name}</extra>"
        ),
    }


def require_columns(frame: pd.DataFrame, columns: Sequence[str], what: str) -> None:
    """Raise ``FigureInputError`` unless ``frame`` has every one of ``columns``."""
    missing = [column for column in columns if column not in frame.columns]
    if missing:
        raise FigureInputError(f"{what}: the input lacks column(s) {', '.join(missing)}")


def require_rows(frame: pd.DataFrame, what: str) -> pd.DataFrame:
    """``frame`` itself, or ``FigureInputError`` when it is empty."""
    if frame.empty:
        raise FigureInputError(f"{what}: no rows to draw")
    return frame
