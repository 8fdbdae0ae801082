"""The NOTA step ("Uncertainty Is Not a Safety Net…"): multiple-choice items asked clean and with the right
option hidden behind "None of the above", scored by the option letters' restricted softmax (or a parsed
greedy answer); per variant the accuracy before and after, how often NOTA is chosen, the confidence shift,
the items that collapse and how well clean-item uncertainty anticipates the collapse (AUROC)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from experiments import run_files
from experiments.steps.study_context import StudyContext
from experiments.study_config import NotaConfig
from flipbank.choice_io import read_choice_items
from flipbank.demo_choices import write_choice_set
from flipbank.images import load_image
from flipbank.mediconfusion import MC_ANSWER_TOKENS
from flipbank.multiple_choice import NOTA, ChoiceItem, choice_prompt, nota_item, parse_choice
from flipbank.nota_metrics import NotaSummary, nota_summary
from interp.choice_scoring import letter_probabilities
from interp.generation import answer_texts
from interp.handle import ModelHandle
from interp.prompts import PromptInput, PromptTemplate


def choice_prompts(items: Sequence[ChoiceItem]) -> list[PromptInput]:
    """Each item's lettered prompt, with its image when it has one."""
    return [PromptInput(choice_prompt(i), None if i.image is None else load_image(i.image)) for i in items]


def _by_image(items: Sequence[ChoiceItem]) -> list[list[int]]:
    """Item indices split into those with and those without an image (a batch may not mix them)."""
    groups = [[i for i, item in enumerate(items) if (item.image is None) == bare] for bare in (False, True)]
    return [group for group in groups if group]


def score_choices(
    handle: ModelHandle, items: Sequence[ChoiceItem], template: PromptTemplate, batch_size: int = 8
) -> list[NDArray[np.float64]]:
    """The restricted softmax over each item's option letters, in item order."""
    found: list[NDArray[np.float64]] = [np.empty(0)] * len(items)
    for group in _by_image(items):
        chosen = [items[i] for i in group]
        counts = [len(item.options) for item in chosen]
        scores = letter_probabilities(handle, choice_prompts(chosen), counts, template, batch_size)
        for index, probabilities in zip(group, scores, strict=True):
            found[index] = probabilities
    return found


def greedy_choices(
    handle: ModelHandle, items: Sequence[ChoiceItem], template: PromptTemplate, batch_size: int = 8
) -> list[int | None]:
    """Each item's parsed greedy answer (None: no single option named)."""
    picks: list[int | None] = [None] * len(items)
    for group in _by_image(items):
        prompts = choice_prompts([items[i] for i in group])
        texts = answer_texts(handle, prompts, template, MC_ANSWER_TOKENS, batch_size)
        for index, text in zip(group, texts, strict=True):
            picks[index] = parse_choice(text, items[index])
    return picks


def _picks(
    handle: ModelHandle, items: list[ChoiceItem], template: PromptTemplate, config: NotaConfig
) -> list[int | None] | None:
    return greedy_choices(handle, items, template) if config.scoring == "greedy" else None


def _summary_row(variant: str, summary: NotaSummary) -> dict[str, object]:
    anticipation = summary.anticipation
    flat = {key: value for key, value in asdict(summary).items() if key != "anticipation"}
    return {
        "variant": variant,
        **flat,
        "anticipation_auroc": anticipation.value,
        "anticipation_ci_low": anticipation.ci.low,
        "anticipation_ci_high": anticipation.ci.high,
    }


def _item_rows(
    items: Sequence[ChoiceItem],
    variant: str,
    clean: Sequence[NDArray[np.float64]],
    perturbed: Sequence[NDArray[np.float64]],
    nota_index: Sequence[int],
) -> list[dict[str, object]]:
    rows = zip(items, clean, perturbed, nota_index, strict=True)
    return [
        {
            "item_id": item.item_id,
            "variant": variant,
            "clean_probabilities": before.tolist(),
            "nota_probabilities": after.tolist(),
            "gold": item.gold,
            "nota_index": position,
        }
        for item, before, after, position in rows
    ]


def nota_tables(
    handle: ModelHandle, items: list[ChoiceItem], template: PromptTemplate, config: NotaConfig, seed: int
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """One summary row per variant (with the clean accuracy) and one row per item and variant (its options'
    probabilities, the gold and NOTA positions)."""
    clean = score_choices(handle, items, template)
    clean_picks = _picks(handle, items, template, config)
    summaries, rows = [], []
    for variant in config.variants:
        perturbed = [nota_item(item, variant, config.position, seed) for item in items]
        scores = score_choices(handle, perturbed, template)
        nota_index = [item.options.index(NOTA) for item in perturbed]
        golds = ([item.gold for item in items], [item.gold for item in perturbed])
        picks = (clean_picks, _picks(handle, perturbed, template, config))
        summary = nota_summary(clean, golds[0], scores, golds[1], nota_index, seed, *picks)
        summaries.append(_summary_row(f"{variant} ({config.position})", summary))
        rows.extend(_item_rows(items, variant, clean, scores, nota_index))
    return pd.DataFrame(summaries), pd.DataFrame(rows)


def nota_step(context: StudyContext) -> None:
    """NOTA on the study's model (skipped without a ``[nota]`` entry): the items file, or the synthetic demo
    set rendered into the run folder (which needs an image model)."""
    config = context.config.nota
    if config is None or (config.items is None and not context.takes_images):
        print("[nota] no [nota] entry (or a demo set on a text-only study); nothing to score")
        return
    path = config.items
    if path is None:
        demo_set = context.folder / run_files.NOTA_FOLDER / "demo-set"
        path = write_choice_set(demo_set, config.n_items, context.config.seed)
    items = read_choice_items(path)
    summary, per_item = nota_tables(context.handle, items, context.template, config, context.config.seed)
    per_item.to_parquet(run_files.output_path(context.folder, run_files.NOTA_ITEMS), index=False)
    summary.to_parquet(context.folder / run_files.NOTA, index=False)
    print(summary.round(3).to_string(index=False))
