"""Property tests of the data side under bad input: readers keep any text exactly or refuse it with a located
RecordError, metrics and statistics give a documented result or a ValueError naming the argument, and
non-finite margins never turn into numbers."""

from __future__ import annotations

import contextlib
import csv
import io
import json
import math
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from experiments.steps.mining import NonFiniteMarginError, mine
from flipbank.causal_metrics import (
    MIN_MARGIN_GAP,
    patch_outcomes,
    summarise_non_flip_control,
    summarise_patching,
)
from flipbank.demo_bank import load_demo_bank
from flipbank.errors import RecordError
from flipbank.metrics import (
    accuracy,
    flip_rate,
    pairwise_disagreement_rate,
    swap_sensitivity,
    text_only_agreement,
)
from flipbank.mining_plan import MiningConfig, plan_jobs
from flipbank.readers import CSV_COLUMNS, read_flipbank_csv, read_psf_mimic_json
from flipbank.records import is_blank
from flipbank.statistics import (
    bootstrap_mean_ci,
    bootstrap_ratio_ci,
    mann_whitney_u,
    paired_permutation_test,
    pearson,
    spearman,
)
from interp.handle import ModelHandle
from interp.prompts import CHAT_TEMPLATE
from tests.flipbank.builders import mining_row
from tests.flipbank.test_readers import mimic_row

# Any Unicode that UTF-8 can encode; includes controls, U+2028, NUL and RTL marks.
any_text = st.text(st.characters(codec="utf-8"), max_size=40)
long_text = st.builds(
    lambda unit, count: unit * count, st.text(min_size=1, max_size=8), st.integers(500, 5000)
)
non_finite = st.sampled_from([math.nan, math.inf, -math.inf])
finite_floats = st.floats(-1e6, 1e6, allow_nan=False)


@contextlib.contextmanager
def scratch() -> Iterator[Path]:
    with tempfile.TemporaryDirectory() as folder:
        yield Path(folder)


def write_json(folder: Path, rows: list[object]) -> Path:
    path = folder / "split.json"
    path.write_text(json.dumps({"results": rows}), encoding="utf-8")
    return path


# ---- readers -----------------------------------------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(question=st.one_of(any_text, long_text), paraphrase=st.one_of(any_text, long_text))
def test_mimic_text_is_kept_exactly_once_stripped_or_refused_as_empty(question: str, paraphrase: str) -> None:
    row = mimic_row(1, original_question=question)
    row["paraphrases"] = [{"text": paraphrase, "phenomenon": "negation_pattern"}]
    with scratch() as folder:
        path = write_json(folder, [row])
        if is_blank(question) or is_blank(paraphrase):
            field = "original_question" if is_blank(question) else "paraphrases[0].text"
            with pytest.raises(RecordError, match="empty text") as caught:
                read_psf_mimic_json(path)
            assert caught.value.field == field and caught.value.location == "row 1 (question_id 'q-1')"
            return
        (record,) = read_psf_mimic_json(path).records
    assert record.original_question == question.strip()
    assert record.paraphrases[0].text == paraphrase.strip()


csv_texts = st.text(st.characters(codec="utf-8"), min_size=1, max_size=30).filter(
    lambda text: not is_blank(text)
)


@settings(max_examples=60, deadline=None)
@given(question=csv_texts, paraphrases=st.lists(csv_texts, min_size=1, max_size=4, unique_by=str.strip))
def test_csv_fields_with_quotes_commas_and_line_breaks_round_trip(
    question: str, paraphrases: list[str]
) -> None:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    for text in paraphrases:
        writer.writerow(["c-1", "img.png", "yes", question, text, "lexical_substitution"])
    with scratch() as folder:
        path = folder / "bank.csv"
        path.write_bytes(buffer.getvalue().encode("utf-8"))
        (record,) = read_flipbank_csv(path).records
    assert record.original_question == question.strip()
    assert [p.text for p in record.paraphrases] == [text.strip() for text in paraphrases]


@settings(max_examples=60, deadline=None)
@given(data=st.data(), bad=st.integers(0x80, 0xFF))
def test_a_non_utf8_byte_anywhere_is_reported_at_its_line_and_column(data: st.DataObject, bad: int) -> None:
    text = json.dumps({"results": [mimic_row(1), mimic_row(2)]}, indent=2)  # ASCII only
    position = data.draw(st.integers(0, len(text)))
    content = text[:position].encode() + bytes([bad]) + text[position:].encode()
    line = text.count("\n", 0, position) + 1
    column = position - (text.rfind("\n", 0, position) + 1) + 1
    with scratch() as folder:
        for name, reader in (("x.json", read_psf_mimic_json), ("x.csv", read_flipbank_csv)):
            path = folder / name
            path.write_bytes(content)
            with pytest.raises(RecordError, match="not UTF-8") as caught:
                reader(path, skip_invalid=True)
            assert caught.value.location == f"line {line}, column {column}"


