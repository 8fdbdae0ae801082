"""The patching rows of the peer benchmark: the workbench's batched delta-only patching (with and without the
shared few-shot prefix) against a plain per-pair loop that runs one pair at a time and recomputes the
original's activations for every pair."""

from __future__ import annotations

from collections.abc import Callable

import torch
from jaxtyping import Float
from torch import Tensor

from experiments.timing import TimingRow, format_rows, time_interleaved
from flipbank.demo_bank import load_demo_bank
from interp.feature_directions import FeatureDirections, residual_shift
from interp.forward import last_position_logits
from interp.handle import ModelHandle
from interp.hooks import ResidCapture, ResidEdit, ResidEditFunction
from interp.margin import yes_minus_no_margin
from interp.patching import margins_of, patched_margins
from interp.prompt_pair import PromptPair
from interp.prompts import PromptInput, PromptTemplate, encode_prompts

PLAIN = "plain forward of the paraphrases (batched)"
OURS = "ours: patched_margins"
OURS_WHOLE_PROMPTS = "ours, share_prefix=False"
LOOP = "per-pair loop (original recomputed)"


def demo_pairs(count: int) -> list[PromptPair]:
    """The first ``count`` (original, paraphrase) pairs of the demo bank, the pairs its FlipBank is curated
    from (patching costs the same whether or not a pair flipped)."""
    pairs = [
        PromptPair(PromptInput(question.original_question), PromptInput(paraphrase.text))
        for question in load_demo_bank()
        for paraphrase in question.paraphrases
    ]
    if len(pairs) < count:
        raise ValueError(f"the demo bank has {len(pairs)} pairs; asked for {count}")
    return pairs[:count]


def _final_token_delta(features: FeatureDirections, original: Float[Tensor, "1 k"]) -> ResidEditFunction:
    def edit(hidden: Float[Tensor, "batch pos d_model"]) -> Float[Tensor, "batch pos d_model"]:
        edited = hidden.clone()
        current = features.encode(hidden[:, -1, :])
        delta = current - original.to(device=current.device, dtype=current.dtype)
        edited[:, -1, :] -= residual_shift(features, delta, hidden)
        return edited

    return edit


def per_pair_loop(
    handle: ModelHandle,
    pairs: list[PromptPair],
    layer: int,
    features: FeatureDirections,
    template: PromptTemplate,
) -> Float[Tensor, " pair"]:
    """The straightforward way: for each pair, run the original to read its layer activation, then run the
    paraphrase with the delta-only edit (batch 1, no cached originals, no early stop)."""
    tokens = handle.yes_no_tokens(template.answer_leading_space)
    margins = []
    for pair in pairs:
        with ResidCapture(handle.layers, [layer]) as capture:
            last_position_logits(handle, encode_prompts(handle, [pair.original], template))
        with torch.inference_mode():
            original = features.encode(capture.activations[layer])
        inputs = encode_prompts(handle, [pair.paraphrase], template)
        with ResidEdit(handle.layers, {layer: _final_token_delta(features, original)}):
            margins.append(yes_minus_no_margin(last_position_logits(handle, inputs), tokens).cpu())
    return torch.cat(margins)


def _throughput(row: TimingRow, pairs: int, loop_seconds: float) -> str:
    return f"{pairs / row.median_seconds:6.1f} pairs/s = {loop_seconds / row.median_seconds:.2f}× the loop"


def patching_rows(
    handle: ModelHandle,
    pairs: list[PromptPair],
    layer: int,
    features: FeatureDirections,
    template: PromptTemplate,
    rounds: int,
) -> tuple[list[TimingRow], dict[str, str]]:
    """Time the plain forward, ours (with and without the shared prefix) and the loop in interleaved rounds;
    the check column holds pairs per second, the speed-up over the loop, and the largest difference between
    ours and the loop's patched margins."""
    paraphrases = [pair.paraphrase for pair in pairs]
    methods: dict[str, Callable[[], object]] = {
        PLAIN: lambda: margins_of(handle, paraphrases, template, batch_size=16, share_prefix=False),
        OURS: lambda: patched_margins(handle, pairs, layer, features, template, progress=False),
        OURS_WHOLE_PROMPTS: lambda: patched_margins(
            handle, pairs, layer, features, template, progress=False, share_prefix=False
        ),
        LOOP: lambda: per_pair_loop(handle, pairs, layer, features, template),
    }
    ours, loop = methods[OURS](), methods[LOOP]()
    assert isinstance(ours, Tensor) and isinstance(loop, Tensor)
    clean = methods[PLAIN]()
    assert isinstance(clean, Tensor)
    difference = float((ours - loop).abs().max())
    moved = float((ours - clean).abs().max())
    rows = time_interleaved(methods, baseline=PLAIN, rounds=rounds)
    loop_seconds = next(row.median_seconds for row in rows if row.name == LOOP)
    extra = {row.name: _throughput(row, len(pairs), loop_seconds) for row in rows if row.name != PLAIN}
    extra[OURS] += f"; max |ours − loop| = {difference:.1e} logits (patch moved margins ≤ {moved:.2f})"
    return rows, extra


def print_patching(rows: list[TimingRow], extra: dict[str, str], pairs: list[PromptPair]) -> None:
    originals = len({pair.original.question for pair in pairs})
    print(
        f"\ndelta-only patching, {len(pairs)} demo-bank pairs ({originals} distinct originals); ratios to "
        "the plain batched paraphrase forward"
    )
    print(format_rows(rows, extra))
