"""Mining benchmark: one mining batch (encode, forward, answer, parse, rows), with and without the shared
few-shot prefix, against the plain batched forward of the same prompts, as ratios measured in the same
interleaved rounds, plus prompts per second. ``--images`` times image prompts (the demo bank's real-image
condition, chat template; ``--batches`` consecutive mining batches, as a study mines them) whole against
after their reused image blocks, and prints the largest margin difference between the two.

Run: ``.venv/bin/python -m benchmarks.mining [--rounds 10] [--batch-size 16] [--images --model demo-vlm
[--batches 4]]``
(``--dtype bfloat16 --warmup 0`` for a model as large as MedGemma-4B on a CPU, where the equality check
already warms it up).
"""

from __future__ import annotations

import argparse

import torch

from experiments.steps.mining import ImageLoader, default_image_loader, mine_batch
from experiments.timing import TimingRow, format_rows, time_interleaved
from flipbank.demo_bank import demo_image_root, load_demo_bank
from flipbank.images import ImageCondition
from flipbank.mining_plan import MiningConfig, MiningJob, plan_jobs
from flipbank.records import MiningRow
from interp.handle import ModelHandle
from interp.image_prefix import ImageBlockCache
from interp.loading import load_model
from interp.prompts import CHAT_TEMPLATE, FEW_SHOT_TEMPLATE, PromptInput, encode_prompts
from interp.shared_prefix import build_shared_prefix


def _report(arguments: argparse.Namespace, n_prompts: int, rows: list[TimingRow], placement: str) -> None:
    print(f"model {arguments.model}, batch {n_prompts}, {placement}, {arguments.rounds} rounds")
    print(format_rows(rows))
    for row in rows[1:]:
        print(f"{row.name}: {n_prompts / row.median_seconds:.1f} prompts/s")


def text_rows(handle: ModelHandle, arguments: argparse.Namespace) -> tuple[int, list[TimingRow]]:
    settings = MiningConfig(batch_size=arguments.batch_size)
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
    rows = time_interleaved(
        methods, baseline="tokenise + plain forward", rounds=arguments.rounds, warmup=arguments.warmup
    )
    return len(jobs), rows


def _mine_images(
    handle: ModelHandle, jobs: list[MiningJob], settings: MiningConfig, load: ImageLoader, reuse: bool
) -> list[MiningRow]:
    """Mine ``jobs`` in consecutive batches as `mine` does: with ``reuse``, after image blocks kept across
    the batches of this call."""
    blocks = ImageBlockCache() if reuse else None
    size = settings.batch_size
    return [
        row
        for start in range(0, len(jobs), size)
        for row in mine_batch(
            handle, jobs[start : start + size], CHAT_TEMPLATE, settings, load, None, reuse, blocks
        )
    ]


def image_rows(handle: ModelHandle, arguments: argparse.Namespace) -> tuple[int, list[TimingRow]]:
    settings = MiningConfig(image_conditions=(ImageCondition.REAL,), batch_size=arguments.batch_size)
    questions = load_demo_bank(image_root=demo_image_root())
    jobs = plan_jobs(questions, settings)[: arguments.batch_size * arguments.batches]
    load = default_image_loader(settings.blank_kind, settings.seed)
    whole = _mine_images(handle, jobs, settings, load, reuse=False)
    reused = _mine_images(handle, jobs, settings, load, reuse=True)
    gap = max(abs(a.margin - b.margin) for a, b in zip(whole, reused, strict=True))
    same = all(a.parsed_answer == b.parsed_answer for a, b in zip(whole, reused, strict=True))
    print(
        f"{len({job.image for job in jobs})} distinct images; largest |margin difference| {gap:.2e} logits;"
    )
    print(f"parsed answers identical: {same}")
    methods = {
        "mining, whole image prompts": lambda: _mine_images(handle, jobs, settings, load, reuse=False),
        "mining after the reused image blocks": lambda: _mine_images(
            handle, jobs, settings, load, reuse=True
        ),
    }
    rows = time_interleaved(
        methods, baseline="mining, whole image prompts", rounds=arguments.rounds, warmup=arguments.warmup
    )
    return len(jobs), rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="gemma3-270m")
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--warmup", type=int, default=1, help="untimed rounds before the timed ones")
    parser.add_argument("--dtype", default=None, help="e.g. bfloat16 (default: the device's)")
    parser.add_argument("--images", action="store_true", help="image prompts: whole vs reused image block")
    parser.add_argument("--batches", type=int, default=1, help="with --images: consecutive mining batches")
    arguments = parser.parse_args()
    handle = load_model(arguments.model, dtype=arguments.dtype)
    n_prompts, rows = (image_rows if arguments.images else text_rows)(handle, arguments)
    _report(arguments, n_prompts, rows, f"{handle.device}/{handle.dtype}")


if __name__ == "__main__":
    main()
