"""The end-to-end study: one step per paper table or figure, run in order into a content-addressed run folder,
each skipped when it already finished for the same configuration."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import asdict, replace
from functools import partial
from pathlib import Path

import pandas as pd

from experiments import run_files
from experiments.commands.run_weights import check_run_weights, current_weights
from experiments.reporting.figures import write_figures
from experiments.reporting.report import write_report
from experiments.run_folder import run_folder, run_step, step_done
from experiments.stand_ins.demo_vlm_evaluation import held_out_settings
from experiments.steps.attribution_study import check_attribution
from experiments.steps.clamping_study import format_clamping_table, run_clamping_study
from experiments.steps.feature_maps import MAP_FEATURES, distinct_pictures, feature_image_maps
from experiments.steps.flip_pairs import LabelledPairs, flipbank_pairs, non_flip_pairs
from experiments.steps.flip_study import run_flip_study
from experiments.steps.latency_study import run_latency_study
from experiments.steps.layer_sweep_study import format_layer_sweep, run_layer_sweep
from experiments.steps.nota_study import nota_step
from experiments.steps.patching_study import format_patching_summary, run_patching_study
from experiments.steps.reliance_steps import comparison_step, grounding_step, mediconfusion_step
from experiments.steps.study_context import FLIPBANK_STEPS, StudyContext
from experiments.steps.uncertainty_study import uncertainty_step
from experiments.study_config import StudyConfig
from flipbank.curation import CurationConfig
from flipbank.mining_plan import plan_jobs
from flipbank.record_checks import RecordScreen
from interp.prompt_pair import PromptPair
from interp.provenance import collect_provenance, write_provenance
from saes.ranking import rank_pairs
from saes.transfer import transfer_check

#: The transfer check runs three forwards per prompt; its statistics settle well before the whole FlipBank.
TRANSFER_PROMPTS = 128


def flip_study_step(context: StudyContext) -> None:
    """PSF-Med Tables 2–3, 16, 20: mining, robustness metrics and the curated FlipBank."""
    curation = CurationConfig(context.primary_condition, context.config.similarity_threshold)
    run_flip_study(
        context.handle,
        context.questions,
        context.template,
        context.mining_settings,
        curation,
        context.folder / run_files.FLIP_STUDY,
        context.config.reliance_condition.value,
    )


def control_pairs(context: StudyContext) -> LabelledPairs:
    """The non-flip control pairs of ranking and patching: one seeded stratified sample for both."""
    return non_flip_pairs(
        context.rows(),
        context.questions,
        context.primary_condition,
        context.image_loader,
        context.config.control_pairs,
        context.config.seed,
    )


def _ranking_pairs(context: StudyContext) -> list[PromptPair]:
    """FlipBank pairs (flipped) and non-flip control pairs, with their measured margins and images."""
    flips = flipbank_pairs(context.flipbank(), context.image_loader)
    controls = control_pairs(context)
    return [
        replace(pair, pair_id=f"{kind}/{index}")
        for kind, labelled in (("flip", flips), ("control", controls))
        for index, pair in enumerate(labelled.pairs)
    ]


def features_step(context: StudyContext) -> None:
    """PSF-Med Fig. 5 and Tables 5–6: SAE transfer check and feature ranking over the FlipBank."""
    folder = context.folder / run_files.FEATURES_FOLDER
    flips = flipbank_pairs(context.flipbank(), context.image_loader)
    prompts = [prompt for pair in flips.pairs for prompt in (pair.original, pair.paraphrase)]
    report = transfer_check(
        context.handle, context.sae, prompts[:TRANSFER_PROMPTS], context.template, progress=True
    )
    print(report.summary())
    ranking = rank_pairs(
        context.handle, context.sae, _ranking_pairs(context), context.template, progress=True
    )
    ranking.write(folder)
    (context.folder / run_files.TRANSFER).write_text(json.dumps(report.to_dict(), indent=2) + "\n")
    print(ranking.summary())
    if context.image_loader is not None:
        top = pd.read_parquet(context.folder / run_files.FEATURES)["feature"].head(MAP_FEATURES).tolist()
        cases = distinct_pictures(context.flipbank())
        maps = feature_image_maps(
            context.handle, context.sae, cases, context.image_loader, context.template, top
        )
        maps.to_parquet(context.folder / run_files.FEATURE_IMAGE_MAPS, index=False)


def attribution_step(context: StudyContext) -> None:
    """Attribution patching over every SAE feature on the sweep's FlipBank sample, checked against the
    real delta-only patch of its top candidates (Spearman r, top-10 overlap, time of each)."""
    flips = flipbank_pairs(context.sweep_cases(), context.image_loader)
    started = time.perf_counter()
    config = context.config
    attribution, check = check_attribution(
        context.handle,
        context.sae,
        flips.pairs,
        context.template,
        seed=config.seed,
        progress=True,
        steps=config.attribution_steps or 0,
    )
    seconds = time.perf_counter() - started
    check.table.to_parquet(context.folder / run_files.ATTRIBUTION, index=False)
    summary = {
        "n_pairs": len(flips.pairs),
        "d_sae": int(attribution.features.shape[1]),
        "spearman": asdict(check.correlation),
        "top_overlap": check.top_overlap,
        "steps": config.attribution_steps or 0,
        "seconds_total": round(seconds, 2),
    }
    summary_path = run_files.output_path(context.folder, run_files.ATTRIBUTION_SUMMARY)
    summary_path.write_text(json.dumps(summary, indent=2, default=str) + "\n")
    print(check.table.head(10).to_string(index=False))
    print(f"Spearman r = {check.correlation.r:.2f}, top-10 overlap {check.top_overlap}")


def patching_step(context: StudyContext) -> None:
    """PSF-Med Tables 7, 18: delta-only patching with its controls."""
    loader = context.image_loader
    flips = flipbank_pairs(context.flipbank(), loader)
    controls = control_pairs(context)
    study = run_patching_study(
        context.handle,
        context.sae,
        context.feature(),
        flips,
        controls,
        context.template,
        context.config.seed,
        context.config.gap_floor,
    )
    study.pairs.to_parquet(run_files.output_path(context.folder, run_files.PATCHING_PAIRS), index=False)
    study.summary.to_parquet(context.folder / run_files.PATCHING_SUMMARY, index=False)
    print(format_patching_summary(study.summary))


def layer_sweep_step(context: StudyContext) -> None:
    """PSF-Med Table 19: recovery by layer."""
    flips = flipbank_pairs(context.sweep_cases(), context.image_loader)
    table = run_layer_sweep(
        context.handle,
        flips,
        context.template,
        {context.sae.layer: (context.sae, context.feature())},
        context.config.seed,
        context.config.sweep_layers,
        context.config.gap_floor,
    )
    table.to_parquet(context.folder / run_files.LAYER_SWEEP, index=False)
    print(format_layer_sweep(table))


def clamping_step(context: StudyContext) -> None:
    """PSF-Med Tables 8, 26, 28: clamp, random clamp, normalisation and both, against baseline."""
    patching = pd.read_parquet(context.folder / run_files.PATCHING_PAIRS)
    control = int(patching.loc[patching["arm"] == "random feature on flips", "feature"].iloc[0])
    table = run_clamping_study(
        context.handle,
        context.clamp_questions(),
        context.template,
        context.mining_settings,
        context.sae,
        context.feature(),
        control,
        context.folder / run_files.CLAMPING_FOLDER,
        context.config.clamp_value,
    )
    table.to_parquet(context.folder / run_files.CLAMPING, index=False)
    print(format_clamping_table(table))


def latency_step(context: StudyContext) -> None:
    """PSF-Med Table 27: the cost of each intervention relative to the plain forward pass."""
    questions = [question.original_question for question in context.questions[:16]]
    table = run_latency_study(context.handle, context.sae, context.feature(), questions, context.template)
    table.to_parquet(context.folder / run_files.LATENCY, index=False)


STEPS: tuple[tuple[str, Callable[[StudyContext], None]], ...] = (
    ("flip_study", flip_study_step),
    ("grounding", grounding_step),
    ("features", features_step),
    ("attribution", attribution_step),
    ("patching", patching_step),
    ("layer_sweep", layer_sweep_step),
    ("clamping", clamping_step),
    ("comparison", comparison_step),
    ("mediconfusion", mediconfusion_step),
    ("uncertainty", uncertainty_step),
    ("nota", nota_step),
    ("latency", latency_step),
)


def check_mining_plans(context: StudyContext, steps: list[str]) -> None:
    """Fail before any step runs when the question set of a mining step among ``steps`` cannot be mined
    (for instance the swapped-image condition over questions that all share one image)."""
    mining_steps = [step for step in steps if step in ("flip_study", "clamping")]
    if not mining_steps:
        return
    subsets = {
        "flip_study": context.questions,
        "clamping": context.clamp_questions(),
    }
    for step in mining_steps:
        try:
            plan_jobs(subsets[step], context.mining_settings)
        except ValueError as error:
            raise ValueError(
                f"study {context.config.name!r}, step {step} ({len(subsets[step])} questions, "
                f"clamp_questions={context.config.clamp_questions}): {error}"
            ) from error


def check_before_steps(context: StudyContext, steps: list[str]) -> None:
    """Fail before any of ``steps`` runs when a mining step cannot be mined (`check_mining_plans`) or the
    layer sweep names a layer the model lacks (this loads the model, which the steps load anyway)."""
    check_mining_plans(context, steps)
    if "layer_sweep" in steps and context.config.sweep_layers is not None:
        context.check_sweep_layers()
    studied = {"patching", "clamping", "comparison", "latency"} & set(steps)
    attributed = "attribution" in steps or step_done(context.folder, "attribution")
    if context.config.feature_from == "attribution" and studied and not attributed:
        raise ValueError(
            f"study {context.config.name!r}: feature_from = 'attribution' picks the feature of "
            f"{', '.join(sorted(studied))} from the attribution step, which has not run: run it too"
        )


def _run_step(context: StudyContext, name: str, step: Callable[[StudyContext], None]) -> None:
    """One step; those that work on FlipBank pairs first check that there are some (`EmptyFlipBankError`)."""
    if name in FLIPBANK_STEPS:
        context.require_flipbank(name)
    step(context)


def run_study(
    config: StudyConfig,
    root: Path,
    only: set[str] | None = None,
    force: bool = False,
    figures_root: Path | None = None,
    screen: RecordScreen | None = None,
) -> Path:
    """Run every step (or ``only`` those) of ``config`` into its run folder under ``root``; finished steps
    are skipped unless ``force``. Then regenerate the figures (into ``figures_root/<run>`` when given) and
    the run's report from the results on disk. A run folder whose results came from other weights is
    refused (`RunWeightsError`). ``screen`` is the preflight's record checks, applied when
    the question source skips invalid records. The steps that work on FlipBank pairs raise
    `EmptyFlipBankError` when the flip study kept none. Returns the run folder."""
    folder = run_folder(root, config)
    check_run_weights(folder, current_weights(config))  # before any step: never mix two models' results
    context = StudyContext(config, folder, screen)
    print(f"study {config.name} → {folder}")
    chosen = [(name, step) for name, step in STEPS if only is None or name in only]
    check_before_steps(context, [name for name, _ in chosen if force or not step_done(folder, name)])
    for name, step in chosen:
        run_step(folder, name, partial(_run_step, context, name, step), force)
    if "handle" in context.__dict__:
        handle = context.handle
        provenance = collect_provenance(
            config.model.spec,
            handle.revision,
            str(handle.device),
            str(handle.dtype).removeprefix("torch."),
            context.template.describe(),
            config.seed,
            {
                "config_hash": config.content_hash(),
                "reliance_condition": config.reliance_condition.value,
                "sampling": "seeded stratified samples (control pairs: phenomenon × answer; sweep pairs: "
                "phenomenon × direction; clamp questions: answer × finding)",
                **held_out_settings(config.model.spec),
                **({} if handle.adapter is None else {"adapter": handle.adapter}),
            },
        )
        write_provenance(folder, provenance)
    if figures_root is not None:
        written = write_figures(folder, figures_root / folder.name, inline_plotlyjs=False)
        print(f"{len(written)} figures → {figures_root / folder.name}")
    print(f"report → {write_report(folder)}")
    return folder
