"""Foundation benchmark: plain forward vs capture at the middle layer vs early-stopped capture, on the demo
model at batch 16, as ratios to the plain forward measured in the same interleaved rounds.

Run: ``.venv/bin/python -m benchmarks.foundation [--rounds 10]``
"""

from __future__ import annotations

import argparse

import torch

from experiments.timing import format_rows, time_interleaved
from interp.handle import ModelHandle
from interp.hooks import ResidCapture
from interp.loading import load_model
from interp.prompts import FEW_SHOT_TEMPLATE, PromptInput, encode_prompts

QUESTIONS = [
    "Is there a pleural effusion?",
    "Any fluid collecting around the lungs here?",
    "Is there radiographic evidence of cardiomegaly?",
    "Is the heart big?",
    "Is a pneumothorax present?",
    "Is there a collapsed lung?",
    "Is there consolidation in the lungs?",
    "Are the lungs free of consolidation?",
    "Is there evidence of pulmonary edema?",
    "Any fluid buildup in the lungs?",
    "Is a rib fracture visible?",
    "Can you see a broken rib on this film?",
    "Are support devices present, such as lines or tubes?",
    "Does this radiograph demonstrate atelectasis?",
    "Is the cardiomediastinal silhouette enlarged?",
    "Any lung opacity at all on this X-ray?",
]


def _plain(handle: ModelHandle, inputs: dict[str, torch.Tensor]) -> torch.Tensor:
    with torch.inference_mode():
        return handle.model(**inputs, logits_to_keep=1, use_cache=False).logits


def _capture(handle: ModelHandle, inputs: dict[str, torch.Tensor], layer: int, stop: bool) -> torch.Tensor:
    with ResidCapture(handle.layers, [layer], stop_early=stop) as capture, torch.inference_mode():
        handle.model(**inputs, logits_to_keep=1, use_cache=False)
    return capture.activations[layer]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="gemma3-270m")
    parser.add_argument("--rounds", type=int, default=10)
    arguments = parser.parse_args()
    handle = load_model(arguments.model)
    layer = handle.n_layers // 2
    inputs = encode_prompts(handle, [PromptInput(q) for q in QUESTIONS], FEW_SHOT_TEMPLATE)
    methods = {
        "plain forward (logits_to_keep=1)": lambda: _plain(handle, inputs),
        f"capture resid_post layer {layer}": lambda: _capture(handle, inputs, layer, stop=False),
        f"capture layer {layer} + early stop": lambda: _capture(handle, inputs, layer, stop=True),
    }
    full, early = _capture(handle, inputs, layer, False), _capture(handle, inputs, layer, True)
    check = f"max |early − full| = {(full - early).abs().max().item():.1e}"
    rows = time_interleaved(methods, baseline="plain forward (logits_to_keep=1)", rounds=arguments.rounds)
    batch, length = inputs["input_ids"].shape
    print(
        f"model {arguments.model} ({handle.n_layers} layers), batch {batch} × {length} tokens, "
        f"{handle.device}/{handle.dtype}, torch threads {torch.get_num_threads()}, {arguments.rounds} rounds"
    )
    print(format_rows(rows, {f"capture layer {layer} + early stop": check}))


if __name__ == "__main__":
    main()
