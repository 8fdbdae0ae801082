"""Reuses the image block of image prompts. With the chat template the image comes before the question,
so every prompt about one picture starts with the same tokens: BOS, the turn header and the whole image block
up to ``<end_of_image>``. The vision tower and that prefix run once per distinct image (Gemma 3's
bidirectional attention inside the image block intact: the prefix run carries ``token_type_ids``), and each
prompt runs only its question tokens after it, on a copy of its image's keys and values. An
``ImageBlockCache`` keeps the blocks across batches, so a picture whose prompts span two batches runs once.
The prefix runs under whatever hooks are active: fine for hooks that treat every position alike (capture,
clamping), wrong for hooks that edit one position (final-token patching), which must run whole prompts.

>>> from interp import load_model  # doctest: +SKIP
>>> blocks = ImageBlockCache()  # one per run, under the run's hooks  # doctest: +SKIP
>>> with torch.inference_mode():  # doctest: +SKIP
...     inputs = image_prefix_inputs(handle, prompts, CHAT_TEMPLATE, blocks)
...     logits = handle.model(**inputs, logits_to_keep=last_position()).logits
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from jaxtyping import Float, Int
from PIL import Image
from torch import Tensor
from transformers import DynamicCache

from interp.handle import ModelHandle
from interp.prompts import PromptInput, PromptTemplate, encode_prompts, position_ids_for, unpadded_rows
from interp.shared_prefix import common_prefix_length, left_padded, sliding_window
from interp.vocab_positions import no_positions

LayerStates = tuple[Float[Tensor, "1 kv_heads block head_dim"], ...]


@dataclass(frozen=True)
class ImageBlock:
    """One picture's prefix: its token ids and every layer's keys and values. It holds the picture itself,
    so the picture's ``id`` cannot be taken by another image while the block is cached."""

    image: Image.Image
    token_ids: tuple[int, ...]
    keys: LayerStates
    values: LayerStates


class ImageBlockCache:
    """The image blocks of the ``capacity`` pictures used last, kept across the batches of one run; ``runs``
    counts the blocks put (each one computed). A block carries the activations of the hooks that were active
    when it ran: make one cache per run, under that run's hooks and model (``mine`` does), and never share
    it."""

    def __init__(self, capacity: int = 8) -> None:
        if capacity < 1:
            raise ValueError(f"capacity must be at least 1, got {capacity}")
        self.capacity = capacity
        self.runs = 0
        self._blocks: OrderedDict[int, ImageBlock] = OrderedDict()

    def get(self, image: Image.Image, token_ids: tuple[int, ...]) -> ImageBlock | None:
        """The block of this picture object with these prefix tokens, if cached (then it is the newest)."""
        block = self._blocks.get(id(image))
        if block is None or block.image is not image or block.token_ids != token_ids:
            return None
        self._blocks.move_to_end(id(image))
        return block

    def put(self, block: ImageBlock) -> None:
        """Keep ``block`` (just computed) as the newest, dropping the oldest beyond ``capacity``."""
        self.runs += 1
        self._blocks[id(block.image)] = block
        self._blocks.move_to_end(id(block.image))
        while len(self._blocks) > self.capacity:
            self._blocks.popitem(last=False)


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
    """Run the shared prefix once per listed row's image (vision tower included) and keep its keys and
    values."""
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
        cache = handle.model(**inputs, use_cache=True, logits_to_keep=no_positions()).past_key_values
    if not isinstance(cache, DynamicCache):
        raise TypeError(f"expected a DynamicCache from the prefix run, got {type(cache).__name__}")
    return cache


def _layer_states(cache: DynamicCache) -> list[tuple[Tensor, Tensor]]:
    states = []
    for layer in cache.layers:
        keys, values = getattr(layer, "keys", None), getattr(layer, "values", None)
        if not (isinstance(keys, Tensor) and isinstance(values, Tensor)):
            raise TypeError(f"cache layer {type(layer).__name__} holds no keys and values")
        states.append((keys, values))
    return states


