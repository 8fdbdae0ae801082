"""Runs prompts through a model and reads the last position's logits, margin and Yes/No probabilities, in
left-padded batches with a progress bar. Only the last position's logits are computed."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import torch
from jaxtyping import Float
from torch import Tensor
from tqdm.auto import tqdm

from interp.handle import ModelHandle
from interp.margin import MarginVariants, yes_minus_no_margin, yes_no_probabilities
from interp.prompts import PromptInput, PromptTemplate, batched, encode_prompts
from interp.vocab_positions import last_position


@dataclass(frozen=True)
class PromptScore:
    """The yes-minus-no margin of one prompt, with the full-softmax P(Yes) and P(No)."""

    margin: float
    p_yes: float
    p_no: float


def run_model(handle: ModelHandle, inputs: Mapping[str, object]) -> object:
    """One inference-mode forward pass that projects only the final position onto the vocabulary; no cache
    is kept unless ``inputs`` ask for one (a shared prefix's ``past_key_values``)."""
    with torch.inference_mode():
        return handle.model(**{"use_cache": False, **inputs}, logits_to_keep=last_position())


def last_position_logits(handle: ModelHandle, inputs: Mapping[str, object]) -> Float[Tensor, "batch vocab"]:
    """Next-token logits at the final prompt position (``logits_to_keep=1``: the vocabulary projection of
    every other position is skipped)."""
    output = run_model(handle, inputs)
    logits = getattr(output, "logits")  # noqa: B009 (a transformers ModelOutput)
    assert isinstance(logits, Tensor)
    return logits[:, -1, :]


def scores_from_logits(
    handle: ModelHandle,
    logits: Float[Tensor, "batch vocab"],
    template: PromptTemplate,
    variants: MarginVariants = "primary",
) -> list[PromptScore]:
    """Turn next-token logits into per-prompt margins and Yes/No probabilities."""
    tokens = handle.yes_no_tokens(template.answer_leading_space)
    margins = yes_minus_no_margin(logits, tokens, variants).cpu()
    probabilities = yes_no_probabilities(logits, tokens)
    p_yes, p_no = probabilities.p_yes.cpu(), probabilities.p_no.cpu()
    return [
        PromptScore(margin=float(m), p_yes=float(y), p_no=float(n))
        for m, y, n in zip(margins, p_yes, p_no, strict=True)
    ]


def score_prompts(
    handle: ModelHandle,
    prompts: Sequence[PromptInput],
    template: PromptTemplate,
    batch_size: int = 16,
    variants: MarginVariants = "primary",
    progress: bool = True,
) -> list[PromptScore]:
    """Margins of ``prompts``, batched; a prompt's score does not depend on its batch mates."""
    scores: list[PromptScore] = []
    batches = batched(prompts, batch_size)
    for batch in tqdm(batches, desc="margins", unit="batch", disable=not progress):
        logits = last_position_logits(handle, encode_prompts(handle, batch, template))
        scores.extend(scores_from_logits(handle, logits, template, variants))
    return scores
