"""Every intervention of ``interp`` runs with the model, its SAE's layer and the SAE on different (pretend)
devices and dtypes, and gives the same numbers as on the plain CPU model; margins come back float32 on the
CPU."""

from __future__ import annotations

import pytest
import torch
from PIL import Image

from interp.clamping import clamp_features
from interp.generation import generate_answers
from interp.handle import ModelHandle
from interp.layer_sweep import feature_patch_sweep, resid_patch_sweep
from interp.patching import PatchPositions, margins_of, patched_margins
from interp.prompt_pair import PromptPair
from interp.prompts import CHAT_TEMPLATE, FEW_SHOT_TEMPLATE, PromptInput
from saes.attribution import attribution_patching
from saes.features import feature_slice
from tests.devices.conftest import Placed
from tests.devices.pretend_device import device_name
from tests.saes.conftest import TINY_LAYER

FEATURES = [124, 116, 145]  # the features these paraphrases move most (tiny_sae is seeded)
TEXT_PAIRS = [
    PromptPair(PromptInput(original), PromptInput(paraphrase))
    for original, paraphrase in (
        ("Is there a pleural effusion?", "Any fluid around the lungs here?"),
        ("Is there a pleural effusion?", "Is there no pleural effusion?"),
        ("Is the heart enlarged?", "Is there radiographic evidence of cardiomegaly?"),
        ("Is the heart enlarged?", "Is the heart big?"),
    )
]


def _assert_cpu_float32(got: torch.Tensor, reference: torch.Tensor) -> None:
    assert device_name(got) == "cpu" and got.dtype == torch.float32
    torch.testing.assert_close(got, reference)


@pytest.mark.parametrize("positions", ["final", "all"])
def test_patched_margins(placed: Placed, positions: PatchPositions) -> None:
    def run(handle: ModelHandle) -> torch.Tensor:
        return patched_margins(
            handle,
            TEXT_PAIRS,
            TINY_LAYER,
            feature_slice(placed.sae.sae, FEATURES),
            FEW_SHOT_TEMPLATE,
            positions=positions,
            batch_size=3,
            progress=False,
        )

    reference = run(placed.plain)
    with placed.checks():
        got = run(placed.handle)
    _assert_cpu_float32(got, reference)
    clean = margins_of(placed.plain, [pair.paraphrase for pair in TEXT_PAIRS], FEW_SHOT_TEMPLATE)
    assert (got - clean).abs().max() > 1e-4  # the features move: the patch is no no-op


def test_patched_margins_with_images(placed: Placed, xray_like_image: Image.Image) -> None:
    pairs = [PromptPair(PromptInput(p.original.question, xray_like_image), p.paraphrase) for p in TEXT_PAIRS]
    pairs = [PromptPair(p.original, PromptInput(p.paraphrase.question, xray_like_image)) for p in pairs[:2]]
    reference = patched_margins(
        placed.plain,
        pairs,
        TINY_LAYER,
        feature_slice(placed.sae.sae, FEATURES),
        CHAT_TEMPLATE,
        progress=False,
    )
    with placed.checks():
        features = feature_slice(placed.sae.sae, FEATURES)
        got = patched_margins(placed.handle, pairs, TINY_LAYER, features, CHAT_TEMPLATE, progress=False)
    _assert_cpu_float32(got, reference)


def test_resid_patch_sweep(placed: Placed) -> None:
    reference = resid_patch_sweep(placed.plain, TEXT_PAIRS, FEW_SHOT_TEMPLATE, batch_size=3, progress=False)
    with placed.checks():
        got = resid_patch_sweep(placed.handle, TEXT_PAIRS, FEW_SHOT_TEMPLATE, batch_size=3, progress=False)
    assert sorted(got) == list(range(placed.plain.n_layers))
    for layer, margins in got.items():
        _assert_cpu_float32(margins, reference[layer])


def test_feature_patch_sweep(placed: Placed) -> None:
    """The SAE's features patched at its own layer and at another one (on another device in some cases)."""
    layers = [1, TINY_LAYER]
    reference = feature_patch_sweep(
        placed.plain,
        TEXT_PAIRS,
        FEW_SHOT_TEMPLATE,
        {layer: feature_slice(placed.sae.sae, FEATURES) for layer in layers},
        batch_size=3,
        progress=False,
    )
    with placed.checks():
        features = {layer: feature_slice(placed.sae.sae, FEATURES) for layer in layers}
        got = feature_patch_sweep(
            placed.handle, TEXT_PAIRS, FEW_SHOT_TEMPLATE, features, batch_size=3, progress=False
        )
    for layer in layers:
        _assert_cpu_float32(got[layer], reference[layer])


@pytest.mark.parametrize("max_new_tokens", [1, 3])
def test_clamping_around_generate(placed: Placed, xray_like_image: Image.Image, max_new_tokens: int) -> None:
    prompts = [PromptInput(pair.paraphrase.question, xray_like_image) for pair in TEXT_PAIRS[:2]]
    values = [0.0, 2.0, 5.0]
    with clamp_features(placed.plain.layers, TINY_LAYER, feature_slice(placed.sae.sae, FEATURES), values):
        reference = generate_answers(placed.plain, prompts, CHAT_TEMPLATE, max_new_tokens)
    with placed.checks():
        features = feature_slice(placed.sae.sae, FEATURES)
        with clamp_features(placed.handle.layers, TINY_LAYER, features, values):
            got = generate_answers(placed.handle, prompts, CHAT_TEMPLATE, max_new_tokens)
    assert got.texts == reference.texts
    assert got.first_step_logits.dtype == torch.float32
    torch.testing.assert_close(got.first_step_logits, reference.first_step_logits)


@pytest.mark.parametrize("steps", [0, 2])
def test_attribution_patching(placed: Placed, xray_like_image: Image.Image, steps: int) -> None:
    image_pairs = [
        PromptPair(
            PromptInput(pair.original.question, xray_like_image),
            PromptInput(pair.paraphrase.question, xray_like_image),
        )
        for pair in TEXT_PAIRS[:2]
    ]
    for pairs, template in ((TEXT_PAIRS, FEW_SHOT_TEMPLATE), (image_pairs, CHAT_TEMPLATE)):
        reference = attribution_patching(placed.plain, placed.sae, pairs, template, batch_size=3, steps=steps)
        with placed.checks():
            got = attribution_patching(placed.handle, placed.sae, pairs, template, batch_size=3, steps=steps)
        for ours, theirs in ((got.features, reference.features), (got.error, reference.error)):
            _assert_cpu_float32(ours, theirs)
        _assert_cpu_float32(got.paraphrase_margins, reference.paraphrase_margins)
