"""The final step: running every position but the last, then the last alone from the cache, gives the logits
of one whole forward pass, for left-padded text, image prompts and prompts after a shared few-shot prefix;
and the two-row margin head gives the margin of those logits."""

import pytest
import torch
from PIL import Image

from interp.final_step import final_margins, prefill
from interp.forward import last_position_logits
from interp.handle import ModelHandle
from interp.margin import yes_minus_no_margin
from interp.prompts import (
    CHAT_TEMPLATE,
    PromptInput,
    encode_prompts,
)
from interp.shared_prefix import forward_inputs, prefix_for_prompts
from tests.templates import TWO_SHOT

QUESTIONS = ["Is there a pleural effusion?", "Any cardiomegaly?", "Is the left lung collapsed on this film?"]


def _final_logits(handle: ModelHandle, inputs: dict[str, object]) -> torch.Tensor:
    step = prefill(handle, inputs)
    with torch.no_grad():
        first = handle.model(**step.inputs(), logits_to_keep=1).logits[:, -1, :]
        again = handle.model(**step.inputs(), logits_to_keep=1).logits[:, -1, :]
    torch.testing.assert_close(first, again)  # each call gets its own copy of the cache
    tokens = handle.yes_no_tokens(False)
    with torch.no_grad():
        margins = final_margins(handle, step, tokens)
    torch.testing.assert_close(margins, yes_minus_no_margin(first, tokens), atol=1e-4, rtol=1e-4)
    return first


def test_text_prompts_match_the_whole_forward(tiny_handle: ModelHandle) -> None:
    prompts = [PromptInput(question) for question in QUESTIONS]
    inputs = encode_prompts(tiny_handle, prompts, CHAT_TEMPLATE)
    assert int(inputs["attention_mask"].min()) == 0  # the batch is left-padded
    whole = last_position_logits(tiny_handle, inputs)
    torch.testing.assert_close(_final_logits(tiny_handle, dict(inputs)), whole, atol=1e-4, rtol=1e-4)


def test_image_prompts_match_the_whole_forward(
    tiny_handle: ModelHandle, xray_like_image: Image.Image
) -> None:
    prompts = [PromptInput(question, xray_like_image) for question in QUESTIONS]
    inputs = encode_prompts(tiny_handle, prompts, CHAT_TEMPLATE)
    assert "pixel_values" in inputs
    whole = last_position_logits(tiny_handle, inputs)
    torch.testing.assert_close(_final_logits(tiny_handle, dict(inputs)), whole, atol=1e-4, rtol=1e-4)


def test_prompts_after_a_shared_prefix_match_the_whole_forward(tiny_handle: ModelHandle) -> None:
    prompts = [PromptInput(question) for question in [*QUESTIONS, "Is a nodule visible?"]]
    prefix = prefix_for_prompts(tiny_handle, TWO_SHOT, prompts)
    assert prefix is not None
    whole = last_position_logits(tiny_handle, encode_prompts(tiny_handle, prompts, TWO_SHOT))
    after = _final_logits(tiny_handle, forward_inputs(tiny_handle, prompts, TWO_SHOT, prefix))
    torch.testing.assert_close(after, whole, atol=1e-4, rtol=1e-4)


def test_a_single_position_cannot_be_split(tiny_handle: ModelHandle) -> None:
    inputs = {"input_ids": torch.tensor([[2]]), "attention_mask": torch.tensor([[1]])}
    with pytest.raises(ValueError, match="two positions"):
        prefill(tiny_handle, inputs)
