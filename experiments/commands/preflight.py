"""The preflight: everything a run will need, checked before any model is loaded, with one summary and every
problem listed (file, row or line, field, reason): the question records (the readers' checks in skip mode,
so all problems are collected), their images decoded, the yes/no scope and the length limit, the model and
SAE resolvable offline and fitting each other, free disk for the run folder, and the forward passes the run
will cost. With ``skip_invalid`` the failing records are listed as skipped instead of failing the run."""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from experiments.commands.preflight_cost import DEFAULT_SECONDS_PER_FORWARD, describe_costs, step_costs
from experiments.commands.preflight_model import ModelFacts, check_model
from experiments.commands.preflight_sae import SAEPreflightError, fit_problems, sae_facts
from experiments.question_sources import read_source
from experiments.steps.study_context import StudyContext, box_records, question_subset
from experiments.study_config import StudyConfig
from flipbank.choice_io import read_choice_items
from flipbank.errors import RecordError
from flipbank.image_checks import DEFAULT_IMAGE_WORKERS
from flipbank.images import ImageCondition
from flipbank.mediconfusion import read_mediconfusion
from flipbank.mining_plan import plan_jobs
from flipbank.record_checks import (
    DEFAULT_MAX_QUESTION_CHARS,
    CheckProblem,
    RecordCheck,
    RecordScreen,
    screen_records,
)
from flipbank.records import QuestionRecord

#: Steps that decode with the SAE (the flip study only mines).
SAE_STEPS = frozenset(
    {"features", "attribution", "patching", "layer_sweep", "clamping", "comparison", "latency"}
)
#: Disk a run needs per mined row (part file and merged copy, generously) and for its reports and figures.
ROW_BYTES = 2048
RUN_OVERHEAD_BYTES = 64 * 2**20


def shows_image_files(conditions: Sequence[ImageCondition]) -> bool:
    """True when a run opens the records' image files (the real and swapped conditions)."""
    return ImageCondition.REAL in conditions or ImageCondition.SWAPPED in conditions


@dataclass(frozen=True)
class PreflightConfig:
    """The limits of a preflight: the longest question accepted, the seconds per forward of the time
    estimate, the least free disk required, and where the caches are (None: the defaults)."""

    max_question_chars: int = DEFAULT_MAX_QUESTION_CHARS
    seconds_per_forward: float = DEFAULT_SECONDS_PER_FORWARD
    min_free_mb: int = 1024
    image_workers: int = DEFAULT_IMAGE_WORKERS
    cache_dir: Path | None = None
    hf_cache_dir: Path | None = None

    def screen(self, conditions: Sequence[ImageCondition]) -> RecordScreen:
        return RecordScreen(self.max_question_chars, shows_image_files(conditions), self.image_workers)


@dataclass(frozen=True)
class RunPlan:
    """The run a preflight checks: a study configuration, the steps that will run, the run folder, and for
    a sharded mining run the shard (index, count)."""

    config: StudyConfig
    steps: tuple[str, ...]
    output: Path
    shard: tuple[int, int] = (0, 1)


class PreflightError(RuntimeError):
    """A preflight found problems; the message lists every one."""

    def __init__(self, problems: Sequence[CheckProblem]) -> None:
        self.problems = list(problems)
        lines = [f"preflight found {len(self.problems)} problem(s); nothing was run:"]
        lines += [f"  {problem.describe()}" for problem in self.problems]
        if any(problem.kind in set(RecordCheck) for problem in self.problems):
            lines.append("Fix the records, or pass --skip-invalid to skip them and run the others.")
        super().__init__("\n".join(lines))


