"""Tests of image-prefix reuse: questions run after their picture's cached image block give the logits and
greedy answers of whole prompts, Gemma 3's bidirectional image attention included."""

import pytest
import torch
from PIL import Image

from flipbank.demo_images import render_synthetic_image
from interp.forward import last_position_logits
from interp.generation import generate_answers
from interp.handle import ModelHandle
from interp.image_prefix import ImageBlock, ImageBlockCache, image_block_end, image_prefix_inputs
from interp.prompts import CHAT_TEMPLATE, PromptInput, encode_prompts

QUESTIONS = (
    "Is there a pleural effusion?",
    "Any cardiomegaly?",
    "Is the left lung collapsed here, would you say?",
    "Nodule?",
    "Is there a pleural effusion?",
)


@pytest.fixture(scope="module")
def pictures() -> list[Image.Image]:
    return [
        render_synthetic_image("t/p10/p1/s1.png", frozenset({"lung lesion"})).image,
        render_synthetic_image("t/p10/p2/s2.png", frozenset()).image,
    ]


def _prompts(pictures: list[Image.Image]) -> list[PromptInput]:
    owners = (0, 0, 1, 0, 1)  # three prompts share picture 0, two share picture 1
    return [PromptInput(q, pictures[o]) for q, o in zip(QUESTIONS, owners, strict=True)]


def test_questions_after_the_image_block_give_the_whole_prompt_logits(
    tiny_handle: ModelHandle, pictures: list[Image.Image]
) -> None:
    prompts = _prompts(pictures)
    whole = last_position_logits(tiny_handle, encode_prompts(tiny_handle, prompts, CHAT_TEMPLATE))
    inputs = image_prefix_inputs(tiny_handle, prompts, CHAT_TEMPLATE)
    assert inputs is not None
    assert inputs["input_ids"].shape[1] < 20  # type: ignore[attr-defined]  # only the question tokens run
    reused = last_position_logits(tiny_handle, inputs)
    assert torch.allclose(whole, reused, atol=1e-4, rtol=0)


@pytest.mark.parametrize("max_new_tokens", [1, 4])
def test_greedy_answers_after_the_image_block_match_whole_prompts(
    tiny_handle: ModelHandle, pictures: list[Image.Image], max_new_tokens: int
) -> None:
    prompts = _prompts(pictures)
    whole = generate_answers(tiny_handle, prompts, CHAT_TEMPLATE, max_new_tokens)
    reused = generate_answers(tiny_handle, prompts, CHAT_TEMPLATE, max_new_tokens, reuse_image_prefix=True)
    assert reused.texts == whole.texts
    assert torch.allclose(whole.first_step_logits, reused.first_step_logits, atol=1e-4, rtol=0)


def test_the_prefix_run_keeps_the_image_block_bidirectional(
    tiny_handle: ModelHandle, pictures: list[Image.Image]
) -> None:
    prompts = _prompts(pictures)
    encoded = encode_prompts(tiny_handle, prompts, CHAT_TEMPLATE)
    causal = {name: value for name, value in encoded.items() if name != "token_type_ids"}
    with_types = last_position_logits(tiny_handle, encoded)
    without_types = last_position_logits(tiny_handle, causal)
    assert not torch.allclose(with_types, without_types, atol=1e-4)  # the check above can tell the two apart


def test_batches_that_cannot_share_run_whole(tiny_handle: ModelHandle, pictures: list[Image.Image]) -> None:
    assert image_prefix_inputs(tiny_handle, [PromptInput(q) for q in QUESTIONS], CHAT_TEMPLATE) is None
    distinct = [PromptInput(QUESTIONS[0], pictures[0]), PromptInput(QUESTIONS[1], pictures[1])]
    assert image_prefix_inputs(tiny_handle, distinct, CHAT_TEMPLATE) is None
    blocks = ImageBlockCache()  # unless their blocks are kept for later batches
    assert image_prefix_inputs(tiny_handle, distinct, CHAT_TEMPLATE, blocks) is not None
    assert blocks.runs == 2


def test_blocks_kept_across_batches_give_the_whole_prompt_logits(
    tiny_handle: ModelHandle, pictures: list[Image.Image]
) -> None:
    prompts = _prompts(pictures)
    blocks = ImageBlockCache()
    first = image_prefix_inputs(tiny_handle, prompts[:3], CHAT_TEMPLATE, blocks)  # pictures 0 and 1
    later = prompts[3:]  # picture 0, then picture 1: both blocks come from the cache
    inputs = image_prefix_inputs(tiny_handle, later, CHAT_TEMPLATE, blocks)
    assert first is not None and inputs is not None
    assert blocks.runs == 2
    whole = last_position_logits(tiny_handle, encode_prompts(tiny_handle, later, CHAT_TEMPLATE))
    assert torch.allclose(whole, last_position_logits(tiny_handle, inputs), atol=1e-4, rtol=0)


def _block(image: Image.Image, token_ids: tuple[int, ...] = (2, 7)) -> ImageBlock:
    states = (torch.zeros(1, 1, len(token_ids), 4),)
    return ImageBlock(image, token_ids, states, states)


def test_a_cached_block_is_found_for_the_same_picture_and_tokens_only(pictures: list[Image.Image]) -> None:
    blocks = ImageBlockCache(capacity=2)
    blocks.put(_block(pictures[0]))
    assert blocks.get(pictures[0], (2, 7)) is not None
    assert blocks.get(pictures[0], (2, 8)) is None  # another prompt template
    assert blocks.get(pictures[0].copy(), (2, 7)) is None  # equal pixels, another object
    blocks.put(_block(pictures[1]))
    blocks.get(pictures[0], (2, 7))  # now the newest
    blocks.put(_block(pictures[0].copy()))  # beyond capacity: picture 1, the oldest, goes
    assert blocks.get(pictures[1], (2, 7)) is None
    assert blocks.get(pictures[0], (2, 7)) is not None
    with pytest.raises(ValueError, match="capacity"):
        ImageBlockCache(capacity=0)


def test_the_image_block_ends_at_the_last_end_of_image_token() -> None:
    assert image_block_end([[2, 5, 9, 7, 1], [2, 5, 9, 8]], end_of_image=9) == 3
    assert image_block_end([[2, 5, 9, 7], [2, 6, 9, 8]], end_of_image=9) is None  # prefixes differ
    assert image_block_end([[2, 5, 7]], end_of_image=9) is None
    assert image_block_end([[2, 9], [2, 9, 4]], end_of_image=9) is None  # nothing after the block
