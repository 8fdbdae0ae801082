"""LoRA training-step benchmark: seconds per optimiser step (batch 8 pairs = 16 prompts, forward + backward +
AdamW) for the targeted arm (the paper's 15–19 of 34, scaled) and the full arm, side by side in interleaved
rounds, with the ratio to the full arm. The check column says whether the backward pass reached the first
decoder layer: the targeted arm should not pay for a backward below its first adapted layer.

Run: ``.venv/bin/python -m benchmarks.lora [--model gemma3-270m] [--rounds 5]``"""

from __future__ import annotations

import argparse
import itertools
from collections.abc import Callable

import torch

from benchmarks.foundation import QUESTIONS
from experiments.timing import format_rows, time_interleaved
from interp.handle import ModelHandle
from interp.loading import load_model
from interp.lora_layers import resolve_lora_layers
from interp.lora_training import LoraTrainingConfig, lora_step, lora_trainer
from interp.prompt_pair import PromptPair
from interp.prompts import CHAT_TEMPLATE, FEW_SHOT_TEMPLATE, PromptInput, PromptTemplate


def _pairs() -> list[PromptPair]:
    questions = QUESTIONS[:9]
    return [PromptPair(PromptInput(a), PromptInput(b)) for a, b in itertools.pairwise(questions)]


def _arm(spec: str, layers: str, template: PromptTemplate) -> tuple[Callable[[], None], dict[str, str]]:
    """One step's work for an arm, and what to report about it (layers, parameters, first-layer backward)."""
    handle: ModelHandle = load_model(spec, device="cpu", dtype="float32")
    config = LoraTrainingConfig(layers=layers, warm_up_steps=1)  # type: ignore[arg-type]
    trainer = lora_trainer(handle, config, total_steps=1_000)
    pairs, answers = _pairs(), ["yes", "no"] * 4
    reached: list[bool] = []
    handle.layers[0].register_full_backward_hook(lambda *_: reached.append(True))  # type: ignore[arg-type]

    def step() -> None:
        lora_step(trainer, handle, pairs, answers, range(len(pairs)), config, template)  # type: ignore[arg-type]

    step()
    n_parameters = sum(p.numel() for p in trainer.model.parameters() if p.requires_grad)
    resolved = resolve_lora_layers(config.layers, handle.n_layers)
    facts = {"layers": f"{resolved[0]}–{resolved[-1]}", "parameters": f"{n_parameters / 1e6:.2f} M"}
    facts["backward reached layer 0"] = "yes" if reached else "no"
    return step, facts


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--model", default="gemma3-270m")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    template = FEW_SHOT_TEMPLATE if args.model == "gemma3-270m" else CHAT_TEMPLATE
    arms = {name: _arm(args.model, name, template) for name in ("full", "targeted")}
    rows = time_interleaved(
        {f"{name} LoRA step": arm[0] for name, arm in arms.items()}, "full LoRA step", args.rounds
    )
    extra = {f"{n} LoRA step": ", ".join(f"{k} {v}" for k, v in arm[1].items()) for n, arm in arms.items()}
    print(f"{args.model}, batch 8 pairs (16 prompts), fp32, {torch.get_num_threads()} threads")
    print(format_rows(rows, extra))


if __name__ == "__main__":
    main()