@dataclass
class PreflightReport:
    """What a preflight found: summary lines, problems (the run must not start), records skipped under
    ``skip_invalid`` or flagged out of scope by the dataset, notes, and the questions the run will use."""

    title: str
    lines: list[str] = field(default_factory=list)
    problems: list[CheckProblem] = field(default_factory=list)
    skipped: list[CheckProblem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    questions: list[QuestionRecord] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.problems

    def summary(self) -> str:
        text = [self.title, *(f"  {line}" for line in self.lines), *(f"  note: {n}" for n in self.notes)]
        if self.skipped:
            text.append(f"  {len(self.skipped)} record problem(s); these records are skipped, not mined:")
            text += [f"    {problem.describe()}" for problem in self.skipped]
        verdict = "passed" if self.passed else f"FAILED: {len(self.problems)} problem(s)"
        return "\n".join([*text, f"preflight {verdict}"])

    def raise_if_failed(self) -> None:
        if self.problems:
            raise PreflightError(self.problems)


def _takes_images(conditions: Sequence[ImageCondition]) -> bool:
    return any(condition != ImageCondition.NONE for condition in conditions)


def _check_questions(report: PreflightReport, plan: RunPlan, settings: PreflightConfig) -> None:
    """Every record through the reader (skip mode: all problems) and the screen; rows the dataset flags as
    not yes/no are listed as skipped in either mode, as the readers always do."""
    source, conditions = plan.config.questions, plan.config.image_conditions
    try:
        result = read_source(replace(source, skip_invalid=True), _takes_images(conditions))
    except RecordError as error:
        report.problems.append(CheckProblem.from_error(error))
        return
    except (OSError, ValueError) as error:
        report.problems.append(CheckProblem("setup", source.describe(), "question source", None, str(error)))
        return
    from_reader = [CheckProblem.from_skipped(skipped) for skipped in result.skipped]
    flagged = [problem for problem in from_reader if problem.field == "is_yesno"]
    records = result.records if source.limit is None else result.records[: source.limit]
    screened = screen_records(records, result, settings.screen(conditions))
    found = [problem for problem in from_reader if problem.field != "is_yesno"] + screened.problems
    report.skipped += flagged + (found if source.skip_invalid else [])
    report.problems += [] if source.skip_invalid else found
    report.questions = screened.kept if source.skip_invalid else records
    if not report.questions:
        report.problems.append(
            CheckProblem("setup", source.describe(), "questions", None, "no questions to run")
        )
    report.lines.append(
        f"questions  {len(records)} accepted by the reader of {source.describe()}, "
        f"{len(found)} record problem(s), {len(report.questions)} question(s) to run"
    )
    opened = len({record.image for record in records}) if shows_image_files(conditions) else 0
    report.lines.append(
        f"images     {opened:,} distinct image(s) decoded" if opened else "images     none opened"
    )


def _check_model_and_sae(
    report: PreflightReport, plan: RunPlan, settings: PreflightConfig
) -> ModelFacts | None:
    config = plan.config
    model = check_model(
        config.model.spec, config.model.prompt_style, settings.cache_dir, settings.hf_cache_dir
    )
    report.problems += model.problems
    report.notes += model.notes
    facts = model.facts
    if facts is not None:
        report.lines.append(f"model      {facts.describe()}")
        needs = [c.value for c in config.image_conditions if c != ImageCondition.NONE]
        if needs and not facts.accepts_images:
            reason = f"text-only; image conditions {', '.join(needs)} need a multimodal model"
            report.problems.append(CheckProblem("model", config.model.spec, "model", "--condition", reason))
    if not SAE_STEPS & set(plan.steps):
        return facts
    try:
        sae = sae_facts(config.sae, settings.hf_cache_dir, config.model.spec)
    except SAEPreflightError as error:
        report.problems.append(error.problem)
        return facts
    report.lines.append(f"SAE        {sae.describe()}")
    report.problems += [] if facts is None else fit_problems(sae, facts)
    return facts


def _check_mining_plans(report: PreflightReport, plan: RunPlan) -> None:
    """The question sets of the mining steps must be minable (e.g. two distinct images to swap)."""
    config = plan.config
    if not report.questions:
        return
    settings = StudyContext(config, plan.output).mining_settings
    subsets = {"flip_study": report.questions}
    subsets["clamping"] = question_subset(report.questions, config.clamp_questions, config.seed)
    for step in [step for step in plan.steps if step in subsets]:
        try:
            plan_jobs(subsets[step], settings)
        except ValueError as error:
            where = f"step {step} ({len(subsets[step])} questions)"
            report.problems.append(
                CheckProblem("setup", config.questions.describe(), where, None, str(error))
            )


def _check_boxes(report: PreflightReport, plan: RunPlan) -> None:
    """A grounding step's box file must read (every row or study checked, before any model loads)."""
    path = plan.config.boxes
    if path is None or "grounding" not in plan.steps:
        return
    try:
        report.lines.append(f"boxes      {len(box_records(path))} box(es) in {path}")
    except RecordError as error:
        report.problems.append(CheckProblem.from_error(error))
    except OSError as error:
        report.problems.append(CheckProblem("setup", str(path), "whole file", "boxes", str(error)))


def _check_mediconfusion(report: PreflightReport, plan: RunPlan) -> None:
    """A MediConfusion dataset must read, with at least one pair whose two images open."""
    confusion = plan.config.mediconfusion
    if confusion is None or confusion.dataset is None or confusion.images is None:
        return
    if "mediconfusion" not in plan.steps:
        return
    try:
        read = read_mediconfusion(confusion.dataset, confusion.images)
    except RecordError as error:
        report.problems.append(CheckProblem.from_error(error))
        return
    report.lines.append(f"MediConf.  {len(read.pairs)} pair(s) readable, {len(read.skipped)} skipped")
    if not read.pairs:
        reason = f"no readable pair under {confusion.images} ({len(read.skipped)} skipped)"
        report.problems.append(CheckProblem("setup", str(confusion.dataset), "whole file", None, reason))


def _check_nota_items(report: PreflightReport, plan: RunPlan) -> None:
    """A NOTA items file must read whole (every item valid, its image present) before any step runs."""
    nota = plan.config.nota
    if nota is None or nota.items is None or "nota" not in plan.steps:
        return
    try:
        items = read_choice_items(nota.items)
    except RecordError as error:
        report.problems.append(CheckProblem.from_error(error))
        return
    report.lines.append(f"NOTA       {len(items)} multiple-choice item(s) readable in {nota.items}")


def _existing_parent(path: Path) -> Path:
    path = path.resolve()
    while not path.exists():
        path = path.parent
    return path


def _check_disk(report: PreflightReport, plan: RunPlan, settings: PreflightConfig, rows: int) -> None:
    need = max(settings.min_free_mb * 2**20, rows * ROW_BYTES + RUN_OVERHEAD_BYTES)
    where = _existing_parent(plan.output)
    free = shutil.disk_usage(where).free
    report.lines.append(
        f"disk       {free / 2**30:,.1f} GiB free at {where}, the run needs about {need / 2**30:,.2f} GiB"
    )
    if free < need:
        reason = f"{free / 2**30:.2f} GiB free, the run needs about {need / 2**30:.2f} GiB"
        report.problems.append(CheckProblem("disk", str(where), "run folder", None, reason))


def run_preflight(plan: RunPlan, settings: PreflightConfig = PreflightConfig()) -> PreflightReport:
    """Checks ``plan`` without loading a model and returns the report (see `PreflightReport.summary`,
    `PreflightReport.raise_if_failed`)."""
    steps = ", ".join(plan.steps) or "no steps left to run"
    report = PreflightReport(f"preflight of {plan.config.name} ({steps}) → {plan.output}")
    _check_questions(report, plan, settings)
    facts = _check_model_and_sae(report, plan, settings)
    _check_mining_plans(report, plan)
    _check_boxes(report, plan)
    _check_mediconfusion(report, plan)
    _check_nota_items(report, plan)
    costs = step_costs(
        plan.config, report.questions, plan.steps, 0 if facts is None else facts.n_layers, plan.shard
    )
    _check_disk(
        report, plan, settings, sum(c.forwards for c in costs if c.step in ("flip_study", "clamping"))
    )
    cost_lines = describe_costs(costs, settings.seconds_per_forward)
    report.lines += [f"{'cost' if i == 0 else '':<10} {line}" for i, line in enumerate(cost_lines)]
    return report
