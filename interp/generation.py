"""Greedy answer generation: decodes a short answer per prompt and keeps the first step's raw logits, so one
call yields the parsed answer, the yes-minus-no margin and the answer's greedy NLL (the summed −log p of the
emitted tokens, stop token included; see ``interp.decoding``)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from jaxtyping import Float, Int
from torch import Tensor

from interp.decoding import Decoded, decode, emitted_nll
from interp.forward import last_position_logits
from interp.handle import ModelHandle
from interp.image_prefix import ImageBlockCache, image_prefix_inputs
from interp.prompts import PromptInput, PromptTemplate, batched, encode_prompts
from interp.shared_prefix import SharedPrefix, forward_inputs


@dataclass(frozen=True)
class GreedyAnswers:
    """Generated answer texts (cut at the template's terminator), the first decoding step's logits, and per
    answer the greedy NLL (Σ −log p over the emitted tokens) and the number of emitted tokens."""

    texts: list[str]
    first_step_logits: Float[Tensor, "batch vocab"]
    nll: Float[Tensor, " batch"]
    token_counts: Int[Tensor, " batch"]


def stop_token_ids(handle: ModelHandle) -> list[int]:
    """End-of-sequence ids: ``<eos>`` and, where the vocabulary has it, Gemma's ``<end_of_turn>``."""
    ids = [int(handle.tokenizer.eos_token_id)] if handle.tokenizer.eos_token_id is not None else []
    end_of_turn = handle.tokenizer.convert_tokens_to_ids("<end_of_turn>")
    if isinstance(end_of_turn, int) and end_of_turn != handle.tokenizer.unk_token_id:
        ids.append(end_of_turn)
    return ids


def _cut(text: str, terminator: str | None) -> str:
    text = text.lstrip()
    if terminator is not None and terminator in text:
        text = text[: text.index(terminator)]
    return text.strip()


def decoded_texts(
    handle: ModelHandle, tokens: Int[Tensor, "batch step"], template: PromptTemplate
) -> list[str]:
    """Each row's emitted tokens as text, special tokens dropped, cut at the template's terminator."""
    decoded = handle.tokenizer.batch_decode(tokens, skip_special_tokens=True)
    return [_cut(text, template.answer_terminator) for text in decoded]


def _one_token_answers(handle: ModelHandle, inputs: dict[str, object]) -> GreedyAnswers:
    logits = last_position_logits(handle, inputs).float()
    token = logits.argmax(dim=-1)
    texts = handle.tokenizer.batch_decode(token[:, None], skip_special_tokens=True)
    return GreedyAnswers(
        [text.strip() for text in texts], logits, emitted_nll(logits, token), torch.ones_like(token)
    )


def _answers(handle: ModelHandle, decoded: Decoded, template: PromptTemplate) -> GreedyAnswers:
    texts = decoded_texts(handle, decoded.tokens, template)
    return GreedyAnswers(texts, decoded.first_step_logits, decoded.nll, decoded.token_counts)


def greedy_decode(
    handle: ModelHandle, inputs: dict[str, object], max_new_tokens: int, template: PromptTemplate
) -> GreedyAnswers:
    """Greedy decoding from prepared ``inputs`` (whole prompts from ``encode_prompts``, or a question after
    a cached prefix, see ``interp.image_prefix``)."""
    return _answers(handle, decode(handle, inputs, max_new_tokens, stop_token_ids(handle)), template)


def generate_answers(
    handle: ModelHandle,
    prompts: Sequence[PromptInput],
    template: PromptTemplate,
    max_new_tokens: int = 8,
    prefix: SharedPrefix | None = None,
    reuse_image_prefix: bool = False,
    image_blocks: ImageBlockCache | None = None,
) -> GreedyAnswers:
    """Greedy-decode up to ``max_new_tokens`` for one batch of prompts. With ``reuse_image_prefix``, image
    prompts that share pictures run their questions after the image block, computed once per picture (see
    ``interp.image_prefix``; only where no hook edits a particular position), taking the blocks of earlier
    batches from ``image_blocks`` and adding this batch's. Otherwise one token (enough
    for a few-shot prompt whose examples answer in one word) is a single forward pass that runs after
    ``prefix`` when given (text prompts; see ``interp.shared_prefix``), and longer answers run whole
    prompts.

    >>> answers = generate_answers(handle, prompts, CHAT_TEMPLATE, max_new_tokens=8)  # doctest: +SKIP
    >>> answers.texts, answers.nll  # "Yes", and −log p of "Yes" plus "<end_of_turn>"  # doctest: +SKIP
    """
    after_image = image_prefix_inputs(handle, prompts, template, image_blocks) if reuse_image_prefix else None
    if after_image is not None:
        return greedy_decode(handle, after_image, max_new_tokens, template)
    if max_new_tokens == 1:
        return _one_token_answers(handle, forward_inputs(handle, prompts, template, prefix))
    return greedy_decode(handle, dict(encode_prompts(handle, prompts, template)), max_new_tokens, template)


def answer_texts(
    handle: ModelHandle,
    prompts: Sequence[PromptInput],
    template: PromptTemplate,
    max_new_tokens: int,
    batch_size: int = 8,
) -> list[str]:
    """The greedy answer texts of ``prompts``, in batches of ``batch_size`` (whole prompts; prompts with and
    without images must not share a batch)."""
    return [
        text
        for batch in batched(prompts, batch_size)
        for text in generate_answers(handle, batch, template, max_new_tokens).texts
    ]
