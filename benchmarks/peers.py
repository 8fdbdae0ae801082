"""Peer benchmark: the workbench's capture, SAE splice, clamp and delta-only patching against
transformer-lens, sae-lens, nnsight and plain loops on the demo model at batch 16; every figure is a ratio to
the plain HF forward (``logits_to_keep=1``) of the same interleaved rounds, with a check that outputs agree.

Run: ``.venv/bin/python -m benchmarks.peers [--rounds 10] [--pairs 32] [--patch-rounds 5]``
(the peers are optional: ``bash benchmarks/setup_peers.sh``).
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable
from typing import Any

import torch
from sae_lens import JumpReLUSAE
from torch import Tensor

from benchmarks.foundation import QUESTIONS
from benchmarks.peer_libraries import (
    INSTALL_HINT,
    missing_peers,
    nnsight_model,
    sae_bridge,
    transformer_bridge,
)
from benchmarks.peer_patching import demo_pairs, patching_rows, print_patching
from benchmarks.peer_sae import full_width_clamp, most_active_feature, random_jumprelu_sae, splice_with_error
from experiments.timing import format_rows, time_interleaved
from interp.clamping import clamp_features
from interp.handle import ModelHandle
from interp.hooks import ResidCapture, ResidEdit
from interp.loading import load_model
from interp.prompt_pair import PromptPair
from interp.prompts import FEW_SHOT_TEMPLATE, PromptInput, encode_prompts
from interp.resid_cache import final_token_resid
from saes.features import FeatureSlice, encode_all, feature_slice

PLAIN = "plain HF forward (logits_to_keep=1)"
Inputs = dict[str, Tensor]


def _plain(handle: ModelHandle, inputs: Inputs, **options: Any) -> Any:
    with torch.inference_mode():
        return handle.model(**inputs, logits_to_keep=1, use_cache=False, **options)


def _capture(handle: ModelHandle, inputs: Inputs, layer: int, stop: bool) -> Tensor:
    with ResidCapture(handle.layers, [layer], positions="all", stop_early=stop) as capture:
        _plain(handle, inputs)
    return capture.activations[layer]


def _edited_logits(handle: ModelHandle, inputs: Inputs, edit: ResidEdit) -> Tensor:
    with edit:
        return _plain(handle, inputs).logits[:, -1]


def _bridge_kwargs(inputs: Inputs) -> dict[str, Tensor]:
    return {"attention_mask": inputs["attention_mask"], "position_ids": inputs["position_ids"]}


def capture_methods(
    handle: ModelHandle, inputs: Inputs, layer: int, peers: bool
) -> dict[str, Callable[[], Tensor]]:
    """Every way to read ``resid_post`` of ``layer``; each returns the captured ``[batch, pos, d]`` tensor."""
    methods: dict[str, Callable[[], Tensor]] = {
        f"ours: ResidCapture layer {layer}": lambda: _capture(handle, inputs, layer, stop=False),
        "ours: ResidCapture + stop_early": lambda: _capture(handle, inputs, layer, stop=True),
        "output_hidden_states=True": lambda: _plain(handle, inputs, output_hidden_states=True).hidden_states[
            layer + 1
        ],
    }
    if not peers:
        return methods
    bridge, lm = transformer_bridge(handle), nnsight_model(handle)
    hook, ids, kwargs = f"blocks.{layer}.hook_resid_post", inputs["input_ids"], _bridge_kwargs(inputs)

    def bridge_cache(**options: Any) -> Tensor:
        with torch.inference_mode():
            _, cache = bridge.run_with_cache(ids, names_filter=[hook], use_cache=False, **kwargs, **options)
        return cache[hook]

    def nnsight_trace(stop: bool) -> Tensor:
        with torch.inference_mode(), lm.trace(dict(inputs), logits_to_keep=1, use_cache=False) as tracer:
            saved = lm.model.layers[layer].output.save()
            if stop:
                tracer.stop()
        return saved[0] if isinstance(saved, tuple) else saved

    methods["TL bridge run_with_cache(names_filter)"] = lambda: bridge_cache()
    methods[f"TL bridge … + stop_at_layer={layer + 1}"] = lambda: bridge_cache(stop_at_layer=layer + 1)
    methods["nnsight trace + save"] = lambda: nnsight_trace(stop=False)
    methods["nnsight trace + save + tracer.stop()"] = lambda: nnsight_trace(stop=True)
    return methods


def sae_methods(
    handle: ModelHandle, inputs: Inputs, layer: int, sae: JumpReLUSAE, feature: int, peers: bool
) -> dict[str, Callable[[], Tensor]]:
    """The splice with error term and the two zero-clamps; each returns the final position's logits."""
    slice_ = feature_slice(sae, [feature])
    methods: dict[str, Callable[[], Tensor]] = {
        "ours: SAE splice + error (ResidEdit)": lambda: _edited_logits(
            handle, inputs, ResidEdit(handle.layers, {layer: splice_with_error(sae)})
        ),
        "ours: zero-clamp (clamp_features, 1 column)": lambda: _edited_logits(
            handle, inputs, clamp_features(handle.layers, layer, slice_)
        ),
        "zero-clamp after full-width encode": lambda: _edited_logits(
            handle, inputs, ResidEdit(handle.layers, {layer: full_width_clamp(sae, feature)})
        ),
    }
    if peers:
        bridge, ids, kwargs = sae_bridge(handle), inputs["input_ids"], _bridge_kwargs(inputs)

        def sae_lens_splice() -> Tensor:
            with torch.inference_mode():
                logits = bridge.run_with_saes(
                    ids, saes=[sae], use_error_term=True, logits_to_keep=1, use_cache=False, **kwargs
                )
            return logits[:, -1]

        methods["sae-lens bridge run_with_saes(use_error_term)"] = sae_lens_splice
    return methods


