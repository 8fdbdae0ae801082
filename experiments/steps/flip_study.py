"""The flip study (issue: FlipBank): mine the question bank on a model, print the robustness table, and curate
the FlipBank, writing everything with provenance into one run folder."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from experiments.run_files import (
    FLIPBANK_JSONL_FILE,
    FLIPBANK_PARQUET_FILE,
    MINING_FOLDER,
    ROBUSTNESS_FILE,
)
from experiments.steps.mining import mine
from experiments.steps.robustness_table import format_robustness_table, robustness_table
from flipbank.curation import CurationConfig, CurationResult, curate_flipbank, summarise_flipbank
from flipbank.mining_plan import MiningConfig
from flipbank.record_io import write_jsonl, write_parquet
from flipbank.records import FlipCase, QuestionRecord
from flipbank.similarity import EmbeddingSimilarity
from interp.handle import ModelHandle
from interp.prompts import PromptTemplate


@dataclass(frozen=True)
class FlipStudyResult:
    """The mining rows, the robustness table and the curated FlipBank of one study run."""

    rows: pd.DataFrame
    table: pd.DataFrame
    curation: CurationResult
    mining_seconds: float
    prompts_mined: int


def write_flipbank(folder: Path, cases: list[FlipCase]) -> None:
    """Write the FlipBank as JSONL (readable by people) and Parquet (readable by tools)."""
    write_jsonl(folder / FLIPBANK_JSONL_FILE, cases, FlipCase)
    write_parquet(folder / FLIPBANK_PARQUET_FILE, cases, FlipCase)


def run_flip_study(
    handle: ModelHandle,
    questions: list[QuestionRecord],
    template: PromptTemplate,
    mining: MiningConfig,
    curation: CurationConfig,
    output: Path,
    reliance_condition: str = "blank",
) -> FlipStudyResult:
    """Mine (resumable) into ``output/mining``, then write ``robustness.parquet`` (image reliance judged
    against ``reliance_condition``) and the FlipBank."""
    start = time.perf_counter()
    result = mine(handle, questions, template, mining, output / MINING_FOLDER)
    seconds = time.perf_counter() - start
    rows = pd.read_parquet(result.rows_path)
    table = robustness_table(rows, seed=mining.seed, reliance_condition=reliance_condition)
    table.to_parquet(output / ROBUSTNESS_FILE, index=False)
    print(format_robustness_table(table))
    curated = curate_flipbank(rows, questions, EmbeddingSimilarity(), curation)
    write_flipbank(output, curated.cases)
    print(
        f"\ncuration over {curated.pairs_considered} pairs ({curated.similarity_model}, "
        f"similarity > {curation.similarity_threshold}): removed {curated.removed_excluded_answer} with an "
        f"excluded answer, {curated.removed_no_flip} without a flip, {curated.removed_low_similarity} below "
        "the similarity bar"
    )
    print(summarise_flipbank(curated.cases).format())
    return FlipStudyResult(rows, table, curated, seconds, result.computed)
