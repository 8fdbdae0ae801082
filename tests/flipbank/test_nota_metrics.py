"""NOTA metrics by hand."""

import doctest

import numpy as np
import pytest

import flipbank.nota_metrics
from flipbank.nota_metrics import nota_summary


def test_by_hand() -> None:
    # Four items, NOTA last. Clean: items 0–2 right (one of them unsure), item 3 wrong.
    clean = [np.array([0.9, 0.1]), np.array([0.55, 0.45]), np.array([0.2, 0.8]), np.array([0.7, 0.3])]
    clean_gold = [0, 0, 1, 1]
    # NOTA variants (gold replaced: NOTA, at index 1, is right): item 1 collapses, item 0 and 2 stay right.
    nota = [np.array([0.3, 0.7]), np.array([0.6, 0.4]), np.array([0.4, 0.6]), np.array([0.9, 0.1])]
    summary = nota_summary(clean, clean_gold, nota, [1, 1, 1, 1], nota_index=[1, 1, 1, 1])
    assert summary.accuracy_clean == 0.75 and summary.accuracy_nota == 0.5
    assert summary.nota_selection_rate == 0.5 and summary.collapse_rate == 0.25
    assert summary.mean_confidence_clean == pytest.approx((0.9 + 0.55 + 0.8 + 0.7) / 4)
    assert summary.mean_confidence_nota == pytest.approx((0.7 + 0.6 + 0.6 + 0.9) / 4)
    # among the right clean items (0, 1, 2) the collapsed one (1) is the least confident: AUROC 1
    assert summary.anticipation.value == 1.0 and summary.anticipation.n == 3


def test_the_docstring_example_runs() -> None:
    assert doctest.testmod(flipbank.nota_metrics).failed == 0
