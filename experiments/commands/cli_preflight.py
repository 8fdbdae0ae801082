"""The ``check`` command, the preflight options that ``study``, ``check`` and ``mine`` share, and the study
options of ``study`` and ``check``: validate everything a run needs, before any model is loaded, and print
one summary. The study options (device, dtype, counts, sweep layers) override the preset's configuration,
so they change the run folder's hash."""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, get_args

import torch
import typer

from experiments.commands.preflight import SAE_STEPS, PreflightConfig, PreflightReport, RunPlan, run_preflight
from experiments.commands.preflight_cost import DEFAULT_SECONDS_PER_FORWARD
from experiments.commands.preflight_model import check_model
from experiments.commands.preflight_sae import SAEPreflightError, feature_problems, sae_facts
from experiments.commands.study import STEPS
from experiments.question_sources import SourceKind
from experiments.run_folder import run_folder_path, step_done
from experiments.study_config import SAEConfig, StudyConfig
from experiments.study_file import read_study_file, shipped_study
from flipbank.images import ImageCondition
from flipbank.record_checks import DEFAULT_MAX_QUESTION_CHARS, CheckProblem
from interp.placement import parse_dtype

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


def _device(text: str | None) -> str | None:
    if text is None:
        return None
    try:
        return str(torch.device(text))
    except RuntimeError as error:
        raise typer.BadParameter(f"{text!r} is not a torch device (cpu, cuda, cuda:1 …): {error}") from error


def _dtype(text: str | None) -> str | None:
    try:
        return None if text is None else str(parse_dtype(text)).removeprefix("torch.")
    except ValueError as error:
        raise typer.BadParameter(str(error)) from error


DEVICE = typer.Option(
    None, callback=_device, help="cpu, cuda, cuda:1 … (default: CUDA when present, else CPU)"
)
DTYPE = typer.Option(
    None, callback=_dtype, help="float32, bfloat16 or float16 (default: bf16 on CUDA, fp32 on a CPU)"
)
LIMIT = typer.Option(None, min=1, help="use only the first N questions")
CONTROL_PAIRS = typer.Option(None, min=1, help="non-flip control pairs of ranking and patching")
SWEEP_PAIRS = typer.Option(None, min=1, help="FlipBank pairs of the layer sweep")
CLAMP_QUESTIONS = typer.Option(None, min=1, help="questions of the clamping study")
SWEEP_LAYERS = typer.Option(
    [], "--sweep-layer", min=0, help="a decoder layer of the layer sweep (repeat; default: every layer)"
)


@dataclass(frozen=True)
class StudyOverrides:
    """Command-line settings that replace the preset's (None or empty: keep the preset's). ``device`` and
    ``dtype`` go to the preset's `ModelConfig`, ``limit`` to its `QuestionsConfig`."""

    device: str | None = None
    dtype: str | None = None
    limit: int | None = None
    control_pairs: int | None = None
    sweep_pairs: int | None = None
    clamp_questions: int | None = None
    sweep_layers: Sequence[int] = ()

    def apply(self, config: StudyConfig) -> StudyConfig:
        """``config`` with these overrides; sweep layers are sorted and deduplicated."""
        model = replace(
            config.model, device=self.device or config.model.device, dtype=self.dtype or config.model.dtype
        )
        changes: dict[str, Any] = {"model": model}
        if self.limit is not None:
            changes["questions"] = replace(config.questions, limit=self.limit)
        for name in ("control_pairs", "sweep_pairs", "clamp_questions"):
            if getattr(self, name) is not None:
                changes[name] = getattr(self, name)
        if self.sweep_layers:
            changes["sweep_layers"] = tuple(sorted(set(self.sweep_layers)))
        try:
            return replace(config, **changes)
        except ValueError as error:
            raise typer.BadParameter(str(error)) from error


def study_config(
    study: str | Path,
    sae_path: Path | None,
    questions: Path | None,
    image_root: Path | None,
    skip_invalid: bool,
    overrides: StudyOverrides = StudyOverrides(),
    sets: Sequence[str] = (),
) -> StudyConfig:
    """The study file (a ``.toml`` path, or a preset's name) with its ``--set`` overrides, then the command
    line's SAE folder, question file, skip mode and `StudyOverrides`."""
    path = Path(study) if str(study).endswith(".toml") else shipped_study(str(study))
    config = read_study_file(path, sets)
    if sae_path is not None:
        config = replace(config, sae=SAEConfig(kind="folder", path=sae_path))
    if questions is not None:
        config = replace(config, questions=replace(config.questions, path=questions, image_root=image_root))
    if skip_invalid:
        config = replace(config, questions=replace(config.questions, skip_invalid=True))
    return overrides.apply(config)


