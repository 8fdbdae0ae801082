"""The latency study (PSF-Med Table 27): the cost of each intervention as a ratio to the plain forward pass,
measured side by side in interleaved rounds on the study's own prompts."""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd
import torch

from experiments.timing import TimingRow, format_rows, time_interleaved
from interp.clamping import clamp_features
from interp.handle import ModelHandle
from interp.hooks import ResidEdit
from interp.patching import patched_margins
from interp.prompt_pair import PromptPair
from interp.prompts import PromptInput, PromptTemplate, encode_prompts
from saes.features import encode_all, feature_slice
from saes.loading import LoadedSAE

PLAIN = "plain forward"


def _forward(handle: ModelHandle, inputs: dict[str, torch.Tensor]) -> Callable[[], object]:
    def run() -> object:
        with torch.inference_mode():
            return handle.model(**inputs, logits_to_keep=1, use_cache=False).logits

    return run


def _full_encode_clamp(loaded: LoadedSAE, feature: int) -> Callable[[torch.Tensor], torch.Tensor]:
    row = loaded.sae.W_dec[feature]

    def edit(hidden: torch.Tensor) -> torch.Tensor:
        activations = encode_all(loaded.sae, hidden)[..., feature : feature + 1]  # on the SAE's device
        return hidden - (activations * row).to(device=hidden.device, dtype=hidden.dtype)

    return edit


def latency_methods(
    handle: ModelHandle, loaded: LoadedSAE, feature: int, prompts: list[PromptInput], template: PromptTemplate
) -> dict[str, Callable[[], object]]:
    """Plain forward; zero-clamp from one encoder column; the paper's full-width encode then clamp;
    delta-only patching of the same prompts against themselves (each original captured once), on whole
    prompts like the plain forward, and after the shared few-shot prefix (built once per call)."""
    inputs = encode_prompts(handle, prompts, template)
    plain = _forward(handle, inputs)
    slice_ = feature_slice(loaded.sae, [feature])
    pairs = [PromptPair(prompt, prompt) for prompt in prompts]

    def clamped() -> object:
        with clamp_features(handle.layers, loaded.layer, slice_):
            return plain()

    def full_encode() -> object:
        with ResidEdit(handle.layers, {loaded.layer: _full_encode_clamp(loaded, feature)}):
            return plain()

    def patched(share_prefix: bool) -> Callable[[], object]:
        return lambda: patched_margins(
            handle,
            pairs,
            loaded.layer,
            slice_,
            template,
            batch_size=len(pairs),
            progress=False,
            share_prefix=share_prefix,
        )

    return {
        PLAIN: plain,
        "zero-clamp (one encoder column)": clamped,
        "zero-clamp after full-width encode": full_encode,
        "delta-only patch (incl. original capture)": patched(False),
        "delta-only patch after the shared prefix": patched(True),
    }


def run_latency_study(
    handle: ModelHandle,
    loaded: LoadedSAE,
    feature: int,
    questions: list[str],
    template: PromptTemplate,
    batch_sizes: tuple[int, ...] = (1, 16),
    rounds: int = 5,
) -> pd.DataFrame:
    """Median milliseconds and ratio to the plain forward of every method, per batch size."""
    tables = []
    for batch_size in batch_sizes:
        prompts = [PromptInput(question) for question in questions[:batch_size]]
        methods = latency_methods(handle, loaded, feature, prompts, template)
        rows = time_interleaved(methods, baseline=PLAIN, rounds=rounds)
        print(f"batch {len(prompts)}:\n{format_rows(rows)}")
        tables.append(_frame(rows, len(prompts)))
    return pd.concat(tables, ignore_index=True)


def _frame(rows: list[TimingRow], batch_size: int) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "batch_size": batch_size,
            "method": [row.name for row in rows],
            "median_ms": [1e3 * row.median_seconds for row in rows],
            "ratio_to_plain": [row.median_ratio for row in rows],
            "ratio_min": [min(row.ratios) for row in rows],
            "ratio_max": [max(row.ratios) for row in rows],
        }
    )
