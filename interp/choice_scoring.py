"""Multiple-choice scoring by option-letter logits: the restricted softmax over the letters' next-token
logits at the first answer token (MediConfusion's ``greedy`` mode, and the NOTA analysis's scores); and by
each option's text as the answer, its mean token log-probability (MediConfusion's ``prefix`` mode).

>>> from interp import load_model                                               # doctest: +SKIP
>>> probabilities = letter_probabilities(handle, prompts, [4, 4], CHAT_TEMPLATE)  # doctest: +SKIP
"""

from __future__ import annotations

import string
from collections.abc import Sequence

import numpy as np
import torch
from numpy.typing import NDArray
from torch import Tensor

from interp.answer_tokens import YesNoTokens
from interp.forward import last_position_logits
from interp.handle import ModelHandle
from interp.prompts import PromptInput, PromptTemplate, encode_prompts, position_ids_for
from interp.vocab_positions import last_positions


def letter_token_ids(handle: ModelHandle, count: int, leading_space: bool) -> list[int]:
    """The single-token ids of the first ``count`` option letters ("A", "B", … or " A", " B", …)."""
    prefix = " " if leading_space else ""
    ids = []
    for letter in string.ascii_uppercase[:count]:
        pieces = handle.tokenizer.encode(prefix + letter, add_special_tokens=False)
        if len(pieces) != 1:
            raise ValueError(f"the option letter {prefix + letter!r} is {len(pieces)} tokens, not one")
        ids.append(int(pieces[0]))
    return ids


def letter_probabilities(
    handle: ModelHandle,
    prompts: Sequence[PromptInput],
    option_counts: Sequence[int],
    template: PromptTemplate,
    batch_size: int = 8,
) -> list[NDArray[np.float64]]:
    """Per prompt, the softmax over its ``option_counts[i]`` letters' logits at the next token (float64).
    Prompts with and without images must not share a batch (`encode_prompts`)."""
    if len(prompts) != len(option_counts):
        raise ValueError(f"{len(prompts)} prompts but {len(option_counts)} option counts")
    found: list[NDArray[np.float64]] = []
    for start in range(0, len(prompts), batch_size):
        chunk = prompts[start : start + batch_size]
        with torch.no_grad():
            logits = last_position_logits(handle, encode_prompts(handle, chunk, template)).float().cpu()
        for row, count in zip(logits, option_counts[start : start + batch_size], strict=True):
            ids = letter_token_ids(handle, count, template.answer_leading_space)
            found.append(torch.softmax(row[ids].double(), dim=-1).numpy())
    return found


def _option_ids(handle: ModelHandle, options: Sequence[str], leading_space: bool) -> list[list[int]]:
    prefix = " " if leading_space else ""
    ids = [handle.tokenizer.encode(prefix + option, add_special_tokens=False) for option in options]
    if any(not piece for piece in ids):
        raise ValueError(f"an option has no tokens: {list(options)}")
    return ids


def _continued(encoded: dict[str, Tensor], ids: list[list[list[int]]], pad: int) -> dict[str, Tensor]:
    """One copy of each prompt's row per option of that prompt, followed by the option's tokens; the options
    are right-padded, so every prompt still ends at the same column of the left-padded batch."""
    pieces = [piece for options in ids for piece in options]
    device = encoded["input_ids"].device
    counts = torch.tensor([len(options) for options in ids], device=device)
    tail = torch.full(
        (len(pieces), max(len(piece) for piece in pieces)), pad, dtype=torch.long, device=device
    )
    tail_mask = torch.zeros_like(tail)
    for row, piece in enumerate(pieces):
        tail[row, : len(piece)] = torch.tensor(piece, device=device)
        tail_mask[row, : len(piece)] = 1
    grown = {name: value.repeat_interleave(counts, dim=0) for name, value in encoded.items()}
    grown["input_ids"] = torch.cat([grown["input_ids"], tail], dim=1)
    grown["attention_mask"] = torch.cat([grown["attention_mask"], tail_mask], dim=1)
    grown["position_ids"] = position_ids_for(grown["attention_mask"])
    if "token_type_ids" in grown:
        grown["token_type_ids"] = torch.cat([grown["token_type_ids"], torch.zeros_like(tail)], dim=1)
    return grown


def _option_means(handle: ModelHandle, inputs: dict[str, Tensor], start: int) -> Tensor:
    """Each row's mean log-probability of its tokens after column ``start`` (logits only where one of
    them is predicted)."""
    width = inputs["input_ids"].shape[1] - start
    with torch.inference_mode():
        output = handle.model(**inputs, use_cache=False, logits_to_keep=last_positions(width + 1))
        logits = output.logits[:, :-1].float()
    log_p = torch.log_softmax(logits, dim=-1).gather(-1, inputs["input_ids"][:, start:, None])[..., 0]
    mask = inputs["attention_mask"][:, start:].to(log_p.dtype)
    return ((log_p * mask).sum(-1) / mask.sum(-1)).double().cpu()


def option_log_likelihoods(
    handle: ModelHandle,
    prompts: Sequence[PromptInput],
    options: Sequence[Sequence[str]],
    template: PromptTemplate,
    batch_size: int = 8,
) -> list[NDArray[np.float64]]:
    """Per prompt, the mean log-probability of each of its options' tokens as the answer (teacher-forced;
    the exponential is the geometric-mean token probability of MediConfusion's ``prefix`` mode). One forward
    per ``batch_size`` prompts, each prompt's options side by side. Prompts with and without images must
    not share a batch (`encode_prompts`)."""
    if len(prompts) != len(options):
        raise ValueError(f"{len(prompts)} prompts but {len(options)} option lists")
    pad = int(handle.tokenizer.pad_token_id or 0)
    found: list[NDArray[np.float64]] = []
    for first in range(0, len(prompts), batch_size):
        chunk = range(first, min(first + batch_size, len(prompts)))
        ids = [_option_ids(handle, options[i], template.answer_leading_space) for i in chunk]
        encoded = encode_prompts(handle, [prompts[i] for i in chunk], template)
        means = _option_means(handle, _continued(encoded, ids, pad), encoded["input_ids"].shape[1])
        found.extend(part.numpy() for part in torch.split(means, [len(options) for options in ids]))
    return found


def option_letter_tokens(handle: ModelHandle, leading_space: bool) -> YesNoTokens:
    """ "A" and "B" as a two-answer token pair, so that a margin reads logit(A) − logit(B) (MediConfusion's
    two options; `interp.patching` takes it as ``answer_tokens``)."""
    first, second = letter_token_ids(handle, 2, leading_space)
    return YesNoTokens(yes=(first,), no=(second,))