def study_plan(config: StudyConfig, root: Path, only: Sequence[str], force: bool) -> RunPlan:
    """The steps of a study that will run: ``only`` those (all when empty), less those finished already."""
    known = [name for name, _ in STEPS]
    unknown = [name for name in only if name not in known]
    if unknown:
        raise typer.BadParameter(f"unknown step(s) {', '.join(unknown)}; steps are {', '.join(known)}")
    folder = run_folder_path(root, config)
    steps = [name for name in known if (not only or name in only) and (force or not step_done(folder, name))]
    return RunPlan(config, tuple(steps), folder)


def _sweep_layer_problems(config: StudyConfig, settings: PreflightConfig) -> list[CheckProblem]:
    model = config.model
    facts = check_model(model.spec, model.prompt_style, settings.cache_dir, settings.hf_cache_dir).facts
    if facts is None or config.sweep_layers is None:
        return []  # an unresolvable model is reported by run_preflight
    outside = [layer for layer in config.sweep_layers if layer >= facts.n_layers]
    if not outside:
        return []
    reason = (
        f"layer(s) {', '.join(map(str, outside))}: the model has {facts.n_layers} decoder layers, numbered 0 "
        f"to {facts.n_layers - 1}"
    )
    return [CheckProblem("setup", model.spec, "layer sweep", "--sweep-layer", reason)]


def option_problems(plan: RunPlan, settings: PreflightConfig) -> list[CheckProblem]:
    """The studied feature must be below the SAE's width, and the sweep layers within the model's layers,
    each checked when a step that uses it runs and the SAE or model resolves (run_preflight reports those
    that do not)."""
    config, problems = plan.config, []
    if config.feature is not None and SAE_STEPS & set(plan.steps):
        with contextlib.suppress(SAEPreflightError):  # run_preflight reports it
            problems += feature_problems(
                sae_facts(config.sae, settings.hf_cache_dir, config.model.spec), config.feature
            )
    if config.sweep_layers is not None and "layer_sweep" in plan.steps:
        problems += _sweep_layer_problems(config, settings)
    return problems


def preflight_or_fail(plan: RunPlan, settings: PreflightConfig) -> PreflightReport:
    """Run the preflight (and `option_problems`), print its summary, and raise `PreflightError` (every
    problem listed) on failure."""
    report = run_preflight(plan, settings)
    report.problems += option_problems(plan, settings)
    typer.echo(report.summary())
    report.raise_if_failed()
    return report


STUDY_FILE = typer.Argument(None, help="a study file (TOML); default: the --preset's")
PRESET = typer.Option("demo", "--preset", help="a shipped study: demo, demo-text, tiny or medgemma-4b")
SETS = typer.Option(
    [], "--set", help="override a study-file key: --set model.batch_size=8 (repeat; key= unsets)"
)


def check_command(
    study_file: Path | None = STUDY_FILE,
    preset_name: str = PRESET,
    sets: list[str] = SETS,
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
    device: str | None = DEVICE,
    dtype: str | None = DTYPE,
    limit: int | None = LIMIT,
    control_pairs: int | None = CONTROL_PAIRS,
    sweep_pairs: int | None = SWEEP_PAIRS,
    clamp_questions: int | None = CLAMP_QUESTIONS,
    sweep_layers: list[int] = SWEEP_LAYERS,
) -> None:
    """Validate everything a run needs (records, images, model, SAE, disk) without loading a model; print
    one summary and its cost on paper. Exits with status 2, every problem listed, when a check fails."""
    overrides = StudyOverrides(
        device, dtype, limit, control_pairs, sweep_pairs, clamp_questions, tuple(sweep_layers)
    )
    study = study_file if study_file is not None else preset_name
    config = study_config(study, sae_path, questions, image_root, skip_invalid, overrides, sets)
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
    settings = PreflightConfig(max_question_chars, seconds_per_forward, min_free_mb)
    preflight_or_fail(study_plan(config, output, only, force), settings)
