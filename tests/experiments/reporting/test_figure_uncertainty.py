"""The uncertainty figures on hand-made frames: the reliability diagram and NOTA before/after."""

from __future__ import annotations

import pandas as pd
import pytest

from experiments.reporting.figure_style import FigureInputError
from experiments.reporting.figure_uncertainty import nota_figure, reliability_figure
from experiments.reporting.reliance_tables import nota_view, quadrant_uncertainty_view
from flipbank.uncertainty_metrics import reliability_table


def nota_frame() -> pd.DataFrame:
    """Two NOTA variants of ten items (what the NOTA step writes)."""
    return pd.DataFrame(
        {
            "variant": ["replace_gold (last)", "wrong_extra (last)"],
            "n_items": [10, 10],
            "accuracy_clean": [0.8, 0.8],
            "accuracy_nota": [0.1, 0.6],
            "nota_selection_rate": [0.1, 0.2],
            "mean_confidence_clean": [0.7, 0.7],
            "mean_confidence_nota": [0.65, 0.68],
            "collapse_rate": [0.7, 0.3],
            "anticipation_auroc": [0.6, 0.5],
            "anticipation_ci_low": [0.3, 0.2],
            "anticipation_ci_high": [0.9, 0.8],
        }
    )


def test_the_reliability_diagram_plots_filled_bins_against_the_diagonal() -> None:
    table = reliability_table([0.55, 0.58, 0.95, 1.0], [True, False, True, True])
    figure = reliability_figure(table)
    diagonal, points = figure.data
    assert list(diagonal.x) == [0, 100]
    assert list(points.x) == pytest.approx([56.5, 97.5]) and list(points.y) == pytest.approx([50.0, 100.0])
    assert "4 original questions" in figure.layout.title.text
    with pytest.raises(FigureInputError):
        reliability_figure(table.assign(count=0))


def test_the_nota_figure_and_table_show_accuracy_before_and_after() -> None:
    figure = nota_figure(nota_frame())
    assert [bar.name for bar in figure.data] == ["accuracy, clean", "accuracy with NOTA", "NOTA chosen"]
    assert list(figure.data[1].y) == pytest.approx([10.0, 60.0])
    view = nota_view(nota_frame())
    assert view["accuracy clean → NOTA (%)"].tolist() == ["80.0 → 10.0", "80.0 → 60.0"]
    assert view["anticipation AUROC [95% CI]"].iloc[0] == "0.600 [0.300, 0.900]"


def test_uncertainty_by_quadrant_is_one_row_per_quadrant_in_order() -> None:
    long = pd.DataFrame(
        {
            "quadrant": ["worst", "worst", "ideal", "ideal"],
            "method": ["accuracy", "entropy_bits", "accuracy", "entropy_bits"],
            "mean": [0.5, 0.8, 1.0, 0.1],
            "n": [2, 2, 3, 3],
        }
    )
    view = quadrant_uncertainty_view(long)
    assert view["quadrant"].tolist() == ["ideal", "worst"]
    assert view["accuracy"].tolist() == [100.0, 50.0] and view["entropy bits"].tolist() == [0.1, 0.8]
    assert view["questions"].tolist() == [3, 2]
