"""Sampled answers for sampling-entropy uncertainty: ``n_samples`` answers per prompt at a temperature,
cut to a nucleus, each prompt seeded by its own key so that its samples do not depend on batch mates,
batch size or device. The prompt runs once (after its reused image block where the batch shares pictures)
and its cache is copied for every sample.

>>> samples = sample_answers(handle, prompts, CHAT_TEMPLATE, keys=["q1", "q2"])  # doctest: +SKIP
>>> samples[0]  # ten answers to the first prompt  # doctest: +SKIP
['Yes', 'Yes', 'No', 'Yes', ...]
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from interp.decoding import NucleusSampler, decode
from interp.generation import decoded_texts, stop_token_ids
from interp.handle import ModelHandle
from interp.image_prefix import image_prefix_inputs
from interp.prompts import PromptInput, PromptTemplate, encode_prompts


def prompt_seed(seed: int, key: str) -> int:
    """A 63-bit seed for one prompt from the run's ``seed`` and the prompt's ``key``."""
    digest = hashlib.sha256(f"{seed}:{key}".encode()).digest()
    return int.from_bytes(digest[:8], "big") >> 1


def sample_answers(
    handle: ModelHandle,
    prompts: Sequence[PromptInput],
    template: PromptTemplate,
    keys: Sequence[str],
    n_samples: int = 10,
    temperature: float = 0.6,
    top_p: float = 0.9,
    max_new_tokens: int = 8,
    seed: int = 0,
) -> list[list[str]]:
    """``n_samples`` sampled answer texts per prompt of one batch (cut at the template's terminator)."""
    if len(keys) != len(prompts) or n_samples < 1:
        raise ValueError(f"{len(prompts)} prompts need as many keys (got {len(keys)}) and n_samples ≥ 1")
    inputs = image_prefix_inputs(handle, prompts, template)
    if inputs is None:
        inputs = dict(encode_prompts(handle, prompts, template))
    seeds = [prompt_seed(seed, key) for key in keys]
    sampler = NucleusSampler(temperature, top_p, seeds)
    decoded = decode(handle, inputs, max_new_tokens, stop_token_ids(handle), sampler, repeats=n_samples)
    texts = decoded_texts(handle, decoded.tokens, template)
    return [texts[row * n_samples : (row + 1) * n_samples] for row in range(len(prompts))]
