"""Per-question uncertainty from mined rows, and its anticipation of paraphrase flips."""

import numpy as np
import pandas as pd
import pytest

from flipbank.uncertainty import (
    error_detection,
    flip_anticipation,
    question_uncertainty,
    uncertainty_by_quadrant,
    uncertainty_table,
    yes_no_entropy_bits,
)


def _rows(margins: dict[str, list[float]], truth: dict[str, str] | None = None) -> pd.DataFrame:
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
                    "ground_truth": (truth or {}).get(question, "yes"),
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


def test_error_detection_and_calibration_by_hand() -> None:
    # originals: a says yes at σ(log 3) = 0.75 and is wrong; b says yes at 0.9 and is right; c says no at
    # σ(log 4) = 0.8 and is right; d says no at 0.5 + ε, wrong.
    margins = {"a": [np.log(3)], "b": [np.log(9)], "c": [-np.log(4)], "d": [-1e-9]}
    rows = _rows(margins, truth={"a": "no", "b": "yes", "c": "no", "d": "yes"})
    table = error_detection(rows).set_index(["method", "metric"])
    # wrong answers (a 0.75, d 0.5) are less confident than right ones (b 0.9, c 0.8): AUROC 1
    assert table.loc[("entropy_bits", "auroc"), "value"] == pytest.approx(1.0)
    assert table.loc[("max_probability", "brier"), "value"] == pytest.approx(
        (0.75**2 + 0.1**2 + 0.2**2 + 0.5**2) / 4
    )
    # 10 bins: 0.5 and 0.75 and 0.8 and 0.9 fall in separate bins, each gap |accuracy − confidence|
    assert table.loc[("max_probability", "ece"), "value"] == pytest.approx((0.5 + 0.75 + 0.2 + 0.1) / 4)
    assert int(table.loc[("max_probability", "ece"), "n_events"]) == 2
    both = uncertainty_table(_rows({"a": [0.1, -1.0], "b": [4.0, 3.0]}))
    assert set(both["target"]) == {"paraphrase flip", "wrong answer"}


def test_the_answer_nll_reads_the_parsed_answers_probability() -> None:
    rows = _rows({"a": [2.0, 1.0], "b": [-1.0, -3.0], "c": [0.5, -0.5]}).assign(
        p_yes=[0.8, 0.7, 0.1, 0.05, 0.5, 0.4], p_no=[0.1, 0.2, 0.6, 0.9, 0.3, 0.5]
    )
    table = question_uncertainty(rows)
    assert table["answer_nll"].tolist() == pytest.approx([-np.log(0.8), -np.log(0.6), -np.log(0.5)])
    assert "answer_nll" in set(flip_anticipation(rows)["method"])
    assert "answer_nll" not in set(flip_anticipation(_rows({"a": [0.1, -1.0], "b": [4.0, 3.0]}))["method"])


def test_greedy_nll_and_the_generated_estimates_join_by_question() -> None:
    rows = _rows({"a": [2.0, 1.0], "b": [-1.0, -3.0], "c": [0.5, -0.5]}).assign(
        greedy_nll=[0.2, 0.3, 1.5, 0.1, 0.9, 0.4], greedy_tokens=[2, 2, 3, 2, 1, 1]
    )
    generated = pd.DataFrame(
        {"sampling_entropy_bits": [0.0, 1.0], "verbalized_confidence": [90.0, np.nan]}, index=["a", "c"]
    )
    table = question_uncertainty(rows, generated=generated)
    assert table["greedy_nll"].tolist() == pytest.approx([0.2, 1.5, 0.9])
    assert table["greedy_nll_per_token"].tolist() == pytest.approx([0.1, 0.5, 0.9])
    assert table.loc["a", "sampling_entropy_bits"] == 0.0 and np.isnan(
        table.loc["b", "sampling_entropy_bits"]
    )
    assert table.loc["a", "verbalized_uncertainty"] == pytest.approx(0.1)
    assert np.isnan(table.loc["c", "verbalized_uncertainty"])  # no number given
    methods = set(flip_anticipation(rows, generated=generated)["method"])
    assert {"greedy_nll", "sampling_entropy_bits", "verbalized_uncertainty"} <= methods
    assert "greedy_nll" not in set(flip_anticipation(_rows({"a": [0.1, -1.0], "b": [4.0, 3.0]}))["method"])


def test_uncertainty_by_quadrant_averages_each_estimate_over_its_questions() -> None:
    # a: consistent, same answer without the image → dangerous; b: flips, answer changes → fragile
    rows = _rows({"a": [3.0, 2.0], "b": [0.0001, -1.0]}, truth={"a": "yes", "b": "yes"})
    blank = _rows({"a": [2.5], "b": [-2.0]}).assign(image_condition="blank")
    frame = pd.concat([rows, blank], ignore_index=True)
    table = uncertainty_by_quadrant(frame).set_index(["quadrant", "method"])
    assert table.loc[("dangerous", "accuracy"), "mean"] == 1.0
    assert table.loc[("fragile", "entropy_bits"), "mean"] == pytest.approx(1.0, abs=1e-6)
    assert table.loc[("dangerous", "one_minus_max_probability"), "mean"] == pytest.approx(1 / (1 + np.exp(3)))
    assert set(table["n"]) == {1}
