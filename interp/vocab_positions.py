"""Which positions a forward pass projects onto the vocabulary: transformers' ``logits_to_keep``, given as an
index tensor rather than an int.

``logits_to_keep=1`` slices the last hidden state into a strided view. torch's matmul folds such a view into
one matrix product only while the weight requires grad; on a frozen model (PEFT freezes the base weights of
an adapted model and of LoRA training) the vocabulary projection then runs as a batched product over a
broadcast weight, 2.6× slower on the demo VLM's 262k-row unembedding (428 vs 166 ms for 16 prompts on a
2-core CPU). An index tensor yields a contiguous copy, so every model runs the same single product.
The indices stay on the CPU on purpose: torch moves a CPU index to whatever device holds the last hidden
state, which with ``device_map="auto"`` is the last layer's, not the inputs'.

>>> output = handle.model(**inputs, logits_to_keep=last_position())  # doctest: +SKIP
>>> output.logits.shape  # (batch, 1, vocab)  # doctest: +SKIP
"""

from __future__ import annotations

import torch
from jaxtyping import Int
from torch import Tensor


def last_positions(count: int = 1) -> Int[Tensor, " count"]:
    """The last ``count`` positions (negative indices, in order); prompts are left-padded, so they are
    every row's final tokens."""
    if count < 0:
        raise ValueError(f"count must be at least 0, got {count}")
    return torch.arange(-count, 0)


def last_position() -> Int[Tensor, " 1"]:
    """The final position alone: the next-token logits."""
    return last_positions(1)


def no_positions() -> Int[Tensor, " 0"]:
    """No position: a run that only fills a cache (a shared or image prefix) projects nothing."""
    return last_positions(0)
