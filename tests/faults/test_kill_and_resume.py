"""Kill a mining run and a study run with SIGKILL at seeded random points, restart them, and check that the
final results equal an uninterrupted run's, that no row is lost or duplicated, and that nothing half-written
is ever taken for complete; and that a results folder refuses rows of another configuration."""

from __future__ import annotations

import functools
import hashlib
import json
import multiprocessing
import os
import random
import signal
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from experiments.commands.study import STEPS, run_study
from experiments.run_folder import marker_path, step_done
from experiments.steps.mining import mine
from flipbank.mining_plan import MiningConfig
from flipbank.mining_store import KEY_COLUMNS, ConfigMismatchError, MiningStore, merge_shards
from interp.handle import ModelHandle
from interp.prompts import CHAT_TEMPLATE, FEW_SHOT_TEMPLATE, PromptTemplate
from tests.faults.workers import MINING_SETTINGS, READY, child, mining_questions, run_mining, study_config
from tests.saes.sae_factories import random_jumprelu, resid_sample, write_gemma_scope

SEED = 20260221
KILLS = 3
TIMEOUT = 120.0
STEP_OUTPUTS = {
    "flip_study": [
        "flip_study/robustness.parquet",
        "flip_study/flipbank.parquet",
        "flip_study/mining/rows.parquet",
    ],
    "grounding": [],  # the fault study mines text only: nothing to ground
    "features": ["features/features.parquet", "features/pairs.parquet"],
    "attribution": ["attribution.parquet"],
    "patching": ["patching/pairs.parquet", "patching/summary.parquet"],
    "layer_sweep": ["layer_sweep.parquet"],
    "clamping": ["clamping.parquet"],
    "comparison": [],  # no configurations in the fault study
    "mediconfusion": [],  # text only: nothing to ask about two images
    "latency": ["latency.parquet"],
}
COMPARED_TABLES = [path for step, paths in STEP_OUTPUTS.items() if step != "latency" for path in paths]


#: Workers fork from a server that has imported the workbench once, so a restart costs a model load, not the
#: imports; each worker is still a process of its own, with nothing in memory from the run it replaces.
CONTEXT = multiprocessing.get_context("forkserver")
CONTEXT.set_forkserver_preload(["tests.faults.workers", "experiments.commands.study", "interp.loading"])


class Worker:
    """A ``tests.faults.workers`` process whose output goes to a log file."""

    def __init__(self, log: Path, *arguments: str | Path) -> None:
        self.log = log
        log.touch()
        self.process = CONTEXT.Process(target=child, args=([str(a) for a in arguments], str(log)))
        self.process.start()

    def wait_for(self, condition: Callable[[], bool]) -> bool:
        """Poll ``condition`` every 5 ms: True once it holds, False if the worker exited first."""
        deadline = time.monotonic() + TIMEOUT
        while not condition():
            if not self.process.is_alive():
                return condition()
            assert time.monotonic() < deadline, f"timed out; log:\n{self.log.read_text()[-3000:]}"
            time.sleep(0.005)
        return True

    def ready(self) -> bool:
        return READY in self.log.read_text()

    def kill(self) -> bool:
        """SIGKILL the worker if it is still running; True if it was."""
        running = self.process.is_alive()
        if running:
            assert self.process.pid is not None
            os.kill(self.process.pid, signal.SIGKILL)
        self.process.join(timeout=TIMEOUT)
        return running

    def finish(self) -> str:
        self.process.join(timeout=TIMEOUT)
        output = self.log.read_text()
        assert self.process.exitcode == 0, output[-3000:]
        return output


# ---- mining ------------------------------------------------------------------------------------------


def _parts(folder: Path) -> list[Path]:
    return sorted((folder / "parts").glob("part-*.parquet")) if (folder / "parts").is_dir() else []


def _has_parts(folder: Path, count: int) -> bool:
    return len(_parts(folder)) >= count


def _check_store(folder: Path, reference: pd.DataFrame) -> None:
    """What a resumed run would read: a valid config, parts that read completely, temp files never listed as
    parts, no duplicate keys, no merged rows yet, and every stored row equal to the uninterrupted one."""
    if not (folder / "config.json").exists():
        return  # killed before the store was opened
    fingerprint = json.loads((folder / "config.json").read_text())
    listed = MiningStore(folder, fingerprint).part_files()
    assert all(path.name.startswith("part-") and path.suffix == ".parquet" for path in listed)
    assert not (folder / "rows.parquet").exists()
    stored = pd.concat([pd.read_parquet(path) for path in listed]) if listed else reference.iloc[:0]
    assert not stored.duplicated(KEY_COLUMNS).any()
    expected = reference.set_index(KEY_COLUMNS).loc[stored.set_index(KEY_COLUMNS).index]
    assert np.abs(expected["margin"].to_numpy() - stored["margin"].to_numpy()).max(initial=0) < 1e-4


