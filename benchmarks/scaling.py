"""Scaling benchmark: mining and delta-only patching time on 1×, 2× and 4× a slice of the demo bank (in
interleaved rounds, to show linear cost), and a 2-process sharded mining run merged with ``merge_shards``
and compared with the unsharded rows.

Run: ``.venv/bin/python -m benchmarks.scaling [--questions 8] [--pairs 16] [--rounds 3]``
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import torch

from benchmarks.peer_patching import demo_pairs
from benchmarks.peer_sae import random_jumprelu_sae
from flipbank.demo_bank import load_demo_bank
from flipbank.mining import mine
from flipbank.mining_plan import MiningSettings
from flipbank.mining_store import merge_shards
from flipbank.records import QuestionRecord
from interp.handle import ModelHandle
from interp.loading import load_model
from interp.patching import PatchPair, patched_margins
from interp.prompts import FEW_SHOT_TEMPLATE, PromptInput
from interp.resid_cache import final_token_resid
from saes.features import FeatureSlice, feature_slice

LAYER = 9
MULTIPLES = (1, 2, 4)


def _mine(
    handle: ModelHandle, questions: list[QuestionRecord], folder: Path, settings: MiningSettings
) -> Path:
    return mine(handle, questions, FEW_SHOT_TEMPLATE, settings, folder, progress=False).rows_path


def _features(handle: ModelHandle) -> FeatureSlice:
    prompts = [PromptInput(question.original_question) for question in load_demo_bank()[:16]]
    sample = final_token_resid(handle, prompts, FEW_SHOT_TEMPLATE, [LAYER])[:, 0]
    return feature_slice(random_jumprelu_sae(sample, 16384, f"blocks.{LAYER}.hook_resid_post"), [0])


def scaling_tasks(
    handle: ModelHandle, questions: int, pairs: int, scratch: Path
) -> dict[tuple[str, int], tuple[int, Callable[[], object]]]:
    """(task, multiple) → (units of work, the timed call). Mining units are prompts, patching units pairs."""
    bank, features = load_demo_bank(), _features(handle)
    tasks: dict[tuple[str, int], tuple[int, Callable[[], object]]] = {}
    counter = itertools.count()
    for multiple in MULTIPLES:
        chosen = bank[: questions * multiple]
        prompts = sum(len(question.paraphrases) + 1 for question in chosen)
        chosen_pairs = demo_pairs(pairs * multiple)

        def mining(chosen: list[QuestionRecord] = chosen) -> object:
            return _mine(handle, chosen, scratch / f"mine-{next(counter)}", MiningSettings())

        def patching(chosen_pairs: list[PatchPair] = chosen_pairs) -> object:
            return patched_margins(handle, chosen_pairs, LAYER, features, FEW_SHOT_TEMPLATE, progress=False)

        tasks[("mining", multiple)] = (prompts, mining)
        tasks[("patching", multiple)] = (len(chosen_pairs), patching)
    return tasks


def time_rounds(tasks: dict[tuple[str, int], tuple[int, Callable[[], object]]], rounds: int) -> pd.DataFrame:
    """Run every task once per round, in rotating order, after one warm-up call of the smallest size."""
    for (_, multiple), (_, call) in tasks.items():
        if multiple == MULTIPLES[0]:
            call()
    keys = list(tasks)
    seconds: dict[tuple[str, int], list[float]] = {key: [] for key in tasks}
    for round_index in range(rounds):
        shift = round_index % len(keys)
        for key in keys[shift:] + keys[:shift]:
            start = time.perf_counter()
            tasks[key][1]()
            seconds[key].append(time.perf_counter() - start)
    return pd.DataFrame(
        [
            {"task": task, "multiple": multiple, "units": tasks[(task, multiple)][0], "seconds": values}
            for (task, multiple), values in seconds.items()
        ]
    )


def format_scaling(table: pd.DataFrame) -> str:
    """Median and min–max seconds, seconds per unit, and cost per unit relative to 1×."""
    header = f"{'task':<9} {'size':>4} {'units':>6} {'median s':>9} {'min–max s':>13} {'ms/unit':>8}"
    lines = [f"{header} {'per-unit vs 1×':>15}"]
    for task, group in table.groupby("task", sort=False):
        base = None
        for row in group.itertuples(index=False):
            median = statistics.median(row.seconds)
            per_unit = median / row.units
            base = base or per_unit
            span = f"{min(row.seconds):.1f}–{max(row.seconds):.1f}"
            lines.append(
                f"{task:<9} {row.multiple:>3}× {row.units:>6} {median:>9.1f} {span:>13} "
                f"{1e3 * per_unit:>8.0f} {per_unit / base:>15.2f}"
            )
    return "\n".join(lines)


def sharded_check(handle: ModelHandle, questions: list[QuestionRecord], scratch: Path) -> str:
    """Mine ``questions`` unsharded here and as 2 concurrent shard processes, merge, and compare the rows."""
    whole = pd.read_parquet(_mine(handle, questions, scratch / "whole", MiningSettings()))
    start = time.perf_counter()
    processes = []
    for index in range(2):
        command = [sys.executable, "-m", "benchmarks.scaling", "--shard", str(index)]
        command += ["--questions", str(len(questions)), "--output", str(scratch / f"shard-{index}")]
        processes.append(subprocess.Popen(command))
    if any(process.wait() != 0 for process in processes):
        raise RuntimeError("a shard process failed")
    seconds = time.perf_counter() - start
    merged = pd.read_parquet(merge_shards([scratch / f"shard-{i}" for i in range(2)], scratch / "merged"))
    exact = whole.equals(merged)
    floats = [column for column in whole.columns if pd.api.types.is_float_dtype(whole[column])]
    others = [column for column in whole.columns if column not in floats]
    same_other = whole[others].equals(merged[others])
    gap = max(float((whole[column] - merged[column]).abs().max()) for column in floats)
    pd.testing.assert_frame_equal(whole, merged, check_exact=False, atol=1e-4, rtol=0)
    return (
        f"sharded mining ({len(whole)} rows, 2 processes × 1 thread, {seconds:.0f} s wall incl. start-up): "
        f"merged == unsharded exactly: {exact}; non-float columns identical: {same_other}; "
        f"largest float difference {gap:.1e} ({', '.join(floats)}); assert_frame_equal(atol=1e-4) passed"
    )


def shard_main(index: int, questions: int, output: Path) -> None:
    """One shard of the sharded run (a child process with one torch thread)."""
    torch.set_num_threads(1)
    handle = load_model("gemma3-270m")
    _mine(handle, load_demo_bank()[:questions], output, MiningSettings(shard_index=index, shard_count=2))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--questions", type=int, default=8, help="demo-bank questions mined at 1×")
    parser.add_argument("--pairs", type=int, default=16, help="pairs patched at 1×")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--shard", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--output", type=Path, help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.shard is not None:
        shard_main(arguments.shard, arguments.questions, arguments.output)
        return
    handle = load_model("gemma3-270m")
    with tempfile.TemporaryDirectory(prefix="psf-scaling-") as folder:
        scratch = Path(folder)
        table = time_rounds(
            scaling_tasks(handle, arguments.questions, arguments.pairs, scratch), arguments.rounds
        )
        threads = torch.get_num_threads()
        print(f"demo model, batch 16, torch threads {threads}, {arguments.rounds} interleaved rounds")
        print(format_scaling(table))
        print(sharded_check(handle, load_demo_bank()[: 4 * arguments.questions], scratch))


if __name__ == "__main__":
    main()
