import pytest
import torch

from flipbank.images import BlankKind, blank_image
from interp.handle import ModelHandle
from interp.prompts import (
    CHAT_TEMPLATE,
    FEW_SHOT_TEMPLATE,
    PromptInput,
    batched,
    encode_prompts,
    position_ids_for,
    render_prompt,
)


def test_chat_prompt_uses_gemma_turns(demo_handle: ModelHandle) -> None:
    text = render_prompt(demo_handle, " Is there an effusion? ", CHAT_TEMPLATE, with_image=False)
    assert text == ("<start_of_turn>user\nIs there an effusion?<end_of_turn>\n<start_of_turn>model\n")


def test_few_shot_prompt_ends_where_the_answer_starts(demo_handle: ModelHandle) -> None:
    text = render_prompt(demo_handle, "Is there an effusion?", FEW_SHOT_TEMPLATE, with_image=False)
    assert text.endswith("Question: Is there an effusion?\nAnswer:")
    assert text.count("Answer:") == len(FEW_SHOT_TEMPLATE.few_shot_examples) + 1
    assert FEW_SHOT_TEMPLATE.answer_leading_space and not CHAT_TEMPLATE.answer_leading_space


def test_text_only_model_refuses_images(demo_handle: ModelHandle) -> None:
    with pytest.raises(ValueError, match="does not take images"):
        render_prompt(demo_handle, "Is there an effusion?", CHAT_TEMPLATE, with_image=True)


def test_image_prompt_expands_to_image_tokens(tiny_handle: ModelHandle) -> None:
    prompts = [PromptInput("Is there an effusion?", blank_image(BlankKind.GRAY))]
    inputs = encode_prompts(tiny_handle, prompts, CHAT_TEMPLATE)
    image_token_id = tiny_handle.image_token_id
    assert image_token_id is not None
    image_tokens = (inputs["input_ids"] == image_token_id).sum().item()
    assert image_tokens == tiny_handle.processor.image_seq_length  # type: ignore[union-attr]
    assert inputs["pixel_values"].shape == (1, 3, 224, 224)
    assert inputs["input_ids"][0, 0].item() == tiny_handle.tokenizer.bos_token_id


def test_batches_are_left_padded_with_positions_from_zero(demo_handle: ModelHandle) -> None:
    prompts = [
        PromptInput("Effusion?"),
        PromptInput("Is there any evidence of a pleural effusion?"),
    ]
    inputs = encode_prompts(demo_handle, prompts, CHAT_TEMPLATE)
    mask = inputs["attention_mask"]
    assert mask[0, 0] == 0 and mask[0, -1] == 1 and mask[1].all()
    first_real = int((mask[0] == 0).sum())
    assert inputs["position_ids"][0, first_real] == 0
    assert inputs["position_ids"][1, -1] == mask.shape[1] - 1


def test_position_ids_ignore_padding() -> None:
    mask = torch.tensor([[0, 0, 1, 1], [1, 1, 1, 1]])
    assert position_ids_for(mask).tolist() == [[0, 0, 0, 1], [0, 1, 2, 3]]


def test_mixed_image_batches_are_refused(tiny_handle: ModelHandle) -> None:
    prompts = [PromptInput("a?", blank_image()), PromptInput("b?")]
    with pytest.raises(ValueError, match="all-image or all-text"):
        encode_prompts(tiny_handle, prompts, CHAT_TEMPLATE)


def test_batched_splits_in_order() -> None:
    items = [PromptInput(str(i)) for i in range(5)]
    assert [len(b) for b in batched(items, 2)] == [2, 2, 1]
    with pytest.raises(ValueError, match="at least 1"):
        batched(items, 0)
