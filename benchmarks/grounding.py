"""Grounding-cost benchmark: the grounding step's work on a batch of boxed demo questions (eager-attention
capture of the last position's attention to the image tokens, heat maps, scores against the true boxes)
against the plain batched forward of the same prompts on the default attention kernel, as ratios measured
in the same interleaved rounds.

Run: ``.venv/bin/python -m benchmarks.grounding [--rounds 5] [--batch-size 8]``
"""

from __future__ import annotations

import argparse

import torch

from experiments.steps.grounding_study import boxed_questions, grounding_rows
from experiments.timing import format_rows, time_interleaved
from flipbank.demo_bank import demo_image_root, load_demo_bank
from flipbank.demo_images import read_annotations
from flipbank.images import load_image
from interp.loading import load_model
from interp.prompts import CHAT_TEMPLATE, PromptInput, encode_prompts


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--model", default="demo-vlm")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=8)
    arguments = parser.parse_args()
    handle = load_model(arguments.model, device="cpu", dtype="float32")
    root = demo_image_root()
    boxed = boxed_questions(load_demo_bank(image_root=root), read_annotations(root))[: arguments.batch_size]
    prompts = [PromptInput(question.original_question, load_image(question.image)) for question, _ in boxed]

    def plain() -> object:
        inputs = encode_prompts(handle, prompts, CHAT_TEMPLATE)
        with torch.inference_mode():
            return handle.model(**inputs, logits_to_keep=1, use_cache=False).logits

    methods = {
        "tokenise + plain forward": plain,
        "grounding (eager attention, maps, scores)": lambda: grounding_rows(
            handle, boxed, CHAT_TEMPLATE, load_image, batch_size=arguments.batch_size
        ),
    }
    rows = time_interleaved(methods, baseline="tokenise + plain forward", rounds=arguments.rounds)
    print(f"model {arguments.model}, {len(prompts)} boxed questions, fp32, {torch.get_num_threads()} threads")
    print(format_rows(rows))


if __name__ == "__main__":
    main()
