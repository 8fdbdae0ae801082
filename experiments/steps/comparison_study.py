"""The configuration comparison ("Consistent but Dangerous"): every configuration (base, adapters trained here
or given, clamp, normalisation, clamp + normalisation) on every evaluation set under every image condition of
the study: flip rate, pairwise rate, accuracy, mean |original_margin − paraphrase_margin|, text-only
agreement, swap sensitivity and the quadrants, with CIs and a paired permutation test of the flip rate against
the first configuration; then flip rate against the Dangerous fraction over configurations × sets, with
Pearson r and its CI."""

from __future__ import annotations

import gc
from collections.abc import Callable, Sequence
from contextlib import nullcontext
from dataclasses import dataclass, replace
from pathlib import Path

import pandas as pd

from experiments.run_files import folder_name
from experiments.steps.clamping_study import clamped, flip_indicators, normalised, paired_row
from experiments.steps.comparison_sae import sae_view
from experiments.steps.lora_run import AdapterRun, adapter_finished, fit_adapter
from experiments.steps.mining import mine
from experiments.steps.robustness_table import primary_condition, robustness_table
from experiments.study_config import ArmConfig, ComparisonConfig
from flipbank.margin_metrics import mean_margin_difference
from flipbank.mining_plan import MiningConfig
from flipbank.quadrants import ConfigurationResult
from flipbank.records import QuestionRecord
from flipbank.splits import QuestionSplit
from flipbank.statistics import Correlation
from interp.adapters import with_adapter
from interp.handle import ModelHandle
from interp.prompt_pair import PromptPair
from interp.prompts import PromptTemplate
from saes.loading import LoadedSAE

COMPARISON_METRICS = (
    "flip_rate",
    "pairwise_flip_rate",
    "accuracy",
    "text_only_agreement",
    "swap_sensitivity",
    "blank_image_flip_rate",
    "quadrant_fraction",
    "quadrant_accuracy",
    "quadrant_entropy_bits",
)


@dataclass(frozen=True)
class EvaluationSet:
    """A named set of questions every configuration is judged on."""

    name: str
    questions: list[QuestionRecord]


@dataclass(frozen=True)
class ComparisonInputs:
    """What the comparison needs from the study: the base model (never changed), a way to load it afresh
    (adapters are injected in place), the template, the mining settings, the SAE and feature that clamp
    arms pin."""

    base: Callable[[], ModelHandle]
    load_base: Callable[[], ModelHandle]
    template: PromptTemplate
    settings: MiningConfig
    sae: Callable[[], LoadedSAE]
    feature: Callable[[], int]
    clamp_value: float
    reliance_condition: str
    seed: int


def train_arm_adapters(
    inputs: ComparisonInputs, comparison: ComparisonConfig, split: QuestionSplit, folder: Path
) -> dict[str, Path]:
    """The adapter folder of every arm: given ones as they are, the others trained here (each on a fresh
    base model, resumable) into ``folder/<arm>``."""
    adapters: dict[str, Path] = {}
    for arm in comparison.arms:
        if arm.adapter is not None:
            adapters[arm.name] = arm.adapter
        elif arm.train_layers is not None:
            output = folder / folder_name(arm.name)
            if not adapter_finished(output):
                training = replace(comparison.training, layers=arm.train_layers)
                run = AdapterRun(training, inputs.template, max_pairs=comparison.max_training_pairs)
                fit_adapter(inputs.load_base(), split, run, output, {"arm": arm.name})
                gc.collect()
            adapters[arm.name] = output
    return adapters


def _arm_rows(
    inputs: ComparisonInputs,
    handle: ModelHandle,
    arm: ArmConfig,
    evaluation: EvaluationSet,
    folder: Path,
) -> pd.DataFrame:
    questions = normalised(evaluation.questions) if arm.normalise else evaluation.questions
    settings = replace(inputs.settings, intervention=f"configuration {arm.name}")
    sae, feature = (inputs.sae(), inputs.feature()) if arm.clamp else (None, None)
    context = clamped(handle, sae, feature, inputs.clamp_value) if sae is not None else nullcontext()
    with context:
        result = mine(handle, questions, inputs.template, settings, folder)
    return pd.read_parquet(result.rows_path)


def arm_metrics(rows: pd.DataFrame, reliance_condition: str, seed: int) -> pd.DataFrame:
    """The comparison's metrics of one configuration on one set (long format, as `robustness_table`)."""
    table = robustness_table(rows, seed=seed, reliance_condition=reliance_condition)
    table = table[table["metric"].isin(COMPARISON_METRICS)]
    table = table[(table["metric"] != "accuracy") | (table["group"] == "originals")]
    gap = mean_margin_difference(rows, image_condition=primary_condition(rows), seed=seed)
    margin_row = {
        "image_condition": primary_condition(rows),
        "metric": "mean_margin_difference",
        "group": "all",
        "value": gap.value,
        "ci_low": gap.ci.low,
        "ci_high": gap.ci.high,
        "n": gap.n,
        "n_excluded": gap.n_excluded,
        "excluded_answers": gap.excluded_answers,
        "reliance_condition": None,
    }
    return pd.concat([table, pd.DataFrame([margin_row])], ignore_index=True)


