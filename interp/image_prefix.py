"""Reuses the image block of image prompts. With the chat template the image comes before the question,
so every prompt about one picture starts with the same tokens: BOS, the turn header and the whole image block
up to ``<end_of_image>``. Per batch, the vision tower and that prefix run once per distinct image (Gemma 3's
bidirectional attention inside the image block intact: the prefix run carries ``token_type_ids``), and each
prompt runs only its question tokens after it, on a copy of its image's keys and values. The prefix runs
under whatever hooks are active: fine for hooks that treat every position alike (capture, clamping), wrong
for hooks that edit one position (final-token patching), which must run whole prompts.

>>> from interp import load_model  # doctest: +SKIP
>>> with torch.inference_mode():  # doctest: +SKIP
...     inputs = image_prefix_inputs(handle, prompts, CHAT_TEMPLATE)
...     logits = handle.model(**inputs, logits_to_keep=1).logits
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from jaxtyping import Int
from torch import Tensor
from transformers import DynamicCache

from interp.handle import ModelHandle
from interp.prompts import PromptInput, PromptTemplate, encode_prompts, position_ids_for, unpadded_rows
from interp.shared_prefix import common_prefix_length, left_padded, sliding_window


def image_block_end(rows: Sequence[Sequence[int]], end_of_image: int) -> int | None:
    """The length of the prefix every row shares up to and including its last ``<end_of_image>``; None when
    the rows do not share their image block's position (then they run whole)."""
    first = list(rows[0])
    if end_of_image not in first:
        return None
    end = len(first) - first[::-1].index(end_of_image)
    return end if common_prefix_length(rows) >= end and all(len(row) > end for row in rows) else None


def _distinct_images(prompts: Sequence[PromptInput]) -> tuple[list[int], list[int]]:
    """For each prompt the index of its image among the distinct ones, and each distinct image's first row
    (images are told apart by object identity: a loader that caches its images shares them)."""
    first_rows: dict[int, int] = {}
    owners = [first_rows.setdefault(id(prompt.image), row) for row, prompt in enumerate(prompts)]
    order = list(first_rows.values())
    return [order.index(owner) for owner in owners], order


def _unpadded(encoded: dict[str, Tensor], name: str, row: int) -> Tensor:
    return encoded[name][row][encoded["attention_mask"][row].bool()]


def _prefix_cache(
    handle: ModelHandle, encoded: dict[str, Tensor], first_rows: list[int], end: int
) -> DynamicCache:
    """Run the shared prefix once per distinct image (vision tower included) and keep its keys and values."""
    input_ids = torch.stack([_unpadded(encoded, "input_ids", row)[:end] for row in first_rows])
    inputs = {
        "input_ids": input_ids,
        "attention_mask": torch.ones_like(input_ids),
        "position_ids": position_ids_for(torch.ones_like(input_ids)),
        "token_type_ids": torch.stack(
            [_unpadded(encoded, "token_type_ids", row)[:end] for row in first_rows]
        ),
        "pixel_values": encoded["pixel_values"][first_rows],
    }
    with torch.inference_mode():
        cache = handle.model(**inputs, use_cache=True, logits_to_keep=1).past_key_values
    if not isinstance(cache, DynamicCache):
        raise TypeError(f"expected a DynamicCache from the prefix run, got {type(cache).__name__}")
    return cache


def _suffix_inputs(
    rows: list[list[int]], end: int, pad: int
) -> tuple[Int[Tensor, "batch suffix"], Int[Tensor, "batch pos"], Int[Tensor, "batch suffix"]]:
    suffix_ids, suffix_mask = left_padded([row[end:] for row in rows], pad)
    attention_mask = torch.cat([torch.ones(len(rows), end, dtype=torch.long), suffix_mask], 1)
    return suffix_ids, attention_mask, position_ids_for(attention_mask)[:, end:]


def image_prefix_inputs(
    handle: ModelHandle, prompts: Sequence[PromptInput], template: PromptTemplate
) -> dict[str, object] | None:
    """Keyword arguments for one forward pass over image ``prompts`` that runs only their question tokens,
    after the image prefix (computed here, under whatever hooks are active, once per distinct image). None
    when the batch cannot share: text prompts, no image block in a shared position, every image distinct, or
    prefix plus padded questions beyond the sliding window."""
    if handle.processor is None or not prompts or any(prompt.image is None for prompt in prompts):
        return None
    row_images, first_rows = _distinct_images(prompts)
    if len(first_rows) == len(prompts):
        return None
    encoded = encode_prompts(handle, prompts, template)
    rows = unpadded_rows(encoded)
    end = image_block_end(rows, int(getattr(handle.processor.tokenizer, "eoi_token_id")))  # noqa: B009
    window = sliding_window(handle)
    if end is None or (window is not None and max(len(row) for row in rows) >= window):
        return None
    cache = _prefix_cache(handle, encoded, first_rows, end)
    cache.batch_select_indices(torch.tensor(row_images, device=handle.device))
    suffix_ids, attention_mask, position_ids = _suffix_inputs(
        rows, end, int(handle.tokenizer.pad_token_id or 0)
    )
    inputs = {"input_ids": suffix_ids, "attention_mask": attention_mask, "position_ids": position_ids}
    return {
        **{k: v.to(handle.device) for k, v in inputs.items()},
        "past_key_values": cache,
        "use_cache": True,
    }
