"""``psf-workbench train-lora``: train a paraphrase-consistency LoRA adapter (paper-exact recipe by
default) on a model and a question source, resumably, into a PEFT adapter folder."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import get_args

import typer

from experiments.model_options import ModelConfig
from experiments.question_sources import QuestionsConfig, SourceKind
from experiments.steps.lora_run import LoraRunConfig, train_adapter
from interp.demo_model import DEMO_MODEL_SPEC
from interp.lora_layers import LayerChoice, LayerName
from interp.lora_objective import Objective
from interp.lora_training import LoraTrainingConfig
from interp.prompts import PromptStyle


def parse_layers(text: str) -> LayerChoice:
    """``targeted``, ``full``, ``early`` or comma-separated layer indices (``8,9,10``)."""
    if text in get_args(LayerName):
        return text  # type: ignore[return-value]
    try:
        return tuple(int(part) for part in text.split(","))
    except ValueError:
        raise typer.BadParameter(
            f"{text!r}: use targeted, full, early or layer indices such as 8,9,10", param_hint="--layers"
        ) from None


def train_lora_command(
    model: str = typer.Option(DEMO_MODEL_SPEC, help="HF id, local folder, demo-vlm, gemma3-270m or tiny-mm"),
    prompt_style: PromptStyle = typer.Option(PromptStyle.CHAT, help="chat or few_shot"),
    device: str | None = typer.Option(None, help="cpu, cuda, cuda:1 … (default: automatic)"),
    dtype: str | None = typer.Option(None, help="float32, bfloat16 … (default: automatic)"),
    source: str = typer.Option(
        "demo", help="question format: demo, psf-mimic-json, flipbank-csv, hf-psf-med"
    ),
    questions: Path | None = typer.Option(None, help="the question file (not for the demo bank)"),
    image_root: Path | None = typer.Option(None, help="folder that image paths are relative to"),
    limit: int | None = typer.Option(None, help="use only the first N questions"),
    layers: str = typer.Option("targeted", help="targeted (15–19 of 34, scaled), full, early or 8,9,10"),
    objective: str = typer.Option("consistency", help="consistency (symmetric KL + λ·CE) or accuracy"),
    ce_weight: float = typer.Option(1.0, "--lambda", help="λ, the weight of the cross-entropy terms"),
    epochs: int = typer.Option(3, help="passes over the training pairs"),
    micro_batch_size: int = typer.Option(8, help="pairs per forward pass (the batch stays 8)"),
    eval_fraction: float = typer.Option(0.25, help="share of questions (whole patients) held out"),
    seed: int = typer.Option(0, help="seed of the split, the order and the initialisation"),
    output: Path = typer.Option(Path("runs/lora/targeted"), help="adapter folder (resumes what is there)"),
) -> None:
    """Train a LoRA adapter on paraphrase pairs (r 16, α 32, q/k/v/o/gate/up/down, lr 2e-4, batch 8)."""
    if source not in get_args(SourceKind):
        raise typer.BadParameter(
            f"unknown source {source!r}; choose one of {', '.join(get_args(SourceKind))}"
        )
    if objective not in get_args(Objective):
        raise typer.BadParameter(f"unknown objective {objective!r}; use consistency or accuracy")
    training = LoraTrainingConfig(
        layers=parse_layers(layers),
        epochs=epochs,
        ce_weight=ce_weight,
        objective=objective,  # type: ignore[arg-type]
        micro_batch_size=micro_batch_size,
        seed=seed,
    )
    question_source = QuestionsConfig(kind=source, path=questions, image_root=image_root, limit=limit)  # type: ignore[arg-type]
    options = ModelConfig(spec=model, device=device, dtype=dtype, prompt_style=prompt_style)
    config = replace(LoraRunConfig(options, question_source, training), eval_fraction=eval_fraction)
    typer.echo(f"adapter → {train_adapter(config, output)}")