@dataclass
class ComparisonResult:
    """The long metric table, and the SAE view of the configurations without clamp or normalisation."""

    table: pd.DataFrame
    sae_view: pd.DataFrame


def run_comparison(
    inputs: ComparisonInputs,
    comparison: ComparisonConfig,
    sets: Sequence[EvaluationSet],
    adapters: dict[str, Path],
    folder: Path,
    flip_pairs: Sequence[PromptPair] = (),
) -> ComparisonResult:
    """Mine every (set, configuration) into ``folder/<set>/<configuration>`` (resumable); the long table has
    columns ``set`` and ``configuration`` and the paired flip test against the first configuration on the
    same set. With FlipBank ``flip_pairs``, the base and adapted models also get the SAE view."""
    tables = []
    views = []
    for arm in comparison.arms:
        adapter = adapters.get(arm.name)
        handle = inputs.base() if adapter is None else with_adapter(inputs.load_base(), adapter)
        for evaluation in sets:
            where = folder / folder_name(evaluation.name) / folder_name(arm.name)
            rows = _arm_rows(inputs, handle, arm, evaluation, where)
            metrics = arm_metrics(rows, inputs.reliance_condition, inputs.seed)
            tables.append((evaluation.name, arm.name, rows, metrics))
        if flip_pairs and not (arm.clamp or arm.normalise):
            view = sae_view(handle, inputs.sae(), inputs.feature(), flip_pairs, inputs.template)
            views.append({"configuration": arm.name, **view})
        del handle
        gc.collect()
    return ComparisonResult(_with_paired_tests(tables, inputs.seed), pd.DataFrame(views))


def _with_paired_tests(tables: list[tuple[str, str, pd.DataFrame, pd.DataFrame]], seed: int) -> pd.DataFrame:
    baselines: dict[str, pd.Series] = {}
    frames = []
    for set_name, arm_name, rows, metrics in tables:
        baseline = baselines.setdefault(set_name, flip_indicators(rows))
        frames.append(
            metrics.assign(set=set_name, configuration=arm_name, **paired_row(baseline, rows, seed))
        )
    return pd.concat(frames, ignore_index=True)


def flip_dangerous_points(table: pd.DataFrame) -> list[ConfigurationResult]:
    """One point per (set, configuration) with both a flip rate and a Dangerous fraction."""
    flips = table[table["metric"] == "flip_rate"].set_index(["set", "configuration"])["value"]
    dangerous = table[(table["metric"] == "quadrant_fraction") & (table["group"] == "dangerous")]
    fractions = dangerous.set_index(["set", "configuration"])["value"]
    points = pd.DataFrame({"flip_rate": flips, "dangerous_fraction": fractions}).dropna()
    return [
        ConfigurationResult(f"{arm} ({set_name})", float(row.flip_rate), float(row.dangerous_fraction))
        for (set_name, arm), row in zip(points.index, points.itertuples(index=False), strict=True)
    ]


def format_comparison(table: pd.DataFrame, correlation: Correlation) -> str:
    """Per set and configuration: flip rate, text-only agreement, Dangerous fraction, Δflip and p; then r."""
    lines = []
    for (set_name, arm), group in table.groupby(["set", "configuration"], sort=False):
        cells = []
        for metric, subgroup in (
            ("flip_rate", "all"),
            ("text_only_agreement", "blank"),
            ("quadrant_fraction", "dangerous"),
            ("mean_margin_difference", "all"),
        ):
            found = group[(group["metric"] == metric) & (group["group"] == subgroup)]
            if not found.empty:
                value = float(found["value"].iloc[0])
                shown = f"{value:.2f}" if metric == "mean_margin_difference" else f"{100 * value:.1f}%"
                cells.append(f"{metric} {shown}")
        first = group.iloc[0]
        change = (
            f"Δflip {100 * first['flip_rate_difference']:+.1f} pts (p = {first['permutation_p_value']:.3g})"
        )
        lines.append(f"{set_name} / {arm}: " + "; ".join(cells) + f"; {change}")
    interval = correlation.ci
    lines.append(
        f"r(flip rate, Dangerous fraction) = {correlation.r:.2f} [{interval.low:.2f}, {interval.high:.2f}] "
        f"over {correlation.n} points"
    )
    return "\n".join(lines)
