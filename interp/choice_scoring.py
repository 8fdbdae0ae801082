"""Multiple-choice scoring by option-letter logits: the restricted softmax over the letters' next-token
logits at the first answer token (MediConfusion's ``greedy`` mode, and the NOTA analysis's scores).

>>> from interp import load_model                                               # doctest: +SKIP
>>> probabilities = letter_probabilities(handle, prompts, [4, 4], CHAT_TEMPLATE)  # doctest: +SKIP
"""

from __future__ import annotations

import string
from collections.abc import Sequence

import numpy as np
import torch
from numpy.typing import NDArray

from interp.forward import last_position_logits
from interp.handle import ModelHandle
from interp.prompts import PromptInput, PromptTemplate, encode_prompts


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
