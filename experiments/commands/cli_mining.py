"""Command-line mining for large runs: one shard per process (shard index/count from the flags, or from the
``RANK``/``WORLD_SIZE`` that ``accelerate launch``/``torchrun`` set), and the merge of the shards."""

from __future__ import annotations

import os
from pathlib import Path
from typing import get_args

import torch
import typer

from experiments.commands.cli_preflight import (
    MAX_QUESTION_CHARS,
    MIN_FREE_MB,
    NO_PREFLIGHT,
    SECONDS_PER_FORWARD,
    SKIP_INVALID,
    preflight_or_fail,
)
from experiments.commands.preflight import PreflightConfig, RunPlan
from experiments.model_options import ModelConfig
from experiments.question_sources import QuestionsConfig, SourceKind, load_questions
from experiments.steps.mining import mine
from experiments.study_config import StudyConfig
from flipbank.images import ImageCondition
from flipbank.mining_plan import AnswerSource, MiningConfig
from flipbank.mining_store import merge_shards
from interp.loading import load_model
from interp.prompts import PromptStyle, PromptTemplate


def _launcher_rank() -> tuple[int, int]:
    return int(os.environ.get("RANK", "0")), int(os.environ.get("WORLD_SIZE", "1"))


def _process_device(device: str | None) -> str | None:
    """Under a multi-process launcher on a GPU box, each process takes the GPU of its local rank."""
    if device is None and torch.cuda.is_available() and "LOCAL_RANK" in os.environ:
        return f"cuda:{int(os.environ['LOCAL_RANK'])}"
    return device


def shard_folder(output: Path, shard_index: int, shard_count: int) -> Path:
    """Where one shard's rows go: ``output`` itself for an unsharded run."""
    return output if shard_count == 1 else output / f"shard-{shard_index:03d}-of-{shard_count:03d}"


def mining_config(
    model: str,
    prompt_style: PromptStyle,
    source: QuestionsConfig,
    conditions: list[ImageCondition],
    answer_source: str,
    max_new_tokens: int,
    batch_size: int,
) -> StudyConfig:
    """A mining run described as a study configuration, so that the preflight checks it like a study's
    flip_study step."""
    if source.kind not in get_args(SourceKind) or answer_source not in get_args(AnswerSource):
        raise typer.BadParameter(f"unknown source {source.kind!r} or answer source {answer_source!r}")
    return StudyConfig(
        name="mine",
        model=ModelConfig(spec=model, prompt_style=prompt_style, batch_size=batch_size),
        questions=source,
        image_conditions=tuple(conditions),
        answer_source=answer_source,  # type: ignore[arg-type]
        max_new_tokens=max_new_tokens,
    )


def mine_command(
    model: str = typer.Option("gemma3-270m", help="HF id, local folder, demo-vlm, gemma3-270m or tiny-mm"),
    prompt_style: PromptStyle = typer.Option(PromptStyle.FEW_SHOT, help="chat or few_shot"),
    source: str = typer.Option("demo", help="demo, psf-mimic-json, flipbank-csv or hf-psf-med"),
    questions: Path | None = typer.Option(None, help="the question file or dataset folder"),
    image_root: Path | None = typer.Option(None, help="folder that image paths are relative to"),
    limit: int | None = typer.Option(None, help="use only the first N questions"),
    conditions: list[ImageCondition] = typer.Option([ImageCondition.NONE], "--condition"),
    answer_source: str = typer.Option("greedy", help="greedy (decode and parse) or forced_choice"),
    max_new_tokens: int = typer.Option(1, help="greedy answer length"),
    batch_size: int = typer.Option(16),
    shard_index: int | None = typer.Option(None, help="default: $RANK"),
    shard_count: int | None = typer.Option(None, help="default: $WORLD_SIZE"),
    device: str | None = typer.Option(None, help="default: automatic (cuda:$LOCAL_RANK under a launcher)"),
    output: Path = typer.Option(Path("runs/mining"), help="results folder (resumable)"),
    skip_invalid: bool = SKIP_INVALID,
    no_preflight: bool = NO_PREFLIGHT,
    max_question_chars: int = MAX_QUESTION_CHARS,
    seconds_per_forward: float = SECONDS_PER_FORWARD,
    min_free_mb: int = MIN_FREE_MB,
) -> None:
    """Mine questions × paraphrases × image conditions into a resumable results folder (one shard), after a
    preflight that checks every record, image and the model before any model is loaded."""
    rank, world = _launcher_rank()
    index = rank if shard_index is None else shard_index
    count = world if shard_count is None else shard_count
    question_source = QuestionsConfig(source, questions, image_root, limit=limit, skip_invalid=skip_invalid)  # type: ignore[arg-type]
    config = mining_config(
        model, prompt_style, question_source, conditions, answer_source, max_new_tokens, batch_size
    )
    settings = PreflightConfig(max_question_chars, seconds_per_forward, min_free_mb)
    folder = shard_folder(output, index, count)
    if no_preflight:
        with_images = any(condition != ImageCondition.NONE for condition in conditions)
        records = load_questions(question_source, with_images, settings.screen(config.image_conditions))
    else:
        records = preflight_or_fail(
            RunPlan(config, ("flip_study",), folder, (index, count)), settings
        ).questions
    mining = MiningConfig(
        image_conditions=config.image_conditions,
        max_new_tokens=max_new_tokens,
        batch_size=batch_size,
        shard_index=index,
        shard_count=count,
        answer_source=config.answer_source,
    )
    handle = load_model(model, device=_process_device(device))
    result = mine(handle, records, PromptTemplate(prompt_style), mining, folder)
    typer.echo(
        f"shard {index}/{count}: {result.computed} rows computed, {result.reused} reused → {result.rows_path}"
    )


def merge_command(
    output: Path = typer.Argument(..., help="the folder given to `mine` (holds shard-*-of-* folders)"),
) -> None:
    """Merge the shards of a mining run into ``output/rows.parquet``, identical to an unsharded run."""
    shards = sorted(output.glob("shard-*-of-*"))
    if not shards:
        raise typer.BadParameter(f"no shard-*-of-* folders in {output}")
    typer.echo(f"merged {len(shards)} shards → {merge_shards(shards, output)}")
