"""Shares the token prefix that every text prompt of a template starts with (the few-shot examples): its keys
and values are computed once and reused by each batch, so a forward pass runs only the question's tokens."""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from jaxtyping import Int
from torch import Tensor
from transformers import DynamicCache

from interp.handle import ModelHandle
from interp.prompts import PromptInput, PromptTemplate, encode_prompts, position_ids_for, render_prompt
from interp.vocab_positions import no_positions

MIN_SHARED_TOKENS = 16
"""A prefix shorter than this (a chat turn's opening tokens) is not worth a cache."""
MIN_PROMPTS_TO_SHARE = 4
"""Building the prefix costs about one batch-1 forward; for fewer prompts than this it does not pay."""

_PROBE_QUESTIONS = ("Is there an effusion?", "Any cardiomegaly?")


@dataclass(frozen=True)
class SharedPrefix:
    """The first ``token_ids`` of every prompt (BOS included) and their keys and values at batch size 1,
    computed under whatever hooks were active when it was built. ``window`` is the narrowest sliding
    attention window (None: every layer attends to the whole prompt)."""

    token_ids: tuple[int, ...]
    cache: DynamicCache
    window: int | None

    def fits(self, suffix_width: int) -> bool:
        """Whether prefix + padded suffix lie inside every sliding window. Beyond it the padding between
        prefix and question would shift which tokens a window sees, so such batches run whole."""
        return self.window is None or len(self.token_ids) + suffix_width < self.window

    def past_for(self, batch_size: int) -> DynamicCache:
        """A fresh copy of the cache repeated ``batch_size`` times (a forward pass extends what it gets)."""
        past = copy.deepcopy(self.cache)
        past.batch_repeat_interleave(batch_size)
        return past


def common_prefix_length(rows: Sequence[Sequence[int]]) -> int:
    """How many leading tokens every row shares."""
    shortest = min(len(row) for row in rows)
    length = 0
    while length < shortest and all(row[length] == rows[0][length] for row in rows):
        length += 1
    return length


def _prompt_token_ids(
    handle: ModelHandle, questions: Sequence[str], template: PromptTemplate
) -> list[list[int]]:
    texts = [render_prompt(handle, question, template, with_image=False) for question in questions]
    return [list(row) for row in handle.tokenizer(texts)["input_ids"]]


def sliding_window(handle: ModelHandle) -> int | None:
    text_config = handle.model.config.get_text_config()
    window = getattr(text_config, "sliding_window", None)
    layer_types = getattr(text_config, "layer_types", None) or []
    if not window or (layer_types and "sliding_attention" not in layer_types):
        return None
    return int(window)


def build_shared_prefix(handle: ModelHandle, template: PromptTemplate) -> SharedPrefix | None:
    """The cache of the tokens that all text prompts of ``template`` share, or None when fewer than
    ``MIN_SHARED_TOKENS`` are shared. The last common token of two probe prompts is left out, so a question's
    first characters can never merge with it."""
    probes = _prompt_token_ids(handle, _PROBE_QUESTIONS, template)
    shared = probes[0][: max(common_prefix_length(probes) - 1, 0)]
    window = sliding_window(handle)
    if len(shared) < MIN_SHARED_TOKENS or (window is not None and len(shared) >= window):
        return None
    input_ids = torch.tensor([shared], device=handle.device)
    with torch.inference_mode():
        output = handle.model(
            input_ids=input_ids,
            attention_mask=torch.ones_like(input_ids),
            use_cache=True,
            logits_to_keep=no_positions(),
        )
    if not isinstance(output.past_key_values, DynamicCache):
        return None
    return SharedPrefix(tuple(shared), output.past_key_values, window)


def prefix_for_prompts(
    handle: ModelHandle, template: PromptTemplate, prompts: Sequence[PromptInput]
) -> SharedPrefix | None:
    """The shared prefix for a set of prompts: None when any prompt has an image (the processor's image
    tokens need the whole sequence), when there are fewer than ``MIN_PROMPTS_TO_SHARE`` prompts, or when the
    template shares too little."""
    if len(prompts) < MIN_PROMPTS_TO_SHARE or any(prompt.image is not None for prompt in prompts):
        return None
    return build_shared_prefix(handle, template)


