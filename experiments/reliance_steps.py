"""The study steps about image reliance across configurations: where the model looks (grounding, PSF-Med
Table 4) and the configuration comparison ("Consistent but Dangerous")."""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import TYPE_CHECKING

from experiments.comparison_study import (
    flip_dangerous_points,
    format_comparison,
    run_comparison,
    train_arm_adapters,
)
from experiments.flip_pairs import flipbank_pairs
from experiments.grounding_study import boxed_questions, flip_grounding_table, grounding_rows
from flipbank.metrics import question_flips
from flipbank.mining_frame import condition_rows, first_paraphrases
from flipbank.quadrants import flip_dangerous_correlation
from interp.images import load_image

if TYPE_CHECKING:
    from experiments.study_context import StudyContext

#: FlipBank pairs whose top-feature Δf the comparison measures on each adapted model.
COMPARISON_SAE_PAIRS = 64


def grounding_step(context: StudyContext) -> None:
    """PSF-Med Table 4: attention to the finding's box on flip vs no-flip questions (needs images and
    boxes; skipped otherwise)."""
    boxed = boxed_questions(context.questions, context.boxes()) if context.takes_images else []
    if not boxed:
        print("[grounding] no question has an image and a box for its finding; nothing to measure")
        return
    scores = grounding_rows(context.handle, boxed, context.template, load_image, batch_size=8)
    rows = condition_rows(context.rows(), context.primary_condition, ["phenomenon"])
    flips = question_flips(rows, first_paraphrases(rows, None))
    flipped = flips.loc[flips["evaluable"], "flipped"].astype(bool)
    table = flip_grounding_table(scores, flipped, context.config.seed)
    folder = context.folder / "grounding"
    folder.mkdir(exist_ok=True)
    scores.to_parquet(folder / "scores.parquet", index=False)
    table.to_parquet(context.folder / "grounding.parquet", index=False)
    print(table.to_string(index=False))


def comparison_step(context: StudyContext) -> None:
    """ "Consistent but Dangerous": adapters (trained here on the training split, or given), clamp and
    normalisation judged on flips and image reliance over the evaluation sets; skipped without
    configurations."""
    comparison = context.config.comparison
    if comparison is None:
        print("[comparison] no configurations in the study file; nothing to compare")
        return
    folder = context.folder / "comparison"
    split = context.comparison_split()
    adapters = train_arm_adapters(context.comparison_inputs(), comparison, split, folder / "adapters")
    sets = context.evaluation_sets(split)
    flips = flipbank_pairs(context.flipbank()[:COMPARISON_SAE_PAIRS], context.image_loader).pairs
    inputs = context.comparison_inputs()
    result = run_comparison(inputs, comparison, sets, adapters, folder / "mining", flips)
    table = result.table
    table.to_parquet(context.folder / "comparison.parquet", index=False)
    result.sae_view.to_parquet(folder / "sae_view.parquet", index=False)
    print(result.sae_view.to_string(index=False))
    points = flip_dangerous_points(table)
    correlation = flip_dangerous_correlation(points, seed=context.config.seed)
    (folder / "correlation.json").write_text(json.dumps(asdict(correlation), indent=2, default=str) + "\n")
    print(format_comparison(table, correlation))
