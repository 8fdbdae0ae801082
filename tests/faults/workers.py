"""Small workloads on the tiny model that the fault tests run in subprocesses and kill: a mining run and a
study run, both defined here so that the test process and its children build exactly the same configuration.

Run: ``python -m tests.faults.workers mine OUTPUT`` or ``… study ROOT SAE_FOLDER`` (from the repository root).
"""

from __future__ import annotations

import os
import sys
from dataclasses import replace
from pathlib import Path

from experiments.presets import preset
from experiments.question_sources import QuestionsConfig
from experiments.steps.mining import MiningResult, mine
from experiments.study_config import SAEConfig, StudyConfig
from flipbank.demo_bank import load_demo_bank
from flipbank.images import ImageCondition
from flipbank.mining_plan import MiningConfig
from flipbank.records import QuestionRecord
from interp.handle import ModelHandle
from interp.prompts import CHAT_TEMPLATE

READY = "worker ready"
MINING_QUESTIONS = 6
#: Blank-image and text-only prompts (no image files needed), two prompts per batch and a part file every
#: two batches, so a run writes about fifteen parts that a kill can fall between or into.
MINING_SETTINGS = MiningConfig(
    image_conditions=(ImageCondition.BLANK, ImageCondition.NONE),
    batch_size=2,
    rows_per_part=3,
    answer_source="forced_choice",
)


def mining_questions(count: int = MINING_QUESTIONS) -> list[QuestionRecord]:
    return load_demo_bank()[:count]


def run_mining(
    handle: ModelHandle,
    output: Path,
    settings: MiningConfig = MINING_SETTINGS,
    questions: int = MINING_QUESTIONS,
) -> MiningResult:
    return mine(handle, mining_questions(questions), CHAT_TEMPLATE, settings, output, progress=False)


def study_config(sae_folder: Path) -> StudyConfig:
    """The tiny preset cut down to four text-only questions, so the whole study takes seconds."""
    return replace(
        preset("tiny"),
        questions=QuestionsConfig(kind="demo", limit=4),
        image_conditions=(ImageCondition.NONE,),
        sae=SAEConfig(kind="folder", path=sae_folder),
        control_pairs=4,
        sweep_pairs=4,
        clamp_questions=4,
    )


def main(arguments: list[str]) -> None:
    from interp.loading import load_model

    if arguments[0] == "mine":
        handle = load_model("tiny-mm")
        print(READY, flush=True)
        result = run_mining(handle, Path(arguments[1]))
        print(f"computed {result.computed} reused {result.reused}", flush=True)
    elif arguments[0] == "study":
        from experiments.commands.study import run_study

        print(READY, flush=True)
        run_study(study_config(Path(arguments[2])), Path(arguments[1]))
    else:
        raise SystemExit(f"unknown workload {arguments[0]!r}")


def child(arguments: list[str], log: str) -> None:
    """``main`` with stdout and stderr sent to ``log``: the target of a forked worker process."""
    descriptor = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
    os.dup2(descriptor, 1)
    os.dup2(descriptor, 2)
    main(arguments)


if __name__ == "__main__":
    main(sys.argv[1:])