def _max_diff(first: Tensor, second: Tensor, mask: Tensor | None = None) -> float:
    difference = (first.float() - second.float()).abs()
    return float(difference[mask].max() if mask is not None else difference.max())


def checks(handle: ModelHandle, inputs: Inputs, methods: dict[str, Callable[[], Tensor]]) -> dict[str, str]:
    """Run each method once and compare: captures with ours on real tokens, splices with the plain logits,
    the full-width clamp with ours."""
    outputs = {name: method() for name, method in methods.items()}
    mask = inputs["attention_mask"].bool()
    ours_capture = outputs[next(name for name in outputs if name.startswith("ours: ResidCapture layer"))]
    plain = _plain(handle, inputs).logits[:, -1]
    ours_clamp = outputs["ours: zero-clamp (clamp_features, 1 column)"]
    result = {}
    for name, output in outputs.items():
        if output.shape[:2] == mask.shape:
            result[name] = f"max |Δ resid| vs ours = {_max_diff(output, ours_capture, mask):.1e}"
        elif "splice" in name or "run_with_saes" in name:
            result[name] = f"max |Δ logit| vs plain = {_max_diff(output, plain):.1e}"
    result["ours: zero-clamp (clamp_features, 1 column)"] = (
        f"clamp moved logits ≤ {_max_diff(ours_clamp, plain):.2f}"
    )
    full = outputs["zero-clamp after full-width encode"]
    result["zero-clamp after full-width encode"] = (
        f"max |Δ logit| vs ours = {_max_diff(full, ours_clamp):.1e}"
    )
    return result


def _sample(handle: ModelHandle, inputs: Inputs, layer: int) -> Tensor:
    """``resid_post`` rows of the real, non-BOS tokens, to calibrate the random SAE."""
    keep = inputs["attention_mask"].bool() & (inputs["input_ids"] != handle.tokenizer.bos_token_id)
    return _capture(handle, inputs, layer, stop=True)[keep].float()


def _patched_feature(
    handle: ModelHandle, sae: JumpReLUSAE, pairs: list[PromptPair], layer: int
) -> FeatureSlice:
    """The feature whose activation differs most between originals and paraphrases (so patching moves it)."""
    prompts = [prompt for pair in pairs for prompt in (pair.original, pair.paraphrase)]
    resid = final_token_resid(handle, prompts, FEW_SHOT_TEMPLATE, [layer])[:, 0]
    activations = encode_all(sae, resid)
    delta = (activations[1::2] - activations[0::2]).abs().mean(0)
    return feature_slice(sae, [int(delta.argmax())])


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="gemma3-270m")
    parser.add_argument("--layer", type=int, default=9)
    parser.add_argument("--width", type=int, default=16384)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--pairs", type=int, default=32)
    parser.add_argument("--patch-rounds", type=int, default=5)
    parser.add_argument("--threads", type=int, help="torch threads (1 steadies ratios on a shared machine)")
    return parser.parse_args()


def main() -> None:
    arguments = _arguments()
    if arguments.threads:
        torch.set_num_threads(arguments.threads)
    missing = missing_peers()
    if missing:
        print(f"peer libraries missing ({', '.join(missing)}): their rows are left out; {INSTALL_HINT}")
    handle, layer = load_model(arguments.model), arguments.layer
    inputs = encode_prompts(handle, [PromptInput(q) for q in QUESTIONS], FEW_SHOT_TEMPLATE)
    sample = _sample(handle, inputs, layer)
    sae = random_jumprelu_sae(sample, arguments.width, f"blocks.{layer}.hook_resid_post")
    feature = most_active_feature(sae, sample)
    methods: dict[str, Callable[[], object]] = {PLAIN: lambda: _plain(handle, inputs).logits}
    forward_methods = {
        **capture_methods(handle, inputs, layer, not missing),
        **sae_methods(handle, inputs, layer, sae, feature, not missing),
    }
    extra = checks(handle, inputs, forward_methods)
    methods.update(forward_methods)
    batch, length = inputs["input_ids"].shape
    print(
        f"model {arguments.model} ({handle.n_layers} layers, d_model {handle.d_model}), layer {layer}, "
        f"batch {batch} × {length} tokens, {handle.device}/{handle.dtype}, torch threads "
        f"{torch.get_num_threads()}, {arguments.rounds} rounds; random JumpReLU SAE width {arguments.width}, "
        f"clamped feature {feature}; load average at start {os.getloadavg()[0]:.1f}"
    )
    print(format_rows(time_interleaved(methods, baseline=PLAIN, rounds=arguments.rounds), extra))
    pairs = demo_pairs(arguments.pairs)
    patched = _patched_feature(handle, sae, pairs, layer)
    rows, patch_extra = patching_rows(
        handle, pairs, layer, patched, FEW_SHOT_TEMPLATE, arguments.patch_rounds
    )
    print_patching(rows, patch_extra, pairs)
    print(f"load average at end {os.getloadavg()[0]:.1f} (the machine is shared: read ratios, not times)")


if __name__ == "__main__":
    main()
