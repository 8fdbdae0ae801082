"""Feature-discovery figures (PSF-Med Fig. 5, Tables 5–6): the top SAE features by mean |Δf| with the
Pearson and Spearman r of Δf against Δmargin (bootstrap CIs), and the per-pair scatter of one feature's Δf
against Δmargin."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from experiments.reporting.figure_style import (
    PALETTE,
    FigureInputError,
    ci_trace_values,
    require_columns,
    require_rows,
    styled,
)

TOP_FEATURES = 20


def delta_column(feature: int) -> str:
    """The column of ``features/pairs.parquet`` that holds a feature's Δf."""
    return f"delta_f[{feature}]"


def top_features_figure(features: pd.DataFrame, k: int = TOP_FEATURES) -> go.Figure:
    """The ``k`` top-ranked features: mean |Δf| over the pairs (top panel) and the correlation of Δf with
    Δmargin with its CI (bottom panel)."""
    require_columns(features, ("feature", "rank", "mean_abs_delta", "pearson_r"), "top features")
    top = require_rows(features.sort_values("rank").head(k).reset_index(drop=True), "top features")
    names = [f"f{int(feature)}" for feature in top["feature"]]
    figure = make_subplots(rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.08, row_heights=[0.45, 0.55])
    figure.add_trace(
        go.Bar(x=names, y=list(top["mean_abs_delta"]), name="mean |Δf|", marker_color=PALETTE[0]),
        row=1,
        col=1,
    )
    for method, colour, offset in (
        ("pearson", PALETTE[3], "Pearson r"),
        ("spearman", PALETTE[2], "Spearman ρ"),
    ):
        columns = (f"{method}_r", f"{method}_ci_low", f"{method}_ci_high")
        if not set(columns) <= set(top.columns):
            continue
        values = ci_trace_values(top, *columns, scale=1.0, unit="")
        figure.add_trace(
            go.Scatter(x=names, mode="markers", name=offset, marker={"size": 9, "color": colour}, **values),
            row=2,
            col=1,
        )
    figure.add_hline(y=0, line_color="#999", row=2, col=1)
    figure.update_yaxes(title_text="mean |Δf| (SAE activation)", row=1, col=1)
    figure.update_yaxes(title_text="r of Δf vs Δmargin", range=[-1.05, 1.05], row=2, col=1)
    figure.update_xaxes(title_text="SAE feature (ranked by mean |Δf|)", type="category", row=2, col=1)
    return styled(figure, f"Top {len(top)} features by mean |Δf| (paraphrase − original)")


def _chosen_feature(pairs: pd.DataFrame, features: pd.DataFrame, feature: int | None) -> pd.Series:
    ranked = features.sort_values("rank")
    if feature is not None:
        ranked = ranked[ranked["feature"] == feature]
    available = ranked[[delta_column(int(f)) in pairs.columns for f in ranked["feature"]]]
    if available.empty:
        wanted = "the top features" if feature is None else f"feature {feature}"
        raise FigureInputError(f"Δf scatter: the pairs table has no Δf column for {wanted}")
    return available.iloc[0]


def _fit_line(x: np.ndarray, y: np.ndarray) -> go.Scatter | None:
    finite = np.isfinite(x) & np.isfinite(y)
    if finite.sum() < 2 or np.ptp(x[finite]) == 0:
        return None
    slope, intercept = np.polyfit(x[finite], y[finite], 1)
    ends = np.array([x[finite].min(), x[finite].max()])
    return go.Scatter(
        x=list(ends), y=list(slope * ends + intercept), mode="lines", name="least-squares fit",
        line={"color": "#444", "dash": "dot"},
    )  # fmt: skip


def feature_delta_scatter_figure(
    pairs: pd.DataFrame, features: pd.DataFrame, feature: int | None = None
) -> go.Figure:
    """Δf of ``feature`` (default: the top-ranked feature with a Δf column) against Δmargin, one point per
    pair, flip and non-flip pairs apart, with a least-squares line and the table's Pearson r and CI."""
    require_columns(pairs, ("delta_margin", "flipped"), "Δf scatter")
    require_columns(features, ("feature", "rank", "pearson_r"), "Δf scatter")
    row = _chosen_feature(require_rows(pairs, "Δf scatter"), features, feature)
    chosen, column = int(row["feature"]), delta_column(int(row["feature"]))
    figure = go.Figure()
    for flipped, name, colour in (
        (True, "FlipBank pairs", PALETTE[3]),
        (False, "non-flip pairs", PALETTE[0]),
    ):
        subset = pairs[pairs["flipped"].astype(bool) == flipped]
        if subset.empty:
            continue
        hover = subset["phenomenon"].astype(str) if "phenomenon" in subset.columns else None
        figure.add_trace(
            go.Scatter(
                x=list(subset[column]),
                y=list(subset["delta_margin"]),
                mode="markers",
                name=name,
                text=None if hover is None else list(hover),
                marker={"size": 9, "color": colour, "opacity": 0.8},
                hovertemplate="Δf %{x:.3g}, Δmargin %{y:.3g} logits<br>%{text}"
                "<extra>%{fullData.name}</extra>",
            )
        )
    line = _fit_line(pairs[column].to_numpy(float), pairs["delta_margin"].to_numpy(float))
    if line is not None:
        figure.add_trace(line)
    title = f"Feature {chosen}: Δf vs Δmargin (Pearson r = {row['pearson_r']:.2f}"
    if {"pearson_ci_low", "pearson_ci_high"} <= set(row.index):
        title += f" [{row['pearson_ci_low']:.2f}, {row['pearson_ci_high']:.2f}]"
    title += f", n = {len(pairs)})"
    return styled(figure, title, f"Δf{chosen} (SAE activation, paraphrase − original)", "Δmargin (logits)")


def feature_image_maps_figure(maps: pd.DataFrame) -> go.Figure:
    """One heatmap per (feature, picture): the feature's activation on each image token of the original
    prompt, on the token grid (row 0 at the top of the picture); one colour scale per feature row."""
    require_columns(maps, ("feature", "question_id", "finding", "row", "col", "activation"), "image maps")
    require_rows(maps, "image maps")
    features = list(dict.fromkeys(maps["feature"]))
    cases = list(dict.fromkeys(zip(maps["question_id"], maps["finding"], strict=True)))
    titles = [f"f{feature} · {question} ({finding})" for feature in features for question, finding in cases]
    figure = make_subplots(rows=len(features), cols=len(cases), subplot_titles=titles)
    for i, feature in enumerate(features):
        of_feature = maps[maps["feature"] == feature]
        top = float(of_feature["activation"].max()) or 1.0
        for j, (question, _) in enumerate(cases):
            grid = of_feature[of_feature["question_id"] == question].pivot(
                index="row", columns="col", values="activation"
            )
            figure.add_trace(
                go.Heatmap(z=grid.to_numpy(), zmin=0.0, zmax=top, colorscale="Viridis", showscale=j == 0),
                row=i + 1,
                col=j + 1,
            )
    figure.update_yaxes(autorange="reversed", showticklabels=False)
    figure.update_xaxes(showticklabels=False)
    figure.update_annotations(font_size=10)
    return styled(figure, "Top features on image tokens of FlipBank pictures (SAE activation per token)")
