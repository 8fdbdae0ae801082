"""Token-by-token decoding from prepared inputs (a whole prompt, or a question after a cached prefix): greedy
or sampled (temperature and nucleus), with the negative log-likelihood of what was emitted. The first forward
pass fills the cache; with ``repeats`` it is run once and its cache copied for every sample, so ten samples of
a prompt cost one prompt forward and ten one-token steps each. Left-padding aware; a row that emits a stop
token gets padding from then on, as ``generate`` does.

>>> decoded = decode(handle, encode_prompts(handle, prompts, CHAT_TEMPLATE), 8, stops)  # doctest: +SKIP
>>> sampler = NucleusSampler(temperature=0.6, top_p=0.9, seeds=[1, 2])  # one seed per prompt
>>> decoded = decode(handle, inputs, 8, stops, pick=sampler, repeats=10)  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import torch
from jaxtyping import Float, Int
from torch import Tensor

from interp.handle import ModelHandle
from interp.vocab_positions import last_position

TokenPicker = Callable[[Float[Tensor, "batch vocab"]], Int[Tensor, " batch"]]

#: Nucleus sampling looks at this many most probable tokens first, and sorts the whole vocabulary only for
#: a row whose nucleus they do not cover.
NUCLEUS_CANDIDATES = 1024


@dataclass(frozen=True)
class Decoded:
    """Emitted tokens (padding after a row's stop token), the first step's logits (float32), and per row
    the summed −log p of the emitted tokens under the untempered model, stop token included, with their
    number."""

    tokens: Int[Tensor, "batch step"]
    first_step_logits: Float[Tensor, "batch vocab"]
    nll: Float[Tensor, " batch"]
    token_counts: Int[Tensor, " batch"]


def greedy_pick(logits: Float[Tensor, "batch vocab"]) -> Int[Tensor, " batch"]:
    """The most probable token of each row."""
    return logits.argmax(dim=-1)


def _nucleus(probabilities: Float[Tensor, " vocab"], top_p: float) -> tuple[Tensor, Tensor]:
    """The smallest set of most probable tokens whose mass reaches ``top_p`` (ids, probabilities)."""
    count = min(NUCLEUS_CANDIDATES, probabilities.shape[-1])
    values, ids = probabilities.topk(count)
    if float(values.sum()) < top_p and count < probabilities.shape[-1]:
        values, ids = probabilities.sort(descending=True)
    keep = (values.cumsum(dim=-1) - values) < top_p  # the first token is always kept
    return ids[keep], values[keep]


@dataclass
class NucleusSampler:
    """Samples each row from softmax(logits / temperature) cut to its top-``top_p`` nucleus, on the CPU with
    one generator per prompt (``seeds``, in prompt order; a batch holds each prompt's samples as consecutive
    rows, as many for every prompt),
    so a prompt's samples depend on its seed, not on its batch mates or the device, up to the last bits of
    its logits (a batch whose prompts share a picture runs after the reused image block, and a draw that
    falls on a boundary between two tokens may then go either way)."""

    temperature: float
    top_p: float
    seeds: Sequence[int]
    _generators: list[torch.Generator] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if self.temperature <= 0 or not 0 < self.top_p <= 1:
            raise ValueError(
                f"temperature must be > 0 and top_p in (0, 1], not {self.temperature}, {self.top_p}"
            )
        self._generators = [torch.Generator().manual_seed(int(seed)) for seed in self.seeds]

    def __call__(self, logits: Float[Tensor, "batch vocab"]) -> Int[Tensor, " batch"]:
        probabilities = torch.softmax(logits.float().cpu() / self.temperature, dim=-1)
        picked = []
        for row, row_probabilities in enumerate(probabilities):
            ids, values = _nucleus(row_probabilities, self.top_p)
            generator = self._generators[row * len(self._generators) // len(probabilities)]
            picked.append(ids[torch.multinomial(values, 1, generator=generator)])
        return torch.cat(picked).to(logits.device)


def emitted_nll(
    logits: Float[Tensor, "batch vocab"], token: Int[Tensor, " batch"]
) -> Float[Tensor, " batch"]:
    """−log p of each row's ``token`` under the softmax of its ``logits`` (float32)."""
    return -torch.log_softmax(logits.float(), dim=-1).gather(-1, token[:, None])[:, 0]


def _repeat(inputs: Mapping[str, object], output: object, repeats: int) -> tuple[Tensor, Tensor, Tensor]:
    """The first step's logits, attention mask and last positions, each row repeated ``repeats`` times; the
    cache is repeated in place."""
    logits = getattr(output, "logits")[:, -1, :].float()  # noqa: B009 (a transformers ModelOutput)
    mask, positions = inputs["attention_mask"], inputs["position_ids"]
    assert isinstance(mask, Tensor) and isinstance(positions, Tensor)
    if repeats > 1:
        getattr(output, "past_key_values").batch_repeat_interleave(repeats)  # noqa: B009
    return (
        logits.repeat_interleave(repeats, dim=0),
        mask.repeat_interleave(repeats, dim=0),
        positions[:, -1:].repeat_interleave(repeats, dim=0),
    )


def decode(
    handle: ModelHandle,
    inputs: Mapping[str, object],
    max_new_tokens: int,
    stop_ids: Sequence[int],
    pick: TokenPicker = greedy_pick,
    repeats: int = 1,
) -> Decoded:
    """Decode up to ``max_new_tokens`` per row of ``inputs`` (which carry ``attention_mask`` and
    ``position_ids``), ``repeats`` rows per prompt (consecutive), each next token chosen by ``pick``."""
    stops = torch.tensor(list(stop_ids), device=handle.device)
    pad = int(handle.tokenizer.pad_token_id or 0)
    with torch.inference_mode():
        output = handle.model(**{**inputs, "use_cache": True}, logits_to_keep=last_position())
        first, mask, position = _repeat(inputs, output, repeats)
        token = pick(first)
        nll, counts = emitted_nll(first, token), torch.ones_like(token)
        tokens, done = [token], torch.isin(token, stops)
        cache = output.past_key_values
        for _ in range(max_new_tokens - 1):
            if bool(done.all()):
                break
            mask, position = torch.cat([mask, torch.ones_like(mask[:, :1])], dim=1), position + 1
            step = handle.model(
                input_ids=token[:, None],
                attention_mask=mask,
                position_ids=position,
                past_key_values=cache,
                use_cache=True,
                logits_to_keep=last_position(),
            )
            logits = step.logits[:, -1, :].float()
            token = torch.where(done, pad, pick(logits))
            nll = nll + torch.where(done, 0.0, emitted_nll(logits, token))
            counts = counts + (~done).long()
            tokens.append(token)
            done |= torch.isin(token, stops)
    return Decoded(torch.stack(tokens, dim=1), first, nll, counts)
