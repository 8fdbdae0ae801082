"""The ``check`` command and the preflight options that ``study`` and ``mine`` share: validate everything a
run needs, before any model is loaded, and print one summary."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import get_args

import typer

from experiments.preflight import PreflightReport, PreflightSettings, RunPlan, run_preflight
from experiments.preflight_cost import DEFAULT_SECONDS_PER_FORWARD
from experiments.presets import SAESource, StudyConfig, preset
from experiments.question_sources import SourceKind
from experiments.run_folder import run_folder_path, step_done
from experiments.study import STEPS
from flipbank.record_checks import DEFAULT_MAX_QUESTION_CHARS
from interp.images import ImageCondition

SKIP_INVALID = typer.Option(
    False, "--skip-invalid", help="skip (and list) records that fail a check instead of refusing the run"
)
NO_PREFLIGHT = typer.Option(False, "--no-preflight", help="start without the preflight checks")
MAX_QUESTION_CHARS = typer.Option(
    DEFAULT_MAX_QUESTION_CHARS, min=1, help="refuse questions and paraphrases longer than this (characters)"
)
SECONDS_PER_FORWARD = typer.Option(
    DEFAULT_SECONDS_PER_FORWARD, min=0.0, help="seconds per forward pass for the time estimate (an estimate)"
)
MIN_FREE_MB = typer.Option(1024, min=0, help="least free disk (MiB) the run folder must have")


def study_config(
    preset_name: str,
    sae_path: Path | None,
    questions: Path | None,
    image_root: Path | None,
    skip_invalid: bool,
) -> StudyConfig:
    """The preset with the command line's SAE folder, question file and skip mode."""
    try:
        config = preset(preset_name)
    except ValueError as error:
        raise typer.BadParameter(str(error), param_hint="--preset") from error
    if sae_path is not None:
        config = replace(config, sae=SAESource(kind="folder", path=sae_path))
    if questions is not None:
        config = replace(config, questions=replace(config.questions, path=questions, image_root=image_root))
    if skip_invalid:
        config = replace(config, questions=replace(config.questions, skip_invalid=True))
    return config


def study_plan(config: StudyConfig, root: Path, only: Sequence[str], force: bool) -> RunPlan:
    """The steps of a study that will run: ``only`` those (all when empty), less those finished already."""
    known = [name for name, _ in STEPS]
    unknown = [name for name in only if name not in known]
    if unknown:
        raise typer.BadParameter(f"unknown step(s) {', '.join(unknown)}; steps are {', '.join(known)}")
    folder = run_folder_path(root, config)
    steps = [name for name in known if (not only or name in only) and (force or not step_done(folder, name))]
    return RunPlan(config, tuple(steps), folder)


def preflight_or_fail(plan: RunPlan, settings: PreflightSettings) -> PreflightReport:
    """Run the preflight, print its summary, and raise `PreflightError` (every problem listed) on failure."""
    report = run_preflight(plan, settings)
    typer.echo(report.summary())
    report.raise_if_failed()
    return report


def check_command(
    preset_name: str = typer.Option("demo", "--preset", help="demo, tiny or medgemma-4b"),
    model: str | None = typer.Option(None, help="check this model instead of the preset's"),
    source: str | None = typer.Option(None, help="question format: demo, psf-mimic-json, flipbank-csv …"),
    questions: Path | None = typer.Option(None, help="a PSF-Med file (for presets that read one)"),
    image_root: Path | None = typer.Option(None, help="folder that image paths are relative to"),
    conditions: list[ImageCondition] = typer.Option([], "--condition", help="image conditions (repeat)"),
    sae_path: Path | None = typer.Option(None, help="a local SAE folder (Gemma Scope 2 or sae-lens format)"),
    only: list[str] = typer.Option([], help="check for only these steps (flip_study: what `mine` needs)"),
    force: bool = typer.Option(False, help="count steps that already finished"),
    output: Path = typer.Option(Path("runs"), help="folder that receives the run folder"),
    skip_invalid: bool = SKIP_INVALID,
    max_question_chars: int = MAX_QUESTION_CHARS,
    seconds_per_forward: float = SECONDS_PER_FORWARD,
    min_free_mb: int = MIN_FREE_MB,
) -> None:
    """Validate everything a run needs (records, images, model, SAE, disk) without loading a model; print
    one summary and its cost on paper. Exits with status 2, every problem listed, when a check fails."""
    config = study_config(preset_name, sae_path, questions, image_root, skip_invalid)
    if model is not None:
        config = replace(config, model=replace(config.model, spec=model))
    if source is not None:
        if source not in get_args(SourceKind):
            raise typer.BadParameter(
                f"unknown source {source!r}; choose one of {', '.join(get_args(SourceKind))}"
            )
        config = replace(config, questions=replace(config.questions, kind=source))  # type: ignore[arg-type]
    if conditions:
        config = replace(config, image_conditions=tuple(conditions))
    settings = PreflightSettings(max_question_chars, seconds_per_forward, min_free_mb)
    preflight_or_fail(study_plan(config, output, only, force), settings)