def test_mining_killed_at_random_points_resumes_to_the_uninterrupted_rows(
    tiny_handle: ModelHandle, tmp_path: Path
) -> None:
    reference = pd.read_parquet(run_mining(tiny_handle, tmp_path / "reference").rows_path)
    output, rng, kills = tmp_path / "killed", random.Random(SEED), 0
    for attempt in range(KILLS):
        worker = Worker(tmp_path / f"mine-{attempt}.log", "mine", output)
        assert worker.wait_for(worker.ready)
        target = len(_parts(output)) + rng.randint(1, 3)
        if worker.wait_for(functools.partial(_has_parts, output, target)):
            time.sleep(rng.uniform(0.0, 0.05))  # sometimes lands in the middle of writing the next part
        kills += worker.kill()
        _check_store(output, reference)
    assert kills == KILLS  # every kill fell inside a run, never after it ended
    assert "reused 0" not in Worker(tmp_path / "mine-final.log", "mine", output).finish()
    resumed = pd.read_parquet(output / "rows.parquet")
    pd.testing.assert_frame_equal(reference, resumed, check_exact=False, atol=1e-4, rtol=0)
    stored = pd.concat([pd.read_parquet(path) for path in _parts(output)])
    assert len(stored) == len(reference) and not stored.duplicated(KEY_COLUMNS).any()


@pytest.fixture(scope="module")
def mined_folder(tiny_handle: ModelHandle, tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("mined")
    run_mining(tiny_handle, folder, questions=2)
    return folder


def _hashes(folder: Path) -> dict[Path, str]:
    return {
        path: hashlib.sha256(path.read_bytes()).hexdigest() for path in folder.rglob("*") if path.is_file()
    }


@pytest.mark.parametrize(
    ("settings", "template", "n_questions", "differs"),
    [
        (replace(MINING_SETTINGS, seed=1), CHAT_TEMPLATE, 2, "settings"),
        (MINING_SETTINGS, FEW_SHOT_TEMPLATE, 2, "prompt_template"),
        (MINING_SETTINGS, CHAT_TEMPLATE, 1, "n_questions, questions_sha256"),
    ],
)
def test_a_results_folder_refuses_another_configuration_and_stays_untouched(
    tiny_handle: ModelHandle,
    mined_folder: Path,
    settings: MiningConfig,
    template: PromptTemplate,
    n_questions: int,
    differs: str,
) -> None:
    before = _hashes(mined_folder)
    with pytest.raises(ConfigMismatchError, match=f"differs in: {differs}"):
        mine(tiny_handle, mining_questions(n_questions), template, settings, mined_folder, progress=False)
    assert _hashes(mined_folder) == before


def test_shards_of_different_configurations_are_not_merged(tiny_handle: ModelHandle, tmp_path: Path) -> None:
    for index, seed in ((0, 0), (1, 1)):
        settings = replace(MINING_SETTINGS, shard_index=index, shard_count=2, seed=seed)
        run_mining(tiny_handle, tmp_path / f"shard-{index}", settings, questions=2)
    with pytest.raises(ConfigMismatchError, match="different configurations"):
        merge_shards([tmp_path / "shard-0", tmp_path / "shard-1"], tmp_path / "merged")
    assert not (tmp_path / "merged" / "rows.parquet").exists()


# ---- the study ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def study_sae(tiny_handle: ModelHandle, tmp_path_factory: pytest.TempPathFactory) -> Path:
    sae = random_jumprelu(tiny_handle.d_model, 128, seed=4, sample=resid_sample(tiny_handle, 2))
    return write_gemma_scope(tmp_path_factory.mktemp("sae") / "layer_2", sae, 2, "google/gemma-3-4b-it")


def _markers(folder: Path) -> int:
    return sum(step_done(folder, name) for name, _ in STEPS)


def _has_markers(folder: Path, count: int) -> bool:
    return _markers(folder) >= count


def _check_steps(folder: Path) -> None:
    """A step marked done has a well-formed marker and complete outputs; an unmarked step is simply redone."""
    for name, _ in STEPS:
        if step_done(folder, name):
            assert json.loads(marker_path(folder, name).read_text())["step"] == name
            for relative in STEP_OUTPUTS[name]:
                pd.read_parquet(folder / relative)


def test_study_killed_at_random_points_resumes_to_the_uninterrupted_results(
    study_sae: Path, tmp_path: Path
) -> None:
    reference = run_study(study_config(study_sae), tmp_path / "reference")
    root, rng, kills = tmp_path / "killed", random.Random(SEED), 0
    folder = root / reference.name
    for attempt in range(KILLS):
        worker = Worker(tmp_path / f"study-{attempt}.log", "study", root, study_sae)
        # stop short of the last four steps (clamping; the comparison and MediConfusion, instant in this
        # text-only study; latency), so that a kill always lands before the run could finish on its own
        target = min(_markers(folder) + rng.randint(1, 2), len(STEPS) - 4)
        if worker.wait_for(functools.partial(_has_markers, folder, target)):
            time.sleep(rng.uniform(0.05, 1.5))
        kills += worker.kill()
        _check_steps(folder)
    assert kills == KILLS
    output = Worker(tmp_path / "study-final.log", "study", root, study_sae).finish()
    assert output.count("done already, skipped") >= 1  # the restart reused finished steps
    assert all(step_done(folder, name) for name, _ in STEPS)
    for relative in COMPARED_TABLES:
        expected, actual = pd.read_parquet(reference / relative), pd.read_parquet(folder / relative)
        pd.testing.assert_frame_equal(expected, actual, check_exact=False, atol=1e-4, rtol=0, obj=relative)
    assert (folder / "flip_study" / "flipbank.jsonl").read_text() == (
        reference / "flip_study" / "flipbank.jsonl"
    ).read_text()