def _run_blocks(
    images: Sequence[Image.Image], token_ids: tuple[int, ...], cache: DynamicCache
) -> list[ImageBlock]:
    """Split a prefix run's cache (one row per image) into one block per image."""
    states = _layer_states(cache)
    return [
        ImageBlock(
            image,
            token_ids,
            tuple(keys[index : index + 1].clone() for keys, _ in states),
            tuple(values[index : index + 1].clone() for _, values in states),
        )
        for index, image in enumerate(images)
    ]


def _image_blocks(
    handle: ModelHandle,
    images: Sequence[Image.Image],
    encoded: dict[str, Tensor],
    first_rows: list[int],
    token_ids: tuple[int, ...],
    blocks: ImageBlockCache,
) -> list[ImageBlock]:
    """The block of each distinct image (``images[first_rows[i]]``): cached ones from ``blocks``, the others
    run together now and added."""
    found = {row: blocks.get(images[row], token_ids) for row in first_rows}
    missing = [row for row, block in found.items() if block is None]
    if missing:
        cache = _prefix_cache(handle, encoded, missing, len(token_ids))
        new = _run_blocks([images[row] for row in missing], token_ids, cache)
        for row, block in zip(missing, new, strict=True):
            found[row] = block
            blocks.put(block)
    return [block for block in found.values() if block is not None]


def _batch_cache(handle: ModelHandle, row_blocks: Sequence[ImageBlock]) -> DynamicCache:
    """One cache row per prompt, each a copy of its picture's block."""
    cache = DynamicCache(config=handle.model.config)
    with torch.inference_mode():
        for layer in range(len(row_blocks[0].keys)):
            keys = torch.cat([block.keys[layer] for block in row_blocks])
            values = torch.cat([block.values[layer] for block in row_blocks])
            cache.update(keys, values, layer)
    return cache


def _suffix_inputs(
    rows: list[list[int]], end: int, pad: int
) -> tuple[Int[Tensor, "batch suffix"], Int[Tensor, "batch pos"], Int[Tensor, "batch suffix"]]:
    suffix_ids, suffix_mask = left_padded([row[end:] for row in rows], pad)
    attention_mask = torch.cat([torch.ones(len(rows), end, dtype=torch.long), suffix_mask], 1)
    return suffix_ids, attention_mask, position_ids_for(attention_mask)[:, end:]


def image_prefix_inputs(
    handle: ModelHandle,
    prompts: Sequence[PromptInput],
    template: PromptTemplate,
    blocks: ImageBlockCache | None = None,
) -> dict[str, object] | None:
    """Keyword arguments for one forward pass over image ``prompts`` that runs only their question tokens,
    after their image blocks: taken from ``blocks`` where cached there, the others computed here (under
    whatever hooks are active) once per distinct image and added. None when the batch cannot share: text
    prompts, no image block in a shared position, every image distinct and no ``blocks`` to keep them for
    later batches, or prefix plus padded questions beyond the sliding window."""
    if handle.processor is None or not prompts or any(prompt.image is None for prompt in prompts):
        return None
    row_images, first_rows = _distinct_images(prompts)
    if blocks is None and len(first_rows) == len(prompts):
        return None
    encoded = encode_prompts(handle, prompts, template)
    rows = unpadded_rows(encoded)
    end = image_block_end(rows, int(getattr(handle.processor.tokenizer, "eoi_token_id")))  # noqa: B009
    window = sliding_window(handle)
    if end is None or (window is not None and max(len(row) for row in rows) >= window):
        return None
    images = [prompt.image for prompt in prompts if prompt.image is not None]
    blocks = blocks or ImageBlockCache(len(first_rows))
    batch_blocks = _image_blocks(handle, images, encoded, first_rows, tuple(rows[0][:end]), blocks)
    cache = _batch_cache(handle, [batch_blocks[index] for index in row_images])
    suffix_ids, attention_mask, position_ids = _suffix_inputs(
        rows, end, int(handle.tokenizer.pad_token_id or 0)
    )
    inputs = {"input_ids": suffix_ids, "attention_mask": attention_mask, "position_ids": position_ids}
    return {
        **{k: v.to(handle.device) for k, v in inputs.items()},
        "past_key_values": cache,
        "use_cache": True,
    }
