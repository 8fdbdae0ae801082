"""Runs every prompt position but the last once, keeping its keys and values, so that the last position can
be run alone any number of times (generation's decode step): for gradients at the final token, whose
backward pass then covers one position instead of the whole prompt.

>>> step = prefill(handle, encode_prompts(handle, prompts, template))  # doctest: +SKIP
>>> with ResidEdit(handle.layers, {9: edit}):                          # doctest: +SKIP
...     margins = final_margins(handle, step, handle.yes_no_tokens(False))
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass

import torch
from jaxtyping import Float
from torch import Tensor
from transformers import Cache

from interp.answer_tokens import YesNoTokens
from interp.handle import ModelHandle
from interp.vocab_positions import no_positions

_PER_POSITION = ("input_ids", "position_ids", "token_type_ids")
"""Inputs with one column per prompt position (the attention mask also covers a shared prefix)."""


@dataclass(frozen=True)
class FinalStep:
    """The keys and values of every position but the last, and the last position's own inputs."""

    cache: Cache
    final_inputs: dict[str, object]

    def inputs(self) -> dict[str, object]:
        """Keyword arguments for one forward pass over the last position, with a fresh copy of the cache
        (a forward pass extends what it gets)."""
        return {**self.final_inputs, "past_key_values": copy.deepcopy(self.cache), "use_cache": True}


def _tensor(inputs: Mapping[str, object], name: str) -> Tensor:
    value = inputs[name]
    assert isinstance(value, Tensor), name
    return value


def prefill(handle: ModelHandle, inputs: Mapping[str, object]) -> FinalStep:
    """Run ``inputs`` (left-padded, from ``encode_prompts`` or ``forward_inputs``; images and a shared
    prefix's cache allowed) without their last position and without gradients, and return the `FinalStep`
    that runs that position. Image tokens never sit last, so the last step needs no pixels and no
    bidirectional image mask."""
    width = _tensor(inputs, "input_ids").shape[1]
    if width < 2:
        raise ValueError("prefill needs at least two positions after any shared prefix")
    head: dict[str, object] = {name: value for name, value in inputs.items() if name != "use_cache"}
    for name in (*_PER_POSITION, "attention_mask"):
        if name in inputs:
            head[name] = _tensor(inputs, name)[:, :-1]
    with torch.no_grad():
        output = handle.model(**head, use_cache=True, logits_to_keep=no_positions())
    cache = output.past_key_values
    assert isinstance(cache, Cache)
    final: dict[str, object] = {
        name: _tensor(inputs, name)[:, -1:] for name in ("input_ids", "position_ids") if name in inputs
    }
    final["attention_mask"] = _tensor(inputs, "attention_mask")
    return FinalStep(cache, final)


def final_margins(handle: ModelHandle, step: FinalStep, tokens: YesNoTokens) -> Float[Tensor, " batch"]:
    """The yes-minus-no margin of the last position (float32, differentiable under ``torch.enable_grad``):
    the text decoder runs that position alone, and only the two primary answer rows of the unembedding are
    applied (with the final logit soft-capping where the model has one), not the whole vocabulary, whose
    projection would otherwise dominate a one-position forward and backward pass."""
    decoder = handle.model.get_decoder()
    assert isinstance(decoder, torch.nn.Module)
    hidden = decoder(**step.inputs()).last_hidden_state[:, -1, :]  # (batch, d_model), after the final norm
    unembedding = handle.model.get_output_embeddings()
    assert isinstance(unembedding, torch.nn.Linear)
    rows = torch.tensor([tokens.primary_yes, tokens.primary_no], device=unembedding.weight.device)
    logits = hidden.to(unembedding.weight.device) @ unembedding.weight[rows].T  # (batch, 2)
    if unembedding.bias is not None:
        logits = logits + unembedding.bias[rows]
    cap = getattr(handle.model.config.get_text_config(), "final_logit_softcapping", None)
    if cap:
        logits = torch.tanh(logits / cap) * cap
    logits = logits.float()
    return logits[:, 0] - logits[:, 1]
