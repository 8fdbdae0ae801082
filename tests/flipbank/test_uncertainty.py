"""Per-question uncertainty from mined rows, and its anticipation of paraphrase flips."""

import numpy as np
import pandas as pd
import pytest

from flipbank.uncertainty import flip_anticipation, question_uncertainty, yes_no_entropy_bits


def _rows(margins: dict[str, list[float]]) -> pd.DataFrame:
    records = []
    for question, values in margins.items():
        for index, margin in enumerate(values):
            records.append(
                {
                    "question_id": question,
                    "variant_index": index,
                    "image_condition": "real",
                    "phenomenon": None if index == 0 else "lexical_substitution",
                    "parsed_answer": "yes" if margin > 0 else "no",
                    "margin": margin,
                    "scores_available": True,
                }
            )
    return pd.DataFrame(records)


def test_estimates_by_hand() -> None:
    table = question_uncertainty(_rows({"a": [0.0, 2.0], "b": [np.log(3), np.log(3)]}))
    assert table.loc["a", "one_minus_max_probability"] == pytest.approx(0.5)
    assert table.loc["a", "entropy_bits"] == pytest.approx(1.0)
    assert table.loc["b", "one_minus_max_probability"] == pytest.approx(0.25)  # σ(log 3) = 3/4
    assert table.loc["b", "entropy_bits"] == pytest.approx(-(0.75 * np.log2(0.75) + 0.25 * np.log2(0.25)))
    assert (
        table.loc["a", "paraphrase_spread"] == pytest.approx(1.0) and table.loc["b", "paraphrase_spread"] == 0
    )
    assert yes_no_entropy_bits(np.array([1e4]))[0] == pytest.approx(0.0)


def test_uncertain_originals_that_flip_give_auroc_one() -> None:
    # a and b are near 0 and flip; c and d are confident and do not.
    rows = _rows({"a": [0.1, -1.0], "b": [-0.2, 1.0], "c": [4.0, 3.0], "d": [-5.0, -4.0]})
    table = flip_anticipation(rows).set_index("method")
    for method in ("one_minus_max_probability", "entropy_bits", "negative_abs_margin", "paraphrase_spread"):
        assert table.loc[method, "auroc"] == pytest.approx(1.0)
    assert int(table.loc["entropy_bits", "n"]) == 4 and int(table.loc["entropy_bits", "n_flipped"]) == 2
