import pytest
import torch
from PIL import Image

from flipbank.images import BlankKind, blank_image
from interp.forward import last_position_logits, score_prompts
from interp.handle import ModelHandle
from interp.margin import MarginVariants
from interp.prompts import CHAT_TEMPLATE, FEW_SHOT_TEMPLATE, PromptInput, encode_prompts

QUESTIONS = [
    "Is there a pleural effusion?",
    "Any fluid collecting around the lungs here?",
    "Is there radiographic evidence of cardiomegaly?",
    "Is the heart big?",
    "Is a pneumothorax present?",
]


def test_batched_margins_equal_unbatched_on_the_demo_model(demo_handle: ModelHandle) -> None:
    prompts = [PromptInput(q) for q in QUESTIONS]
    batched = score_prompts(demo_handle, prompts, FEW_SHOT_TEMPLATE, batch_size=5, progress=False)
    for prompt, score in zip(prompts, batched, strict=True):
        alone = score_prompts(demo_handle, [prompt], FEW_SHOT_TEMPLATE, progress=False)[0]
        assert abs(alone.margin - score.margin) < 1e-3


def test_batched_margins_equal_unbatched_with_images(
    tiny_handle: ModelHandle, xray_like_image: Image.Image
) -> None:
    prompts = [PromptInput(q, xray_like_image) for q in QUESTIONS]
    batched = score_prompts(tiny_handle, prompts, CHAT_TEMPLATE, batch_size=5, progress=False)
    alone = score_prompts(tiny_handle, prompts, CHAT_TEMPLATE, batch_size=1, progress=False)
    for one, many in zip(alone, batched, strict=True):
        assert abs(one.margin - many.margin) < 1e-4


def test_images_change_the_tiny_models_output(tiny_handle: ModelHandle, xray_like_image: Image.Image) -> None:
    question = QUESTIONS[0]

    def logits(image: Image.Image | None) -> torch.Tensor:
        inputs = encode_prompts(tiny_handle, [PromptInput(question, image)], CHAT_TEMPLATE)
        return last_position_logits(tiny_handle, inputs)

    real, gray = logits(xray_like_image), logits(blank_image(BlankKind.GRAY))
    white, none = logits(blank_image(BlankKind.WHITE)), logits(None)
    assert (real - gray).abs().max() > 1e-3
    assert (gray - white).abs().max() > 1e-3
    assert (gray - none).abs().max() > 1e-3


def test_few_shot_prompt_concentrates_mass_on_yes_no(demo_handle: ModelHandle) -> None:
    prompts = [PromptInput(q) for q in QUESTIONS]
    few_shot = score_prompts(demo_handle, prompts, FEW_SHOT_TEMPLATE, progress=False)
    chat = score_prompts(demo_handle, prompts, CHAT_TEMPLATE, progress=False)
    assert min(s.p_yes + s.p_no for s in few_shot) > 0.9
    assert max(s.p_yes + s.p_no for s in chat) < 0.2  # the base model echoes the question instead


@pytest.mark.parametrize("variants", ["primary", "logsumexp"])
def test_margins_are_finite(demo_handle: ModelHandle, variants: MarginVariants) -> None:
    scores = score_prompts(
        demo_handle,
        [PromptInput(QUESTIONS[0])],
        FEW_SHOT_TEMPLATE,
        variants=variants,
        progress=False,
    )
    assert torch.isfinite(torch.tensor(scores[0].margin))