@settings(max_examples=30, deadline=None)
@given(content=st.text(alphabet=" \t\r\n\u00a0\u2003\ufeff", min_size=1, max_size=20))
def test_whitespace_only_files_are_refused(content: str) -> None:
    with scratch() as folder:
        path = folder / "blank"
        path.write_text(content, encoding="utf-8")
        for reader in (read_psf_mimic_json, read_flipbank_csv):
            with pytest.raises(RecordError):
                reader(path, skip_invalid=True)


def test_deeply_nested_json_is_refused_with_a_record_error(tmp_path: Path) -> None:
    path = tmp_path / "deep.json"
    path.write_text('{"results": ' + "[" * 200_000 + "]" * 200_000 + "}")
    with pytest.raises(RecordError, match="whole file: JSON nested too deeply"):
        read_psf_mimic_json(path)


@settings(max_examples=60, deadline=None)
@given(
    field=st.sampled_from(["question_id", "question_type", "answer", "filename", "original_question"]),
    value=st.one_of(
        non_finite, st.floats(allow_nan=False), st.booleans(), st.lists(st.integers(), max_size=2)
    ),
)
def test_numbers_and_lists_where_text_is_expected_are_refused_naming_the_field(
    field: str, value: object
) -> None:
    assume(not (field == "question_id" and isinstance(value, int) and not isinstance(value, bool)))
    with scratch() as folder:
        path = folder / "split.json"
        path.write_text(json.dumps({"results": [mimic_row(1, **{field: value})]}), encoding="utf-8")
        with pytest.raises(RecordError) as caught:
            read_psf_mimic_json(path)
    assert caught.value.field == field
    reason = caught.value.reason
    assert reason.startswith(("expected text", "missing value", "non-yes/no")), reason


# ---- mining: non-finite logits -----------------------------------------------------------------------


@settings(max_examples=6, deadline=None)
@given(data=st.data(), bad=non_finite)
def test_a_non_finite_logit_is_reported_with_its_own_prompt(
    tiny_handle: ModelHandle, data: st.DataObject, bad: float
) -> None:
    question = load_demo_bank()[0]
    row = data.draw(st.integers(0, len(question.paraphrases)))
    yes = tiny_handle.yes_no_tokens(False).primary_yes

    def poison(module: object, inputs: object, output: torch.Tensor) -> torch.Tensor:
        poisoned = output.clone()
        poisoned[row, -1, yes] = bad
        return poisoned

    settings_ = MiningConfig(batch_size=8, answer_source="forced_choice")
    hook = tiny_handle.model.get_output_embeddings().register_forward_hook(poison)
    try:
        with scratch() as folder, pytest.raises(NonFiniteMarginError) as caught:
            mine(tiny_handle, [question], CHAT_TEMPLATE, settings_, folder, progress=False)
    finally:
        hook.remove()
    job = plan_jobs([question], settings_)[row]  # the batch's row ``row``
    message = f"question {question.question_id!r} variant {job.variant_index} (none): {job.text!r}"
    assert message in str(caught.value)


# ---- metrics -----------------------------------------------------------------------------------------


@st.composite
def all_excluded_frames(draw: st.DrawFn) -> pd.DataFrame:
    rows = []
    for index in range(draw(st.integers(1, 5))):
        for condition in ("real", "blank", "swapped"):
            for variant in range(draw(st.integers(1, 4))):
                rows.append(mining_row(f"q{index}", variant, None, condition=condition))
    return pd.DataFrame(rows)


@settings(max_examples=30, deadline=None)
@given(rows=all_excluded_frames())
def test_all_excluded_answers_give_nan_rates_with_every_unit_counted_as_excluded(rows: pd.DataFrame) -> None:
    real = rows[rows["image_condition"] == "real"]
    questions = real["question_id"].nunique()
    flips = flip_rate(rows)
    assert flips.n == 0 and math.isnan(flips.value) and math.isnan(flips.ci.low)
    has_paraphrase = real.loc[real["variant_index"] > 0, "question_id"].nunique()
    assert flips.n_excluded == has_paraphrase <= questions
    counted = real["question_id"].isin(real.loc[real["variant_index"] > 0, "question_id"])
    assert flips.excluded_answers == int(counted.sum())
    others = (
        accuracy(rows),
        text_only_agreement(rows),
        swap_sensitivity(rows),
        pairwise_disagreement_rate(rows),
    )
    for result in others:
        assert result.n == 0 and math.isnan(result.value)
        assert result.exclusion_rate == 1.0 or (result.n_excluded == 0 and math.isnan(result.exclusion_rate))
    assert accuracy(rows).n_excluded == questions


# ---- statistics and causal metrics -------------------------------------------------------------------


