"""Feature-encoding benchmark: plain forward vs forward + k chosen SAE features at the last position (from
their encoder columns only) vs forward + a full-width encode, on the demo model at batch 16, as ratios to
the plain forward measured in the same interleaved rounds.

Run: ``.venv/bin/python -m benchmarks.feature_encoding [--rounds 10] [--k 5] [--random-width 16384]``"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from typing import Any

import torch
from sae_lens import SAE, JumpReLUSAE, JumpReLUSAEConfig

from benchmarks.foundation import QUESTIONS
from experiments.timing import format_rows, time_interleaved
from interp.handle import ModelHandle
from interp.hooks import ResidCapture
from interp.loading import load_model
from interp.prompts import FEW_SHOT_TEMPLATE, PromptInput, encode_prompts
from saes.demo_sae import ensure_demo_sae
from saes.features import FeatureSlice, encode_all, feature_slice
from saes.loading import LoadedSAE, load_sae

PLAIN = "plain forward (logits_to_keep=1)"


def _encode_only_ms(encode: Callable[[], torch.Tensor], repeats: int = 200) -> float:
    """Best-of-``repeats`` wall time of an encode alone: robust to the machine noise that blurs the ratios."""
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        encode()
        best = min(best, time.perf_counter() - start)
    return best * 1e3


def _forward_with_capture(handle: ModelHandle, inputs: dict[str, torch.Tensor], layer: int) -> torch.Tensor:
    with ResidCapture(handle.layers, [layer], positions="last") as capture, torch.inference_mode():
        handle.model(**inputs, logits_to_keep=1, use_cache=False)
    return capture.activations[layer]


def _plain(handle: ModelHandle, inputs: dict[str, torch.Tensor]) -> torch.Tensor:
    with torch.inference_mode():
        return handle.model(**inputs, logits_to_keep=1, use_cache=False).logits


def _with_columns(
    handle: ModelHandle, inputs: dict[str, torch.Tensor], layer: int, columns: FeatureSlice
) -> torch.Tensor:
    with torch.inference_mode():
        return columns.encode(_forward_with_capture(handle, inputs, layer))


def _with_full_encode(
    handle: ModelHandle, inputs: dict[str, torch.Tensor], layer: int, sae: SAE[Any]
) -> torch.Tensor:
    return encode_all(sae, _forward_with_capture(handle, inputs, layer))


def _random_sae(handle: ModelHandle, width: int, layer: int) -> LoadedSAE:
    generator = torch.Generator().manual_seed(0)
    sae = JumpReLUSAE(JumpReLUSAEConfig(d_in=handle.d_model, d_sae=width, apply_b_dec_to_input=False))
    with torch.no_grad():
        sae.W_enc.copy_(torch.randn(handle.d_model, width, generator=generator) / 6000.0)
        sae.threshold.fill_(0.5)
    sae = sae.to(device=handle.device, dtype=handle.dtype)
    return LoadedSAE(
        sae=sae, layer=layer, hook_point=f"model.layers.{layer}.output", source=f"random {width}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--model", default="gemma3-270m")
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--k", type=int, default=5)
    parser.add_argument(
        "--sae", default=None, help="SAE folder (default: the cached demo SAE, trained if missing)"
    )
    parser.add_argument(
        "--random-width", type=int, default=None, help="use a random JumpReLU SAE of this width"
    )
    arguments = parser.parse_args()
    handle = load_model(arguments.model)
    if arguments.random_width:
        loaded = _random_sae(handle, arguments.random_width, handle.n_layers // 2)
    else:
        loaded = load_sae(arguments.sae or ensure_demo_sae(handle=handle), handle)
    layer = loaded.layer
    inputs = encode_prompts(handle, [PromptInput(q) for q in QUESTIONS], FEW_SHOT_TEMPLATE)
    full = _with_full_encode(handle, inputs, layer, loaded.sae)
    chosen = [int(i) for i in (full > 0).sum(0).argsort(descending=True)[: arguments.k]]
    columns = feature_slice(loaded.sae, chosen)
    cheap_name = f"+ {arguments.k} features at layer {layer} (columns)"
    full_name = f"+ full-width encode ({loaded.d_sae}) at layer {layer}"
    methods = {
        PLAIN: lambda: _plain(handle, inputs),
        cheap_name: lambda: _with_columns(handle, inputs, layer, columns),
        full_name: lambda: _with_full_encode(handle, inputs, layer, loaded.sae),
    }
    difference = (_with_columns(handle, inputs, layer, columns) - full[:, chosen]).abs().max().item()
    rows = time_interleaved(methods, baseline=PLAIN, rounds=arguments.rounds)
    batch, length = inputs["input_ids"].shape
    print(
        f"model {arguments.model}, SAE {loaded.source}, batch {batch} × {length} tokens, "
        f"{handle.device}/{handle.dtype}, torch threads {torch.get_num_threads()}, "
        f"{arguments.rounds} rounds, features {chosen}"
    )
    print(format_rows(rows, {cheap_name: f"max |columns − full| = {difference:.1e}"}))
    resid = _forward_with_capture(handle, inputs, layer)
    plain_ms = rows[0].median_seconds * 1e3
    with torch.inference_mode():
        for name, encode in (
            ("columns", lambda: columns.encode(resid)),
            ("full-width", lambda: encode_all(loaded.sae, resid)),
        ):
            cost = _encode_only_ms(encode)
            print(
                f"encode alone ({name}): {cost:.3f} ms = {cost / plain_ms:.2e} of the plain forward's median"
            )


if __name__ == "__main__":
    main()
