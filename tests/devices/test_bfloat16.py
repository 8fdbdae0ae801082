"""The tiny model in bfloat16 (as on a GPU box) with its SAE in bfloat16 too: interventions run end to end,
also on a pretend accelerator, and margins and feature values come back float32."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from interp.handle import ModelHandle
from interp.hooks import ResidCapture
from interp.loading import load_model
from interp.patching import margins_of, patched_margins
from interp.prompts import FEW_SHOT_TEMPLATE, PromptInput, encode_prompts
from saes.features import feature_slice
from saes.loading import LoadedSAE, load_sae
from saes.ranking import collect_pair_activations
from tests.devices.pretend_device import Placement, device_name, pretend_placement
from tests.devices.test_interventions_on_devices import FEATURES, TEXT_PAIRS
from tests.devices.test_studies_on_devices import PROMPT_PAIRS
from tests.numerics import assert_gated_close
from tests.saes.conftest import TINY_LAYER

ON_ACCELERATOR = Placement("one accelerator", model="fpga:0", saes="fpga:0")


@pytest.fixture(scope="module")
def bf16_handle() -> ModelHandle:
    return load_model("tiny-mm", dtype="bfloat16")


@pytest.fixture(scope="module")
def bf16_sae(bf16_handle: ModelHandle, tiny_sae_folder: Path) -> LoadedSAE:
    return load_sae(tiny_sae_folder, bf16_handle, dtype=torch.bfloat16)  # on request, e.g. a 1M-wide SAE


def test_a_bfloat16_model_gets_a_float32_sae_unless_asked(
    bf16_handle: ModelHandle, bf16_sae: LoadedSAE, tiny_sae_folder: Path
) -> None:
    assert bf16_handle.dtype == torch.bfloat16
    assert next(bf16_handle.model.parameters()).dtype == torch.bfloat16
    assert load_sae(tiny_sae_folder, bf16_handle).sae.W_enc.dtype == torch.float32
    assert bf16_sae.sae.W_enc.dtype == torch.bfloat16


def test_features_of_bfloat16_activations_are_computed_in_float32(
    bf16_handle: ModelHandle, bf16_sae: LoadedSAE
) -> None:
    inputs = encode_prompts(bf16_handle, [PromptInput("Is there a pleural effusion?")], FEW_SHOT_TEMPLATE)
    with ResidCapture(bf16_handle.layers, [TINY_LAYER], positions="all") as capture, torch.no_grad():
        bf16_handle.model(**inputs)
    resid = capture.activations[TINY_LAYER]
    assert resid.dtype == torch.bfloat16
    features = feature_slice(bf16_sae.sae, FEATURES)
    got = features.encode(resid)
    assert got.dtype == torch.float32
    pre = resid.float() @ features.w_enc.float() + features.b_enc.float()
    assert features.threshold is not None
    expected = torch.relu(pre) * (pre > features.threshold.float())
    edge = 1e-3 * float(
        features.threshold.float().abs().max()
    )  # two float32 matmuls: gates may differ at the edge
    assert_gated_close(got, expected, pre, features.threshold, rtol=1.3e-6, atol=1e-5, edge=edge)
    assert features.decode_delta(got).dtype == torch.float32


def test_patching_and_ranking_in_bfloat16_on_an_accelerator(
    bf16_handle: ModelHandle, bf16_sae: LoadedSAE
) -> None:
    clean = margins_of(bf16_handle, [pair.paraphrase for pair in TEXT_PAIRS], FEW_SHOT_TEMPLATE)
    with (
        pretend_placement(bf16_handle, ON_ACCELERATOR, [bf16_sae.sae], strict_dtypes=True) as (handle, mode),
        mode,
    ):
        activations = collect_pair_activations(handle, bf16_sae, PROMPT_PAIRS, FEW_SHOT_TEMPLATE)
        moved = (activations.f_paraphrase - activations.f_original).abs().mean(0).topk(3).indices
        features = feature_slice(bf16_sae.sae, moved.tolist())  # the features the paraphrases move most
        patched = patched_margins(handle, TEXT_PAIRS, TINY_LAYER, features, FEW_SHOT_TEMPLATE, progress=False)
    assert mode.mixes == []
    for values in (patched, activations.f_original, activations.f_paraphrase, activations.original_margin):
        assert values.dtype == torch.float32 and device_name(values) == "cpu"
        assert torch.isfinite(values).all()
    assert clean.dtype == torch.float32
    assert (patched != clean).any()  # the patch did something
    assert (activations.f_paraphrase != activations.f_original).any()
