"""Mining benchmark: one mining batch (encode, forward, answer, parse, rows), with and without the shared
few-shot prefix, against the plain batched forward of the same prompts, as ratios measured in the same
interleaved rounds, plus prompts per second.

Run: ``.venv/bin/python -m benchmarks.mining [--rounds 10] [--batch-size 16]``
"""

from __future__ import annotations

import argparse

import torch

from experiments.timing import format_rows, time_interleaved
from flipbank.demo_bank import load_demo_bank
from flipbank.mining import default_image_loader, mine_batch
from flipbank.mining_plan import MiningSettings, plan_jobs
from interp.loading import load_model
from interp.prompts import FEW_SHOT_TEMPLATE, PromptInput, encode_prompts
from interp.shared_prefix import build_shared_prefix


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="gemma3-270m")
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--batch-size", type=int, default=16)
    arguments = parser.parse_args()
    handle = load_model(arguments.model)
    settings = MiningSettings(batch_size=arguments.batch_size)
    jobs = plan_jobs(load_demo_bank(), settings)[: arguments.batch_size]
    load = default_image_loader(settings.blank_kind, settings.seed)

    def plain() -> object:
        inputs = encode_prompts(handle, [PromptInput(job.text) for job in jobs], FEW_SHOT_TEMPLATE)
        with torch.inference_mode():
            return handle.model(**inputs, logits_to_keep=1, use_cache=False).logits

    prefix = build_shared_prefix(handle, FEW_SHOT_TEMPLATE)
    methods = {
        "tokenise + plain forward": plain,
        "mining batch, whole prompts": lambda: mine_batch(handle, jobs, FEW_SHOT_TEMPLATE, settings, load),
        "mining batch after the shared prefix": lambda: mine_batch(
            handle, jobs, FEW_SHOT_TEMPLATE, settings, load, prefix
        ),
    }
    rows = time_interleaved(methods, baseline="tokenise + plain forward", rounds=arguments.rounds)
    placement = f"{handle.device}/{handle.dtype}"
    print(f"model {arguments.model}, batch {len(jobs)}, {placement}, {arguments.rounds} rounds")
    print(format_rows(rows))
    for row in rows[1:]:
        print(f"{row.name}: {len(jobs) / row.median_seconds:.1f} prompts/s")


if __name__ == "__main__":
    main()
