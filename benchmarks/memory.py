"""Memory benchmark: peak RSS of capture and of delta-only patching on the demo model as the number of pairs
grows, each size in a fresh subprocess (``ru_maxrss`` of the child), beside the bytes each workload keeps and
what keeping every layer or the full-vocabulary logits would have cost.

Run: ``.venv/bin/python -m benchmarks.memory [--sizes 50 100 200 400]``
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import resource
import subprocess
import sys
from collections.abc import Callable

import torch
from torch import Tensor

from benchmarks.peer_patching import demo_pairs
from benchmarks.peer_sae import random_jumprelu_sae
from interp.handle import ModelHandle
from interp.hooks import ResidCapture
from interp.loading import load_model
from interp.patching import patched_margins
from interp.prompt_pair import PromptPair
from interp.prompts import FEW_SHOT_TEMPLATE, PromptInput, batched, encode_prompts
from interp.resid_cache import final_token_resid
from saes.features import FeatureSlice, feature_slice

LAYER = 9
BATCH = 16
MIB = 2**20
#: glibc raises its mmap threshold each time a large mmapped block is freed, after which activation-sized
#: buffers come from the heap, fragment it and inflate the peak with run length; a fixed threshold keeps
#: them mmapped (returned to the system on free), so the peak shows what the workload holds.
MMAP_THRESHOLD = 128 * 1024
Workload = Callable[[ModelHandle, list[PromptPair]], list[Tensor]]


def _prompts(pairs: list[PromptPair]) -> list[PromptInput]:
    return [prompt for pair in pairs for prompt in (pair.original, pair.paraphrase)]


def capture_final(handle: ModelHandle, pairs: list[PromptPair]) -> list[Tensor]:
    """Final-token ``resid_post`` of layer 9 for every prompt of the pairs (what feature ranking keeps)."""
    return [final_token_resid(handle, _prompts(pairs), FEW_SHOT_TEMPLATE, [LAYER], BATCH)]


def capture_all_positions(handle: ModelHandle, pairs: list[PromptPair]) -> list[Tensor]:
    """Layer-9 ``resid_post`` at every position of every prompt, kept on the CPU (grows with what is kept)."""
    kept = []
    for batch in batched(_prompts(pairs), BATCH):
        inputs = encode_prompts(handle, batch, FEW_SHOT_TEMPLATE)
        with ResidCapture(handle.layers, [LAYER], "all", True, True) as capture, torch.inference_mode():
            handle.model(**inputs, logits_to_keep=1, use_cache=False)
        kept.append(capture.activations[LAYER])
    return kept


_FEATURES: dict[int, FeatureSlice] = {}


def _feature(handle: ModelHandle, pairs: list[PromptPair]) -> FeatureSlice:
    """One feature of a random 16k SAE, built once per process (the SAE itself is not kept)."""
    if id(handle) not in _FEATURES:
        sample = capture_final(handle, pairs[:BATCH])[0][:, 0]
        sae = random_jumprelu_sae(sample, 16384, f"blocks.{LAYER}.hook_resid_post")
        _FEATURES[id(handle)] = feature_slice(sae, [0])
    return _FEATURES[id(handle)]


def patching(handle: ModelHandle, pairs: list[PromptPair]) -> list[Tensor]:
    """Delta-only patching of one feature over the pairs (keeps one margin per pair)."""
    features = _feature(handle, pairs)
    return [
        patched_margins(handle, pairs, LAYER, features, FEW_SHOT_TEMPLATE, batch_size=BATCH, progress=False)
    ]


WORKLOADS: dict[str, Workload] = {
    "capture, final token": capture_final,
    "capture, all positions": capture_all_positions,
    "patching": patching,
}


def _peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def child(workload: str, pairs: int) -> dict[str, float]:
    """Load the model, warm the workload up on one batch, then run it on ``pairs`` pairs."""
    handle = load_model("gemma3-270m")
    chosen = demo_pairs(pairs)
    WORKLOADS[workload](handle, chosen[:BATCH])
    gc.collect()  # garbage of the warm-up (e.g. the random SAE's reference cycles) does not count
    warm = _peak_mib()
    kept = WORKLOADS[workload](handle, chosen)
    tokens = max(
        int(encode_prompts(handle, _prompts(chosen[:BATCH]), FEW_SHOT_TEMPLATE)["input_ids"].shape[1]), 1
    )
    return {
        "warm_mib": warm,
        "peak_mib": _peak_mib(),
        "kept_mib": sum(tensor.numel() * tensor.element_size() for tensor in kept) / MIB,
        "tokens": tokens,
        "n_layers": handle.n_layers,
        "d_model": handle.d_model,
        "vocab": int(handle.model.config.get_text_config().vocab_size),
    }


def _run_child(workload: str, pairs: int, fixed_mmap_threshold: bool) -> dict[str, float]:
    command = [sys.executable, "-m", "benchmarks.memory", "--child", workload, str(pairs)]
    environment = dict(os.environ)
    if fixed_mmap_threshold:
        environment["MALLOC_MMAP_THRESHOLD_"] = str(MMAP_THRESHOLD)
    output = subprocess.run(command, check=True, capture_output=True, text=True, env=environment).stdout
    return dict(json.loads(output.strip().splitlines()[-1]))


def _would_keep(result: dict[str, float], pairs: int) -> tuple[float, float]:
    """MiB that every layer at every position, or one batch of full-vocabulary logits, would take."""
    prompts, tokens = 2 * pairs, result["tokens"]
    every_layer = prompts * tokens * result["n_layers"] * result["d_model"] * 4 / MIB
    logits_batch = BATCH * tokens * result["vocab"] * 4 / MIB
    return every_layer, logits_batch


def print_table(workloads: list[str], sizes: list[int], fixed_mmap_threshold: bool) -> None:
    """One row per workload and size, each measured in a fresh child process."""
    malloc = f"MALLOC_MMAP_THRESHOLD_={MMAP_THRESHOLD}" if fixed_mmap_threshold else "glibc default malloc"
    print(f"MiB, one fresh process per row ({malloc}); would be: all layers & positions / a batch of logits")
    print(
        f"{'workload':<24} {'pairs':>5} {'kept MiB':>9} {'warm RSS':>9} {'peak RSS':>9} {'peak − warm':>11}"
    )
    for workload in workloads:
        for pairs in sizes:
            result = _run_child(workload, pairs, fixed_mmap_threshold)
            layers, logits = _would_keep(result, pairs)
            print(
                f"{workload:<24} {pairs:>5} {result['kept_mib']:>9.1f} {result['warm_mib']:>9.0f} "
                f"{result['peak_mib']:>9.0f} {result['peak_mib'] - result['warm_mib']:>11.0f}   "
                f"(would be {layers:,.0f} / {logits:,.0f})",
                flush=True,
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[50, 100, 200, 400])
    parser.add_argument("--workloads", nargs="+", choices=list(WORKLOADS), default=list(WORKLOADS))
    parser.add_argument(
        "--glibc-default", action="store_true", help="keep glibc's dynamic mmap threshold in the children"
    )
    parser.add_argument("--child", nargs=2, metavar=("WORKLOAD", "PAIRS"), help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.child:
        print(json.dumps(child(arguments.child[0], int(arguments.child[1]))))
    else:
        print_table(arguments.workloads, arguments.sizes, not arguments.glibc_default)


if __name__ == "__main__":
    main()