def _suffix(row: list[int], prefix: SharedPrefix, question: str) -> list[int]:
    length = len(prefix.token_ids)
    if tuple(row[:length]) != prefix.token_ids or len(row) == length:
        raise ValueError(f"prompt for question {question!r} does not start with the shared prefix")
    return row[length:]


def left_padded(
    rows: Sequence[list[int]], pad: int
) -> tuple[Int[Tensor, "batch pos"], Int[Tensor, "batch pos"]]:
    width = max(len(row) for row in rows)
    input_ids = torch.tensor([[pad] * (width - len(row)) + row for row in rows])
    mask = torch.tensor([[0] * (width - len(row)) + [1] * len(row) for row in rows])
    return input_ids, mask


def encode_after_prefix(
    handle: ModelHandle, prompts: Sequence[PromptInput], template: PromptTemplate, prefix: SharedPrefix
) -> dict[str, Tensor] | None:
    """Model inputs for the tokens after ``prefix``: the suffixes left-padded (so padding sits between the
    prefix and the question), an attention mask over prefix and suffix, and positions that continue the
    prefix's. None when the prefix cannot serve the batch: it has images (the processor's image tokens need
    the whole sequence) or does not fit the sliding window (see ``SharedPrefix.fits``). Pass
    ``prefix.past_for(batch)`` as ``past_key_values`` with them."""
    if any(prompt.image is not None for prompt in prompts):
        return None
    rows = _prompt_token_ids(handle, [prompt.question for prompt in prompts], template)
    suffixes = [_suffix(row, prefix, prompt.question) for row, prompt in zip(rows, prompts, strict=True)]
    input_ids, suffix_mask = left_padded(suffixes, int(handle.tokenizer.pad_token_id or 0))
    if not prefix.fits(input_ids.shape[1]):
        return None
    attention_mask = torch.cat(
        [torch.ones(len(suffixes), len(prefix.token_ids), dtype=torch.long), suffix_mask], 1
    )
    position_ids = position_ids_for(attention_mask)[:, len(prefix.token_ids) :]
    inputs = {"input_ids": input_ids, "attention_mask": attention_mask, "position_ids": position_ids}
    return {name: value.to(handle.device) for name, value in inputs.items()}


def encode_batch(
    handle: ModelHandle, prompts: Sequence[PromptInput], template: PromptTemplate, prefix: SharedPrefix | None
) -> dict[str, Tensor]:
    """The batch's tensors: the tokens after ``prefix`` when there is one and it can serve the batch (text
    prompts that fit its window), otherwise the whole prompts."""
    after = None if prefix is None else encode_after_prefix(handle, prompts, template, prefix)
    return encode_prompts(handle, prompts, template) if after is None else after


def runs_after_prefix(inputs: dict[str, Tensor]) -> bool:
    """Whether ``inputs`` hold only the tokens after a shared prefix (their mask also covers the prefix)."""
    return bool(inputs["attention_mask"].shape[1] > inputs["input_ids"].shape[1])


def with_prefix_cache(inputs: dict[str, Tensor], prefix: SharedPrefix | None) -> dict[str, object]:
    """Keyword arguments for one forward pass over ``inputs`` from ``encode_batch``: with a fresh copy of
    the prefix cache when they run after the prefix (each forward pass needs its own)."""
    if not runs_after_prefix(inputs):
        return {**inputs, "use_cache": False}
    if prefix is None:
        raise ValueError("these inputs run after a shared prefix; pass the prefix they were encoded with")
    batch_size = int(inputs["input_ids"].shape[0])
    return {**inputs, "past_key_values": prefix.past_for(batch_size), "use_cache": True}


def forward_inputs(
    handle: ModelHandle, prompts: Sequence[PromptInput], template: PromptTemplate, prefix: SharedPrefix | None
) -> dict[str, object]:
    """Keyword arguments for one forward pass over ``prompts`` (see ``encode_batch``)."""
    return with_prefix_cache(encode_batch(handle, prompts, template, prefix), prefix)