def _with_non_finite(data: st.DataObject, size: int) -> tuple[list[float], int]:
    values = data.draw(st.lists(finite_floats, min_size=size, max_size=size))
    first = data.draw(st.integers(0, size - 1))
    for index in range(first, size):
        if index == first or data.draw(st.booleans()):
            values[index] = data.draw(non_finite)
    return values, first


TWO_SAMPLE: dict[str, Callable[[list[float], list[float]], object]] = {
    "bootstrap_ratio_ci": lambda x, y: bootstrap_ratio_ci(x, y, resamples=20),
    "paired_permutation_test": lambda x, y: paired_permutation_test(x, y, permutations=20),
    "mann_whitney_u": mann_whitney_u,
    "pearson": lambda x, y: pearson(x, y, resamples=20),
    "spearman": lambda x, y: spearman(x, y, resamples=20),
}
ARGUMENT_NAMES = {
    "bootstrap_ratio_ci": ("numerators", "denominators"),
    "paired_permutation_test": ("first", "second"),
    "mann_whitney_u": ("first", "second"),
    "pearson": ("x", "y"),
    "spearman": ("x", "y"),
}


@settings(max_examples=60, deadline=None)
@given(
    data=st.data(), name=st.sampled_from(sorted(TWO_SAMPLE)), side=st.integers(0, 1), size=st.integers(1, 12)
)
def test_a_non_finite_value_is_refused_naming_the_argument_and_first_index(
    data: st.DataObject, name: str, side: int, size: int
) -> None:
    bad, first = _with_non_finite(data, size)
    good = data.draw(st.lists(finite_floats, min_size=size, max_size=size))
    arguments = (bad, good) if side == 0 else (good, bad)
    with pytest.raises(ValueError, match=rf"^{ARGUMENT_NAMES[name][side]} contains NaN .*index {first}\)"):
        TWO_SAMPLE[name](*arguments)
    with pytest.raises(ValueError, match=rf"^values contains NaN .*index {first}\)"):
        bootstrap_mean_ci(bad, resamples=20)


@settings(max_examples=60, deadline=None)
@given(data=st.data(), size=st.integers(1, 8), which=st.integers(0, 2))
def test_non_finite_margins_are_refused_naming_the_argument(
    data: st.DataObject, size: int, which: int
) -> None:
    margins = [data.draw(st.lists(finite_floats, min_size=size, max_size=size)) for _ in range(3)]
    margins[which], _ = _with_non_finite(data, size)
    with pytest.raises(
        ValueError, match=("original_margin", "paraphrase_margin", "patched_margin")[which] + " contains NaN"
    ):
        patch_outcomes(*margins)


margins = st.floats(-50, 50, allow_nan=False)


@settings(max_examples=80, deadline=None)
@given(triples=st.lists(st.tuples(margins, margins, margins), max_size=10))
def test_recovery_is_nan_only_for_a_vanishing_gap_and_otherwise_solves_the_definition(
    triples: list[tuple[float, float, float]],
) -> None:
    original, paraphrase, patched = np.array(triples, dtype=np.float64).reshape(-1, 3).T
    outcomes = patch_outcomes(original, paraphrase, patched)
    gap = original - paraphrase
    defined = np.abs(gap) > MIN_MARGIN_GAP
    assert (np.isfinite(outcomes["recovery"]) == defined).all()
    rebuilt = paraphrase[defined] + outcomes["recovery"].to_numpy()[defined] * gap[defined]
    assert np.allclose(rebuilt, patched[defined], atol=1e-6)
    assert np.isfinite(outcomes["shift_toward_original"]).all()
    summary = summarise_patching(outcomes)
    assert summary.n == len(triples) and summary.full_reversals <= summary.n_sign_flips <= len(triples)
    assert summary.n_sign_flips + summary.n_parsed_not_sign_flips == len(triples)
    assert summary.n_below_gap_floor == int((np.abs(gap) < summary.gap_floor).sum())
    assert math.isnan(summary.mean_recovery) == (not defined.any())
    assert math.isnan(summary.aggregate_recovery) == (not defined.any())
    if defined.any():  # the aggregate is the |gap|-weighted mean of the defined per-pair recoveries
        weights = np.abs(gap[defined])
        weighted = np.average(outcomes["recovery"].to_numpy()[defined], weights=weights)
        assert summary.aggregate_recovery == pytest.approx(weighted, rel=1e-6, abs=1e-6)
    control = summarise_non_flip_control(outcomes)
    assert control.n == len(triples)
    assert math.isnan(control.mean_abs_delta_margin) == (len(triples) == 0)
    assert len(triples) == 0 or control.mean_abs_delta_margin >= 0
    if len(triples) == 0:
        assert math.isnan(summary.mean_shift) and math.isnan(summary.mean_shift_ci.low)
