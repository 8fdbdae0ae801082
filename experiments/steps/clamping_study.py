"""The clamping study (PSF-Med Tables 8, 26, 28): the whole question set under baseline, feature clamp,
random-feature clamp, prompt normalisation, and clamp + normalisation, with flip rate, accuracy, text-only
agreement and swap sensitivity, CIs, and a paired permutation test of each configuration against baseline."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

import pandas as pd

from experiments.run_files import clamping_folder_name
from experiments.steps.mining import mine
from experiments.steps.robustness_table import primary_condition, robustness_table
from flipbank.metrics import question_flips
from flipbank.mining_frame import condition_rows, first_paraphrases
from flipbank.mining_plan import MiningConfig
from flipbank.normalisation import normalise_question
from flipbank.records import Paraphrase, QuestionRecord
from flipbank.statistics import paired_permutation_test
from interp.clamping import clamp_features
from interp.handle import ModelHandle
from interp.prompts import PromptTemplate
from saes.features import feature_slice
from saes.loading import LoadedSAE

TABLE_METRICS = ("flip_rate", "accuracy", "text_only_agreement", "swap_sensitivity")


@dataclass(frozen=True)
class Configuration:
    """One row of the clamping table: the clamped feature (if any) and whether prompts are normalised."""

    name: str
    clamped_feature: int | None
    normalise: bool


def configurations(feature: int, control_feature: int) -> list[Configuration]:
    """Baseline, clamp, random clamp, normalisation, clamp + normalisation (PSF-Med Table 8 layout)."""
    return [
        Configuration("baseline", None, False),
        Configuration(f"clamp f{feature}", feature, False),
        Configuration(f"random clamp f{control_feature}", control_feature, False),
        Configuration("normalisation", None, True),
        Configuration(f"clamp f{feature} + normalisation", feature, True),
    ]


def normalised(questions: Sequence[QuestionRecord]) -> list[QuestionRecord]:
    """The questions with the original and every paraphrase passed through the rule-based normaliser."""
    return [
        question.model_copy(
            update={
                "original_question": normalise_question(question.original_question),
                "paraphrases": [
                    Paraphrase(text=normalise_question(p.text), phenomenon=p.phenomenon)
                    for p in question.paraphrases
                ],
            }
        )
        for question in questions
    ]


@contextmanager
def clamped(handle: ModelHandle, loaded: LoadedSAE, feature: int | None, value: float) -> Iterator[None]:
    if feature is None:
        yield
        return
    with clamp_features(handle.layers, loaded.layer, feature_slice(loaded.sae, [feature]), value):
        yield


def flip_indicators(rows: pd.DataFrame) -> pd.Series:
    selected = condition_rows(rows, primary_condition(rows), [])
    table = question_flips(selected, first_paraphrases(selected, None))
    return table.loc[table["evaluable"], "flipped"].astype(float)


def paired_row(baseline: pd.Series, rows: pd.DataFrame, seed: int) -> dict[str, float]:
    current = flip_indicators(rows)
    shared = baseline.index.intersection(current.index)
    test = paired_permutation_test(current.loc[shared], baseline.loc[shared], seed=seed)
    return {"flip_rate_difference": test.difference, "permutation_p_value": test.p_value, "paired_n": test.n}


def run_clamping_study(
    handle: ModelHandle,
    questions: Sequence[QuestionRecord],
    template: PromptTemplate,
    settings: MiningConfig,
    loaded: LoadedSAE,
    feature: int,
    control_feature: int,
    output: Path,
    clamp_value: float = 0.0,
) -> pd.DataFrame:
    """Mine every configuration into ``output/<name>`` (resumable) and return the long-format table: one row
    per (configuration, metric) with value and CI, plus the paired test of the flip rate against baseline."""
    tables: list[pd.DataFrame] = []
    baseline_flips: pd.Series | None = None
    for configuration in configurations(feature, control_feature):
        label = f"{configuration.name} (layer {loaded.layer}, value {clamp_value})"
        run_settings = replace(settings, intervention=label)
        run_questions = normalised(questions) if configuration.normalise else list(questions)
        folder = output / clamping_folder_name(configuration.name)
        with clamped(handle, loaded, configuration.clamped_feature, clamp_value):
            result = mine(handle, run_questions, template, run_settings, folder)
        rows = pd.read_parquet(result.rows_path)
        baseline_flips = flip_indicators(rows) if baseline_flips is None else baseline_flips
        table = robustness_table(rows, seed=settings.seed)
        table = table[
            table["metric"].isin(TABLE_METRICS) & table["group"].isin(["all", "originals", "blank"])
        ]
        tables.append(
            table.assign(configuration=configuration.name, **paired_row(baseline_flips, rows, settings.seed))
        )
    return pd.concat(tables, ignore_index=True)


def format_clamping_table(table: pd.DataFrame) -> str:
    """One line per configuration: each metric as a percentage with its CI, and the paired test."""
    lines = []
    for name, group in table.groupby("configuration", sort=False):
        cells = [
            f"{row.metric} {100 * row.value:.1f}% [{100 * row.ci_low:.1f}, {100 * row.ci_high:.1f}]"
            for row in group.itertuples(index=False)
        ]
        first = group.iloc[0]
        lines.append(
            f"{name:<34} " + "; ".join(cells) + f"; Δflip {100 * first['flip_rate_difference']:+.1f} pts "
            f"(p = {first['permutation_p_value']:.3g})"
        )
    return "\n".join(lines)
