"""The SAE steps (ranking, transfer check, exploration, activation corpus) and the patching, layer-sweep and
latency studies run with the model, the SAE's layer and the SAE on different (pretend) devices and dtypes;
features and margins come back float32 on the CPU, equal to the plain CPU run."""

from __future__ import annotations

from dataclasses import replace

import pandas as pd
import pytest
import torch

from experiments.steps.flip_pairs import LabelledPairs
from experiments.steps.latency_study import run_latency_study
from experiments.steps.layer_sweep_study import run_layer_sweep
from experiments.steps.patching_study import run_patching_study
from interp.patching import margins_of
from interp.prompt_pair import PromptPair
from interp.prompts import FEW_SHOT_TEMPLATE, PromptInput
from saes.activation_corpus import collect_activations
from saes.exploration import direct_logit_effect, token_activations
from saes.ranking import collect_pair_activations, rank_pairs
from saes.transfer import transfer_check
from tests.devices.conftest import Placed
from tests.devices.pretend_device import device_name
from tests.devices.test_interventions_on_devices import FEATURES, TEXT_PAIRS
from tests.saes.conftest import TINY_LAYER

PROMPT_PAIRS = [
    replace(
        pair, pair_id=f"q/{index}", question_id="q", phenomenon="lexical_substitution", flipped=index % 2 == 0
    )
    for index, pair in enumerate(TEXT_PAIRS)
]
QUESTIONS = [pair.paraphrase.question for pair in TEXT_PAIRS]
FEATURE = FEATURES[0]


def _assert_cpu_float32(*tensors: torch.Tensor) -> None:
    assert all(device_name(t) == "cpu" and t.dtype == torch.float32 for t in tensors)


@pytest.mark.parametrize("with_margins", [False, True])
def test_ranking(placed: Placed, with_margins: bool) -> None:
    """Without margins the forward runs on to read them; with them it stops at the SAE's layer."""
    pairs = [
        replace(pair, original_margin=1.0, paraphrase_margin=-1.0) if with_margins else pair
        for pair in PROMPT_PAIRS
    ]
    reference = collect_pair_activations(placed.plain, placed.sae, pairs, FEW_SHOT_TEMPLATE, batch_size=3)
    with placed.checks():
        got = collect_pair_activations(placed.handle, placed.sae, pairs, FEW_SHOT_TEMPLATE, batch_size=3)
        ranking = rank_pairs(placed.handle, placed.sae, pairs, FEW_SHOT_TEMPLATE, batch_size=3)
    _assert_cpu_float32(got.f_original, got.f_paraphrase, got.original_margin, got.paraphrase_margin)
    for name in ("f_original", "f_paraphrase", "original_margin", "paraphrase_margin"):
        torch.testing.assert_close(getattr(got, name), getattr(reference, name))
    assert len(ranking.pairs) == len(pairs)


def test_transfer_check(placed: Placed) -> None:
    prompts = [PromptInput(question) for question in QUESTIONS]
    reference = transfer_check(placed.plain, placed.sae, prompts, FEW_SHOT_TEMPLATE, batch_size=3)
    with placed.checks():
        got = transfer_check(placed.handle, placed.sae, prompts, FEW_SHOT_TEMPLATE, batch_size=3)
    assert got.n_tokens == reference.n_tokens
    assert got.fvu == pytest.approx(reference.fvu, rel=1e-5)
    assert got.margin_shift_reconstruction.mean == pytest.approx(reference.margin_shift_reconstruction.mean)


def test_exploration_and_activation_corpus(placed: Placed) -> None:
    prompts = [PromptInput(question) for question in QUESTIONS]
    table = token_activations(placed.plain, placed.sae, FEATURE, prompts, FEW_SHOT_TEMPLATE, batch_size=3)
    rows = collect_activations(placed.plain, TINY_LAYER, QUESTIONS, FEW_SHOT_TEMPLATE, batch_size=3)
    with placed.checks():
        got_table = token_activations(
            placed.handle, placed.sae, FEATURE, prompts, FEW_SHOT_TEMPLATE, batch_size=3
        )
        got_rows = collect_activations(placed.handle, TINY_LAYER, QUESTIONS, FEW_SHOT_TEMPLATE, batch_size=3)
        effect = direct_logit_effect(placed.handle, placed.sae, FEATURE, FEW_SHOT_TEMPLATE, prompts)
    pd.testing.assert_frame_equal(got_table, table, rtol=1e-5)
    _assert_cpu_float32(got_rows)
    torch.testing.assert_close(got_rows, rows)
    assert effect.yes_minus_no == pytest.approx(effect.yes - effect.no)


def _labelled(placed: Placed, pairs: list[PromptPair]) -> LabelledPairs:
    original_margin = margins_of(placed.plain, [pair.original for pair in pairs], FEW_SHOT_TEMPLATE)
    paraphrase_margin = margins_of(placed.plain, [pair.paraphrase for pair in pairs], FEW_SHOT_TEMPLATE)
    labels = pd.DataFrame(
        {
            "question_id": [f"q{index}" for index in range(len(pairs))],
            "finding": "effusion",
            "phenomenon": "lexical_substitution",
            "direction": "yes_to_no",
            "original_margin": original_margin.double().numpy(),
            "paraphrase_margin": paraphrase_margin.double().numpy(),
        }
    )
    return LabelledPairs(pairs, labels)


def test_patching_and_layer_sweep_studies(placed: Placed) -> None:
    flips = _labelled(placed, TEXT_PAIRS)
    controls = _labelled(placed, [PromptPair(pair.paraphrase, pair.original) for pair in TEXT_PAIRS])
    reference = run_patching_study(placed.plain, placed.sae, FEATURE, flips, controls, FEW_SHOT_TEMPLATE)
    with placed.checks():
        study = run_patching_study(placed.handle, placed.sae, FEATURE, flips, controls, FEW_SHOT_TEMPLATE)
        sweep = run_layer_sweep(placed.handle, flips, FEW_SHOT_TEMPLATE, {TINY_LAYER: (placed.sae, FEATURE)})
    pd.testing.assert_frame_equal(study.pairs, reference.pairs, rtol=1e-4)
    assert set(sweep["patch"]) == {"resid_post (final token)", "SAE feature component"}


def test_latency_study(placed: Placed, capsys: pytest.CaptureFixture[str]) -> None:
    with placed.checks():
        table = run_latency_study(
            placed.handle, placed.sae, FEATURE, QUESTIONS, FEW_SHOT_TEMPLATE, batch_sizes=(1, 2), rounds=1
        )
    assert list(table["batch_size"].unique()) == [1, 2]
    assert (table["median_ms"] > 0).all()
