"""Greedy answer generation: decodes a short answer per prompt and keeps the first step's raw logits, so one
call yields both the parsed answer and the yes-minus-no margin."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from jaxtyping import Float
from torch import Tensor

from interp.forward import last_position_logits
from interp.handle import ModelHandle
from interp.image_prefix import image_prefix_inputs
from interp.prompts import PromptInput, PromptTemplate, encode_prompts
from interp.shared_prefix import SharedPrefix, forward_inputs


@dataclass(frozen=True)
class GreedyAnswers:
    """Generated answer texts (cut at the template's terminator) and the first decoding step's logits."""

    texts: list[str]
    first_step_logits: Float[Tensor, "batch vocab"]


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


def _one_token_answers(handle: ModelHandle, inputs: dict[str, object]) -> GreedyAnswers:
    logits = last_position_logits(handle, inputs).float()
    texts = handle.tokenizer.batch_decode(logits.argmax(dim=-1)[:, None], skip_special_tokens=True)
    return GreedyAnswers(texts=[text.strip() for text in texts], first_step_logits=logits)


def greedy_decode(
    handle: ModelHandle, inputs: dict[str, object], max_new_tokens: int, template: PromptTemplate
) -> GreedyAnswers:
    """Greedy decoding from prepared ``inputs`` (e.g. a question after a cached prefix, see
    ``interp.image_prefix``): the first forward pass fills the cache, then one token per step, left-padding
    aware; a row that emits a stop token gets padding from then on, as ``generate`` does."""
    stops = torch.tensor(stop_token_ids(handle), device=handle.device)
    pad = int(handle.tokenizer.pad_token_id or 0)
    with torch.inference_mode():
        output = handle.model(**{**inputs, "use_cache": True}, logits_to_keep=1)
        first = output.logits[:, -1, :].float()
        token = first.argmax(dim=-1)
        tokens, done = [token], torch.isin(token, stops)
        mask = inputs["attention_mask"]
        position = inputs["position_ids"][:, -1:]  # type: ignore[index]
        assert isinstance(mask, Tensor)
        for _ in range(max_new_tokens - 1):
            if bool(done.all()):
                break
            mask = torch.cat([mask, torch.ones_like(mask[:, :1])], dim=1)
            position = position + 1
            step = handle.model(
                input_ids=token[:, None],
                attention_mask=mask,
                position_ids=position,
                past_key_values=output.past_key_values,
                use_cache=True,
                logits_to_keep=1,
            )
            token = torch.where(done, pad, step.logits[:, -1, :].argmax(dim=-1))
            tokens.append(token)
            done |= torch.isin(token, stops)
    decoded = handle.tokenizer.batch_decode(torch.stack(tokens, dim=1), skip_special_tokens=True)
    return GreedyAnswers([_cut(text, template.answer_terminator) for text in decoded], first)


def generate_answers(
    handle: ModelHandle,
    prompts: Sequence[PromptInput],
    template: PromptTemplate,
    max_new_tokens: int = 8,
    prefix: SharedPrefix | None = None,
    reuse_image_prefix: bool = False,
) -> GreedyAnswers:
    """Greedy-decode up to ``max_new_tokens`` for one batch of prompts. With ``reuse_image_prefix``, image
    prompts that share pictures run their questions after the image block, computed once per picture (see
    ``interp.image_prefix``; only where no hook edits a particular position). Otherwise one token (enough
    for a few-shot prompt whose examples answer in one word) is a single forward pass, without
    ``generate``, that runs after ``prefix`` when given (text prompts; see ``interp.shared_prefix``), and
    longer answers run whole prompts."""
    after_image = image_prefix_inputs(handle, prompts, template) if reuse_image_prefix else None
    if after_image is not None:
        return greedy_decode(handle, after_image, max_new_tokens, template)
    if max_new_tokens == 1:
        return _one_token_answers(handle, forward_inputs(handle, prompts, template, prefix))
    inputs = encode_prompts(handle, prompts, template)
    inputs.pop("position_ids")  # generate derives positions from the attention mask itself
    prompt_length = inputs["input_ids"].shape[1]
    with torch.inference_mode():
        output = handle.model.generate(  # type: ignore[operator]
            **inputs,
            do_sample=False,
            max_new_tokens=max_new_tokens,
            eos_token_id=stop_token_ids(handle),
            pad_token_id=handle.tokenizer.pad_token_id,
            output_logits=True,
            return_dict_in_generate=True,
        )
    new_tokens = output.sequences[:, prompt_length:]
    decoded = handle.tokenizer.batch_decode(new_tokens, skip_special_tokens=True)
    texts = [_cut(text, template.answer_terminator) for text in decoded]
    return GreedyAnswers(texts=texts, first_step_logits=output.logits[0].float())
