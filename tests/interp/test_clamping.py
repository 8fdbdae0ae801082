import torch

from interp.clamping import clamp_features
from interp.forward import last_position_logits
from interp.handle import ModelHandle
from interp.hooks import ResidCapture
from interp.prompts import CHAT_TEMPLATE, FEW_SHOT_TEMPLATE, PromptInput, encode_prompts
from tests.interp.feature_builders import direction_features

QUESTIONS = ["Is there a pleural effusion?", "Any fluid around the lungs here at all?"]


def _directions(handle: ModelHandle, k: int, seed: int) -> torch.Tensor:
    return torch.randn(k, handle.d_model, generator=torch.Generator().manual_seed(seed))


def test_clamping_an_inactive_feature_to_zero_changes_nothing(demo_handle: ModelHandle) -> None:
    inputs = encode_prompts(demo_handle, [PromptInput(q) for q in QUESTIONS], FEW_SHOT_TEMPLATE)
    silent = direction_features(_directions(demo_handle, 2, 0), threshold=1e9)
    clean = last_position_logits(demo_handle, inputs)
    with clamp_features(demo_handle.layers, 9, silent, 0.0):
        clamped = last_position_logits(demo_handle, inputs)
    assert torch.equal(clean, clamped)


def test_a_clamped_feature_re_encodes_to_its_value(demo_handle: ModelHandle) -> None:
    inputs = encode_prompts(demo_handle, [PromptInput(q) for q in QUESTIONS], FEW_SHOT_TEMPLATE)
    always_on = direction_features(_directions(demo_handle, 1, 1), bias=1e5)  # active at every position
    with (
        clamp_features(demo_handle.layers, 9, always_on, 3.5),
        ResidCapture(demo_handle.layers, [9], positions="all") as capture,
        torch.no_grad(),
    ):
        demo_handle.model(**inputs, logits_to_keep=1)
    mask = inputs["attention_mask"].bool()
    reencoded = always_on.encode(capture.activations[9])[..., 0][mask]
    assert torch.allclose(reencoded, torch.full_like(reencoded, 3.5), atol=0.5)
    assert reencoded.std() < 0.5


def test_zero_clamp_changes_the_margin_and_the_hook_goes_away(demo_handle: ModelHandle) -> None:
    inputs = encode_prompts(demo_handle, [PromptInput(q) for q in QUESTIONS], FEW_SHOT_TEMPLATE)
    always_on = direction_features(_directions(demo_handle, 1, 2), bias=1e4)
    clean = last_position_logits(demo_handle, inputs)
    with clamp_features(demo_handle.layers, 9, always_on):
        clamped = last_position_logits(demo_handle, inputs)
    after = last_position_logits(demo_handle, inputs)
    assert (clean - clamped).abs().max() > 1e-2
    assert torch.equal(clean, after)


def test_clamp_works_around_generate_with_images(tiny_handle: ModelHandle, xray_like_image: object) -> None:
    from interp.generation import generate_answers

    prompts = [PromptInput(q, xray_like_image) for q in QUESTIONS]  # type: ignore[arg-type]
    features = direction_features(_directions(tiny_handle, 2, 3), bias=10.0)
    clean = generate_answers(tiny_handle, prompts, CHAT_TEMPLATE, max_new_tokens=3)
    with clamp_features(tiny_handle.layers, 2, features, [0.0, 5.0]):
        clamped = generate_answers(tiny_handle, prompts, CHAT_TEMPLATE, max_new_tokens=3)
    assert (clean.first_step_logits - clamped.first_step_logits).abs().max() > 1e-4


def test_one_value_per_feature_is_checked(demo_handle: ModelHandle) -> None:
    import pytest

    features = direction_features(_directions(demo_handle, 2, 4))
    with pytest.raises(ValueError, match="3 clamp values for 2 features"):
        clamp_features(demo_handle.layers, 9, features, [0.0, 1.0, 2.0])
