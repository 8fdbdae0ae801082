"""The current main job: yes-minus-no margins of a handful of clinical question/paraphrase pairs on the demo
model, printed and written with provenance."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from experiments.model_options import ModelConfig, load_handle
from flipbank.atomic_folder import atomic_path
from interp.forward import PromptScore, score_prompts
from interp.prompts import PromptInput
from interp.provenance import collect_provenance, write_provenance

DEMO_PAIRS: tuple[tuple[str, str], ...] = (
    ("Is there a pleural effusion?", "Any fluid collecting around the lungs here?"),
    ("Is there radiographic evidence of cardiomegaly?", "Is the heart big?"),
    ("Is a pneumothorax present?", "Is there a collapsed lung?"),
    ("Is there consolidation in the lungs?", "Are the lungs free of consolidation?"),
    ("Is there evidence of pulmonary edema?", "Any fluid buildup in the lungs?"),
    ("Is a rib fracture visible?", "Can you see a broken rib on this film?"),
)


@dataclass(frozen=True)
class PairMargins:
    """Margins of one original question and its paraphrase."""

    original: str
    paraphrase: str
    original_score: PromptScore
    paraphrase_score: PromptScore

    @property
    def margin_shift(self) -> float:
        return self.paraphrase_score.margin - self.original_score.margin

    @property
    def flips(self) -> bool:
        return (self.original_score.margin > 0) != (self.paraphrase_score.margin > 0)


def score_pairs(options: ModelConfig) -> tuple[list[PairMargins], dict[str, str]]:
    """Load the model and score every demo pair; returns the pairs and the placement used."""
    handle = load_handle(options)
    prompts = [PromptInput(text) for pair in DEMO_PAIRS for text in pair]
    scores = score_prompts(handle, prompts, options.template, batch_size=options.batch_size)
    pairs = [
        PairMargins(original, paraphrase, scores[2 * index], scores[2 * index + 1])
        for index, (original, paraphrase) in enumerate(DEMO_PAIRS)
    ]
    placement = {"device": str(handle.device), "dtype": str(handle.dtype).removeprefix("torch.")}
    return pairs, placement


def format_table(pairs: list[PairMargins]) -> str:
    """A fixed-width text table of the pairs' margins."""
    header = (
        f"{'original':<50} {'original_margin':>7} {'paraphrase':<46} {'paraphrase_margin':>7} {'Δm':>7} flip"
    )
    lines = [header, "-" * len(header)]
    for pair in pairs:
        lines.append(
            f"{pair.original[:50]:<50} {pair.original_score.margin:>7.3f} "
            f"{pair.paraphrase[:46]:<46} {pair.paraphrase_score.margin:>7.3f} "
            f"{pair.margin_shift:>+7.3f} {'yes' if pair.flips else 'no'}"
        )
    return "\n".join(lines)


def write_pairs(folder: Path, pairs: list[PairMargins]) -> Path:
    """Write the pairs as CSV into ``folder`` atomically."""
    path = folder / "margins.csv"
    with atomic_path(path) as temporary, temporary.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(
            ["original", "paraphrase", "original_margin", "paraphrase_margin", "p_yes_orig", "p_no_orig"]
        )
        for pair in pairs:
            writer.writerow(
                [
                    pair.original,
                    pair.paraphrase,
                    pair.original_score.margin,
                    pair.paraphrase_score.margin,
                    pair.original_score.p_yes,
                    pair.original_score.p_no,
                ]
            )
    return path


def run_demo_margins(options: ModelConfig, output: Path) -> list[PairMargins]:
    """Score the demo pairs, print the table and write CSV + provenance under ``output``."""
    pairs, placement = score_pairs(options)
    print(format_table(pairs))
    folder = output / "demo-margins"
    write_pairs(folder, pairs)
    provenance = collect_provenance(
        model_spec=options.spec,
        model_revision=None,
        device=placement["device"],
        dtype=placement["dtype"],
        prompt_template=options.template.describe(),
        seed=0,
    )
    write_provenance(folder, provenance)
    print(f"\nwrote {folder}/margins.csv and provenance.json")
    return pairs
