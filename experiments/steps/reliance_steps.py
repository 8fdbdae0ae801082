"""The study steps about image reliance: where the model looks (grounding, PSF-Med Table 4), the
configuration comparison ("Consistent but Dangerous") and MediConfusion (two images, one question)."""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import TYPE_CHECKING

from experiments import run_files
from experiments.steps.comparison_study import (
    flip_dangerous_points,
    format_comparison,
    run_comparison,
    train_arm_adapters,
)
from experiments.steps.confusion_study import image_side_delta_f, image_to_image_patches, scores_by_mode
from experiments.steps.flip_pairs import flipbank_pairs
from experiments.steps.grounding_study import boxed_questions, flip_grounding_table, grounding_rows
from flipbank.demo_confusion import write_confusion_set
from flipbank.images import load_image
from flipbank.mediconfusion import read_mediconfusion
from flipbank.metrics import question_flips
from flipbank.mining_frame import condition_rows, first_paraphrases
from flipbank.quadrants import flip_dangerous_correlation

if TYPE_CHECKING:
    from experiments.steps.study_context import StudyContext

#: FlipBank pairs whose top-feature Δf the comparison measures on each adapted model.
COMPARISON_SAE_PAIRS = 64
#: MediConfusion's image-to-image patch moves the top image-side feature, then the top ten together.
CONFUSION_PATCH_FEATURES = (1, 10)


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
    scores.to_parquet(run_files.output_path(context.folder, run_files.GROUNDING_SCORES), index=False)
    table.to_parquet(context.folder / run_files.GROUNDING, index=False)
    print(table.to_string(index=False))


def comparison_step(context: StudyContext) -> None:
    """ "Consistent but Dangerous": adapters (trained here on the training split, or given), clamp and
    normalisation judged on flips and image reliance over the evaluation sets; skipped without
    configurations."""
    comparison = context.config.comparison
    if comparison is None:
        print("[comparison] no configurations in the study file; nothing to compare")
        return
    folder = context.folder / run_files.COMPARISON_FOLDER
    split = context.comparison_split()
    adapters = train_arm_adapters(context.comparison_inputs(), comparison, split, folder / "adapters")
    sets = context.evaluation_sets(split)
    flips = flipbank_pairs(context.flipbank()[:COMPARISON_SAE_PAIRS], context.image_loader).pairs
    inputs = context.comparison_inputs()
    result = run_comparison(inputs, comparison, sets, adapters, folder / "mining", flips)
    table = result.table
    table.to_parquet(context.folder / run_files.COMPARISON, index=False)
    result.sae_view.to_parquet(context.folder / run_files.COMPARISON_SAE_VIEW, index=False)
    print(result.sae_view.to_string(index=False))
    points = flip_dangerous_points(table)
    correlation = flip_dangerous_correlation(points, seed=context.config.seed)
    correlation_path = context.folder / run_files.COMPARISON_CORRELATION
    correlation_path.write_text(json.dumps(asdict(correlation), indent=2, default=str) + "\n")
    print(format_comparison(table, correlation))


def mediconfusion_step(context: StudyContext) -> None:
    """MediConfusion, the image-side twin of a paraphrase flip: each image of a pair asked the pair's
    question in each configured mode, its metrics beside random, the features that move most between a
    pair's two images and their image-to-image delta-only patch; skipped without a ``[mediconfusion]``
    entry or on a text-only study."""
    confusion = context.config.mediconfusion
    if confusion is None or not context.takes_images:
        print("[mediconfusion] no MediConfusion entry for an image study; nothing to score")
        return
    folder = context.folder / run_files.MEDICONFUSION_FOLDER
    if confusion.dataset is None or confusion.images is None:
        images = folder / "demo-set"
        dataset = write_confusion_set(images, confusion.n_pairs, context.config.seed)
    else:
        dataset, images = confusion.dataset, confusion.images
    read = read_mediconfusion(dataset, images)
    batch = context.config.model.batch_size
    table = scores_by_mode(context.handle, read.pairs, context.template, confusion.modes, batch)
    table = table.assign(n_pairs=len(read.pairs), n_skipped=len(read.skipped))
    delta_f = image_side_delta_f(context.handle, context.sae, read.pairs, context.template)
    folder.mkdir(exist_ok=True)
    delta_f.to_parquet(context.folder / run_files.MEDICONFUSION_DELTA_F, index=False)
    top = delta_f["feature"].tolist()
    feature_sets = [top[:count] for count in CONFUSION_PATCH_FEATURES]
    patches = image_to_image_patches(
        context.handle, context.sae, read.pairs, context.template, feature_sets, batch
    )
    patches.to_parquet(context.folder / run_files.MEDICONFUSION_PATCHING, index=False)
    skipped = [{"location": s.location, "field": s.field, "reason": s.reason} for s in read.skipped]
    (context.folder / run_files.MEDICONFUSION_SKIPPED).write_text(json.dumps(skipped, indent=2) + "\n")
    table.to_parquet(context.folder / run_files.MEDICONFUSION, index=False)
    print(table.to_string(index=False))
