"""The ``psf-workbench`` command line: one sub-command per job."""

from __future__ import annotations

from pathlib import Path

import typer

from experiments.commands.cli_errors import ReadableErrorsGroup, debug_option
from experiments.commands.cli_lora import train_lora_command
from experiments.commands.cli_mining import merge_command, mine_command
from experiments.commands.cli_preflight import (
    CLAMP_QUESTIONS,
    CONTROL_PAIRS,
    DEVICE,
    DTYPE,
    LIMIT,
    MAX_QUESTION_CHARS,
    MIN_FREE_MB,
    NO_PREFLIGHT,
    PRESET,
    SECONDS_PER_FORWARD,
    SETS,
    SKIP_INVALID,
    STUDY_FILE,
    SWEEP_LAYERS,
    SWEEP_PAIRS,
    StudyOverrides,
    check_command,
    preflight_or_fail,
    study_config,
    study_plan,
)
from experiments.commands.preflight import PreflightConfig
from experiments.commands.study import run_study
from experiments.model_options import ModelConfig
from experiments.steps.demo_margins import run_demo_margins
from experiments.steps.flip_study import run_flip_study
from flipbank.curation import PAPER_SIMILARITY_THRESHOLD, CurationConfig
from flipbank.demo_bank import load_demo_bank
from flipbank.images import ImageCondition
from flipbank.mining_plan import MiningConfig
from interp.demo_model import DEMO_MODEL_SPEC
from interp.loading import load_model
from interp.prompts import PromptStyle, PromptTemplate

app = typer.Typer(
    cls=ReadableErrorsGroup, no_args_is_help=True, help="Paraphrase-sensitivity interpretability workbench."
)


@app.callback()
def main(debug: bool = debug_option()) -> None:
    """Paraphrase-sensitivity interpretability workbench. Expected errors print their message alone and
    exit with status 2; ``--debug`` shows every traceback."""


@app.command("demo-margins")
def demo_margins(
    model: str = typer.Option(DEMO_MODEL_SPEC, help="HF id, local folder, demo-vlm, gemma3-270m or tiny-mm"),
    prompt_style: PromptStyle = typer.Option(PromptStyle.FEW_SHOT, help="chat or few_shot"),
    device: str | None = typer.Option(None, help="cpu, cuda, cuda:1 … (default: automatic)"),
    dtype: str | None = typer.Option(None, help="float32, bfloat16 … (default: automatic)"),
    output: Path = typer.Option(Path("runs"), help="folder that receives the run folder"),
) -> None:
    """Print yes-minus-no margins of clinical question/paraphrase pairs on a model."""
    options = ModelConfig(spec=model, device=device, dtype=dtype, prompt_style=prompt_style)
    run_demo_margins(options, output)


@app.command("flip-study")
def flip_study(
    model: str = typer.Option(DEMO_MODEL_SPEC, help="HF id, local folder, demo-vlm, gemma3-270m or tiny-mm"),
    prompt_style: PromptStyle = typer.Option(PromptStyle.FEW_SHOT, help="chat or few_shot"),
    conditions: list[ImageCondition] = typer.Option(
        [ImageCondition.NONE], "--condition", help="image conditions to mine (repeat the option)"
    ),
    similarity_threshold: float = typer.Option(PAPER_SIMILARITY_THRESHOLD, help="curation similarity bar"),
    batch_size: int = typer.Option(16, help="prompts per forward pass"),
    max_new_tokens: int = typer.Option(1, help="greedy answer length (1: a single forward pass)"),
    output: Path = typer.Option(Path("runs/flip-study"), help="run folder (resumable)"),
) -> None:
    """Mine the demo question bank, print flip rates and grounding metrics, and curate the FlipBank."""
    handle = load_model(model)
    settings = MiningConfig(
        image_conditions=tuple(conditions), batch_size=batch_size, max_new_tokens=max_new_tokens
    )
    curation = CurationConfig(
        image_condition="real" if ImageCondition.REAL in conditions else "none",
        similarity_threshold=similarity_threshold,
    )
    run_flip_study(handle, load_demo_bank(), PromptTemplate(prompt_style), settings, curation, output)


@app.command("study")
def study(
    study_file: Path | None = STUDY_FILE,
    preset_name: str = PRESET,
    sets: list[str] = SETS,
    output: Path = typer.Option(Path("runs"), help="folder that receives the run folder"),
    figures: Path = typer.Option(Path("figures"), help="folder that receives the figures"),
    only: list[str] = typer.Option([], help="run only these steps (repeat the option)"),
    force: bool = typer.Option(False, help="rerun steps that already finished"),
    sae_path: Path | None = typer.Option(None, help="a local SAE folder (Gemma Scope 2 or sae-lens format)"),
    questions: Path | None = typer.Option(None, help="a PSF-Med file (for presets that read one)"),
    image_root: Path | None = typer.Option(None, help="folder that image paths are relative to"),
    skip_invalid: bool = SKIP_INVALID,
    no_preflight: bool = NO_PREFLIGHT,
    max_question_chars: int = MAX_QUESTION_CHARS,
    seconds_per_forward: float = SECONDS_PER_FORWARD,
    min_free_mb: int = MIN_FREE_MB,
    device: str | None = DEVICE,
    dtype: str | None = DTYPE,
    limit: int | None = LIMIT,
    control_pairs: int | None = CONTROL_PAIRS,
    sweep_pairs: int | None = SWEEP_PAIRS,
    clamp_questions: int | None = CLAMP_QUESTIONS,
    sweep_layers: list[int] = SWEEP_LAYERS,
) -> None:
    """Run a whole study end to end, reusing finished steps, after a preflight that checks everything the
    run needs before any model is loaded. The study is a TOML file (a shipped preset by default); ``--set``
    and the device, dtype, count and sweep-layer options override its settings (and so name another run
    folder, which holds the resolved file as study.toml)."""
    overrides = StudyOverrides(
        device, dtype, limit, control_pairs, sweep_pairs, clamp_questions, tuple(sweep_layers)
    )
    study = study_file if study_file is not None else preset_name
    config = study_config(study, sae_path, questions, image_root, skip_invalid, overrides, sets)
    settings = PreflightConfig(max_question_chars, seconds_per_forward, min_free_mb)
    if not no_preflight:
        preflight_or_fail(study_plan(config, output, only, force), settings)
    screen = settings.screen(config.image_conditions)
    run_study(config, output, set(only) or None, force, figures, screen)


app.command("check")(check_command)
app.command("train-lora")(train_lora_command)
app.command("mine")(mine_command)
app.command("merge-shards")(merge_command)


@app.command("version")
def version() -> None:
    """Print the workbench version."""
    from importlib import metadata

    typer.echo(metadata.version("psf-workbench"))


if __name__ == "__main__":
    app()
