"""Index-tensor ``logits_to_keep``: the same logits as the int form, a contiguous input to the unembedding
even on a frozen model, and no projection at all for cache-only runs."""

from collections.abc import Iterator

import pytest
import torch
from torch import Tensor

from interp.handle import ModelHandle
from interp.loading import load_model
from interp.prompts import CHAT_TEMPLATE, PromptInput, encode_prompts
from interp.vocab_positions import last_position, last_positions, no_positions

PROMPTS = [PromptInput("Is there a pleural effusion?"), PromptInput("Any cardiomegaly on this film?")]


@pytest.fixture(scope="module")
def frozen_handle() -> Iterator[ModelHandle]:
    handle = load_model("tiny-mm")
    handle.model.requires_grad_(False)  # as PEFT leaves an adapted model's base weights
    yield handle


def _unembedding_inputs(handle: ModelHandle, keep: int | Tensor) -> tuple[list[Tensor], Tensor]:
    seen: list[Tensor] = []
    head = handle.model.get_output_embeddings()
    hook = head.register_forward_pre_hook(lambda _module, args: seen.append(args[0]))
    inputs = encode_prompts(handle, PROMPTS, CHAT_TEMPLATE)
    try:
        with torch.inference_mode():
            logits = handle.model(**inputs, logits_to_keep=keep).logits
    finally:
        hook.remove()
    return seen, logits


def test_the_last_position_gives_the_int_forms_logits_from_a_contiguous_input(
    frozen_handle: ModelHandle,
) -> None:
    strided, by_int = _unembedding_inputs(frozen_handle, 1)
    contiguous, by_index = _unembedding_inputs(frozen_handle, last_position())
    assert not strided[0].is_contiguous()  # the case torch's matmul cannot fold on frozen weights
    assert contiguous[0].is_contiguous() and contiguous[0].shape == strided[0].shape
    assert torch.allclose(by_int, by_index, atol=1e-4, rtol=0)


def test_several_last_positions_match_the_int_form(tiny_handle: ModelHandle) -> None:
    _, by_int = _unembedding_inputs(tiny_handle, 3)
    _, by_index = _unembedding_inputs(tiny_handle, last_positions(3))
    assert by_index.shape == by_int.shape and by_index.shape[1] == 3
    assert torch.allclose(by_int, by_index, atol=1e-4, rtol=0)


def test_a_cache_only_run_projects_no_position(tiny_handle: ModelHandle) -> None:
    inputs = encode_prompts(tiny_handle, PROMPTS, CHAT_TEMPLATE)
    with torch.inference_mode():
        output = tiny_handle.model(**inputs, use_cache=True, logits_to_keep=no_positions())
    assert output.logits.shape[:2] == (len(PROMPTS), 0)
    assert output.past_key_values.get_seq_length() == inputs["input_ids"].shape[1]
    with pytest.raises(ValueError, match="at least 0"):
        last_positions(-1)
