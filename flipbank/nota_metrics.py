"""What NOTA does to a multiple-choice model, pure: accuracy on the clean items and on their NOTA variants,
how often NOTA is chosen, the shift in confidence (max option probability), which items collapse (right
when clean, wrong under NOTA), and how well uncertainty on the clean item anticipates the collapse (AUROC).

>>> clean = [np.array([0.9, 0.1]), np.array([0.6, 0.4])]
>>> nota = [np.array([0.8, 0.2]), np.array([0.3, 0.7])]
>>> summary = nota_summary(clean, [0, 0], nota, [1, 1], nota_index=[1, 1])
>>> summary.accuracy_clean, summary.accuracy_nota, summary.nota_selection_rate
(1.0, 0.5, 0.5)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from flipbank.statistics import DEFAULT_SEED
from flipbank.uncertainty_metrics import UncertaintyMetric, auroc, with_bootstrap


@dataclass(frozen=True)
class NotaSummary:
    """Accuracies, NOTA selection, mean confidence before and after, collapses and their anticipation by
    clean-item uncertainty (1 − max probability)."""

    n_items: int
    accuracy_clean: float
    accuracy_nota: float
    nota_selection_rate: float
    mean_confidence_clean: float
    mean_confidence_nota: float
    collapse_rate: float
    anticipation: UncertaintyMetric


def _picks(
    probabilities: Sequence[NDArray[np.float64]], picks: Sequence[int | None] | None
) -> NDArray[np.int64]:
    """The chosen option per item: ``picks`` (None → −1, matching no option) or the most probable one."""
    if picks is None:
        return np.array([int(np.argmax(p)) for p in probabilities], dtype=np.int64)
    if len(picks) != len(probabilities):
        raise ValueError(f"{len(picks)} picks for {len(probabilities)} items")
    return np.array([-1 if pick is None else pick for pick in picks], dtype=np.int64)


def nota_summary(
    clean: Sequence[NDArray[np.float64]],
    clean_gold: Sequence[int],
    nota: Sequence[NDArray[np.float64]],
    nota_gold: Sequence[int],
    nota_index: Sequence[int],
    seed: int = DEFAULT_SEED,
    clean_picks: Sequence[int | None] | None = None,
    nota_picks: Sequence[int | None] | None = None,
) -> NotaSummary:
    """Scores of each item's option probabilities clean and under NOTA (``nota_index``: where NOTA sits).
    An answer is the most probable option, or the given picks (a parsed greedy answer; None: invalid,
    counted wrong and never NOTA); confidence is always the maximum option probability."""
    picked_clean = _picks(clean, clean_picks)
    picked_nota = _picks(nota, nota_picks)
    right_clean = picked_clean == np.asarray(clean_gold)
    right_nota = picked_nota == np.asarray(nota_gold)
    collapsed = right_clean & ~right_nota
    uncertainty = np.array([1.0 - float(np.max(p)) for p in clean])
    anticipation = with_bootstrap(auroc, uncertainty[right_clean], collapsed[right_clean], seed=seed)
    return NotaSummary(
        n_items=len(clean),
        accuracy_clean=float(right_clean.mean()),
        accuracy_nota=float(right_nota.mean()),
        nota_selection_rate=float((picked_nota == np.asarray(nota_index)).mean()),
        mean_confidence_clean=float(np.mean([np.max(p) for p in clean])),
        mean_confidence_nota=float(np.mean([np.max(p) for p in nota])),
        collapse_rate=float(collapsed.mean()),
        anticipation=anticipation,
    )
