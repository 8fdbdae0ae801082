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
from experiments.steps.mining import mine
from flipbank.demo_bank import load_demo_bank
from flipbank.mining_plan import MiningConfig
from flipbank.mining_store import ROWS_FILE, merge_shards
from flipbank.records import QuestionRecord
from interp.handle import ModelHandle
from interp.loading import load_model
from interp.patching import patched_margins
from interp.prompt_pair import PromptPair
from interp.prompts import FEW_SHOT_TEMPLATE, PromptInput
from interp.resid_cache import final_token_resid
from saes.features import FeatureSlice, feature_slice

LAYER = 9
MULTIPLES = (1, 2, 4)


def _mine(handle: ModelHandle, questions: list[QuestionRecord], folder: Path, settings: MiningConfig) -> Path:
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
            return _mine(handle, chosen, scratch / f"mine-{next(counter)}", MiningConfig())

        def patching(chosen_pairs: list[PromptPair] = chosen_pairs) -> object:
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


def _mine_in_processes(questions: int, count: int, batch_size: int, folder: Path) -> list[Path]:
    """Mine the ``count`` shards of the first ``questions`` demo questions as concurrent one-thread
    processes (``count=1``: the unsharded run, under the same conditions); returns their folders."""
    folders = [folder / f"shard-{index}-of-{count}" for index in range(count)]
    processes = []
    for index, output in enumerate(folders):
        command = [sys.executable, "-m", "benchmarks.scaling", "--shard", f"{index}/{count}"]
        command += ["--questions", str(questions), "--batch-size", str(batch_size), "--output", str(output)]
        processes.append(subprocess.Popen(command, stderr=subprocess.DEVNULL))
    if any(process.wait() != 0 for process in processes):
        raise RuntimeError("a mining process failed")
    return folders


def sharded_check(questions: int, batch_size: int, scratch: Path) -> str:
    """Mine unsharded and as 2 concurrent shard processes, merge the shards, and compare with pandas."""
    folder = scratch / f"sharded-batch-{batch_size}"
    (whole_folder,) = _mine_in_processes(questions, 1, batch_size, folder)
    whole = pd.read_parquet(whole_folder / ROWS_FILE)
    start = time.perf_counter()
    shards = _mine_in_processes(questions, 2, batch_size, folder)
    seconds = time.perf_counter() - start
    merged = pd.read_parquet(merge_shards(shards, folder / "merged"))
    floats = [column for column in whole.columns if pd.api.types.is_float_dtype(whole[column])]
    others = [column for column in whole.columns if column not in floats]
    gap = max(float((whole[column] - merged[column]).abs().max()) for column in floats)
    pd.testing.assert_frame_equal(whole, merged, check_exact=False, atol=1e-4, rtol=0)
    return (
        f"batch {batch_size:>2}: {len(whole)} rows, 2 shard processes in {seconds:.0f} s wall; merged == "
        f"unsharded exactly: {whole.equals(merged)}; non-float columns identical: "
        f"{whole[others].equals(merged[others])}; largest difference in {', '.join(floats)}: {gap:.1e}"
    )


def shard_main(shard: str, questions: int, batch_size: int, output: Path) -> None:
    """One mining process of the sharded check (``shard`` is "index/count"), with one torch thread."""
    torch.set_num_threads(1)
    index, count = (int(part) for part in shard.split("/"))
    settings = MiningConfig(batch_size=batch_size, shard_index=index, shard_count=count)
    _mine(load_model("gemma3-270m"), load_demo_bank()[:questions], output, settings)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--questions", type=int, default=8, help="demo-bank questions mined at 1×")
    parser.add_argument("--pairs", type=int, default=16, help="pairs patched at 1×")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--shard-batch-sizes", type=int, nargs="+", default=[16, 1])
    parser.add_argument("--shard", help=argparse.SUPPRESS)
    parser.add_argument("--batch-size", type=int, default=16, help=argparse.SUPPRESS)
    parser.add_argument("--output", type=Path, help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.shard is not None:
        shard_main(arguments.shard, arguments.questions, arguments.batch_size, arguments.output)
        return
    handle = load_model("gemma3-270m")
    with tempfile.TemporaryDirectory(prefix="psf-scaling-") as folder:
        scratch = Path(folder)
        tasks = scaling_tasks(handle, arguments.questions, arguments.pairs, scratch)
        table = time_rounds(tasks, arguments.rounds)
        threads = torch.get_num_threads()
        print(f"demo model, batch 16, torch threads {threads}, {arguments.rounds} interleaved rounds")
        print(format_scaling(table), flush=True)
        print(
            f"sharded mining of the 4× slice ({4 * arguments.questions} questions), one thread per process:"
        )
        for batch_size in arguments.shard_batch_sizes:
            print(sharded_check(4 * arguments.questions, batch_size, scratch), flush=True)


if __name__ == "__main__":
    main()
