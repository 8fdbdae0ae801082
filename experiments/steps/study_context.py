"""The state a study's steps share: the configuration, the run folder, and the model, questions, images and
SAE, each loaded lazily once, so that a rerun whose steps are all cached loads nothing."""

from __future__ import annotations

from functools import cached_property
from pathlib import Path

import pandas as pd
from PIL import Image

from experiments import run_files
from experiments.model_options import load_handle
from experiments.question_sources import SHIPPED_BANKS, load_questions
from experiments.steps.comparison_study import ComparisonInputs, EvaluationSet
from experiments.steps.mining import ImageLoader, default_image_loader
from experiments.study_config import StudyConfig
from flipbank.box_readers import BoxRecord, read_box_csv
from flipbank.curation import answer_pairs
from flipbank.demo_bank import demo_image_root
from flipbank.demo_images import read_annotations
from flipbank.grounding import Box
from flipbank.mining_plan import MiningConfig
from flipbank.padchest_gr import read_padchest_gr
from flipbank.record_checks import RecordScreen
from flipbank.record_io import read_jsonl
from flipbank.records import FlipCase, QuestionRecord
from flipbank.sampling import stratified_sample
from flipbank.splits import QuestionSplit, split_by_patient
from interp.handle import ModelHandle
from interp.prompts import PromptTemplate
from saes.loading import LoadedSAE, load_sae

#: The steps that work on FlipBank pairs (clamping through the random control feature that patching picks).
FLIPBANK_STEPS = ("features", "attribution", "patching", "layer_sweep", "clamping")


class EmptyFlipBankError(RuntimeError):
    """The flip study curated no flipped pair, so the steps that work on FlipBank pairs cannot run; the
    message gives the curation's counts and what to change."""


class SweepLayerError(ValueError):
    """``sweep_layers`` names a layer the model does not have."""


def empty_flipbank_message(rows: pd.DataFrame, condition: str, threshold: float, step: str) -> str:
    """Why the FlipBank is empty, counted from the mining rows as curation counts them (with no pair kept,
    every flipped pair fell below the similarity bar), and what to change."""
    pairs = answer_pairs(rows, condition)
    parsed = pairs["parsed_answer"].notna() & pairs["parsed_answer_original"].notna()
    flipped = parsed & (pairs["parsed_answer"] != pairs["parsed_answer_original"])
    return (
        f"the FlipBank is empty, so step {step} cannot run ({', '.join(FLIPBANK_STEPS)} need flipped "
        f"pairs): of {len(pairs)} paraphrase pair(s) considered under the {condition!r} image condition, "
        f"{int((~parsed).sum())} had an excluded answer, {int((parsed & ~flipped).sum())} did not flip and "
        f"{int(flipped.sum())} flipped but were removed by the similarity bar (similarity > {threshold}). "
        "Mine more questions or paraphrases (a larger question file, or a larger --limit), or lower "
        "`similarity_threshold` in the study configuration; the flip study's results are kept."
    )


def question_subset(questions: list[QuestionRecord], n: int | None, seed: int) -> list[QuestionRecord]:
    """``n`` of ``questions`` (the clamping study's, a comparison set's): a seeded sample stratified by answer
    and finding (every question carries several phenomena; all when ``n`` is None)."""
    strata = [(question.answer, question.finding or "") for question in questions]
    return [questions[i] for i in stratified_sample(strata, n, seed)]


def box_records(path: Path) -> list[BoxRecord]:
    """The boxes of a study's box file: PadChest-GR's grounded reports (``.json``) or a box CSV."""
    return read_padchest_gr(path) if path.suffix == ".json" else read_box_csv(path)


class StudyContext:
    """Lazily loaded resources of one study run; ``screen`` holds the preflight checks that records must pass
    when the question source skips invalid records."""

    def __init__(self, config: StudyConfig, folder: Path, screen: RecordScreen | None = None) -> None:
        self.config = config
        self.folder = folder
        self.screen = screen

    @cached_property
    def handle(self) -> ModelHandle:
        options = self.config.model
        return load_handle(options)

    @property
    def template(self) -> PromptTemplate:
        return self.config.model.template

    @property
    def takes_images(self) -> bool:
        return any(condition.value != "none" for condition in self.config.image_conditions)

    @cached_property
    def questions(self) -> list[QuestionRecord]:
        return load_questions(self.config.questions, with_images=self.takes_images, screen=self.screen)

    @cached_property
    def image_loader(self) -> ImageLoader | None:
        settings = self.mining_settings
        return default_image_loader(settings.blank_kind, settings.seed) if self.takes_images else None

    @property
    def mining_settings(self) -> MiningConfig:
        return MiningConfig(
            image_conditions=self.config.image_conditions,
            seed=self.config.seed,
            max_new_tokens=self.config.max_new_tokens,
            batch_size=self.config.model.batch_size,
            answer_source=self.config.answer_source,
        )

    @cached_property
    def sae(self) -> LoadedSAE:
        source = self.config.sae
        if source.kind == "release":
            if source.release is None or source.sae_id is None:
                raise ValueError("an SAE release needs both `release` and `sae_id`")
            return load_sae(source.release, self.handle, sae_id=source.sae_id)
        if source.kind == "folder":
            if source.path is None:
                raise ValueError("SAE source 'folder' needs a path")
            return load_sae(source.path, self.handle)
        from saes.demo_sae import demo_sae_config, ensure_demo_sae

        config = demo_sae_config(self.config.model.spec)
        return load_sae(ensure_demo_sae(config=config, handle=self.handle), self.handle)

    @property
    def primary_condition(self) -> str:
        return "real" if self.takes_images else "none"

    def rows(self) -> pd.DataFrame:
        """The mining rows of the flip study step."""
        return pd.read_parquet(self.folder / run_files.MINED_ROWS)

    def flipbank(self) -> list[FlipCase]:
        """The curated FlipBank of the flip study step."""
        return read_jsonl(self.folder / run_files.FLIPBANK_JSONL, FlipCase)

    def require_flipbank(self, step: str) -> None:
        """Raise `EmptyFlipBankError` when the flip study curated no pair."""
        if not self.flipbank():
            message = empty_flipbank_message(
                self.rows(), self.primary_condition, self.config.similarity_threshold, step
            )
            raise EmptyFlipBankError(f"{self.folder}: {message}")

    def check_sweep_layers(self) -> None:
        """Raise `SweepLayerError` when a configured sweep layer is not one of the model's decoder layers."""
        layers, n_layers = self.config.sweep_layers or (), self.handle.n_layers
        outside = ", ".join(str(layer) for layer in layers if not 0 <= layer < n_layers)
        if outside:
            raise SweepLayerError(
                f"sweep_layers (--sweep-layer) {outside}: {self.config.model.spec!r} has {n_layers} decoder "
                f"layers, numbered 0 to {n_layers - 1}"
            )

    def feature(self) -> int:
        """The studied feature: the configured one, else the top-ranked feature of the discovery step, or
        with ``feature_from = "attribution"`` the checked candidate with the largest real patch effect."""
        if self.config.feature is not None:
            return self.config.feature
        if self.config.feature_from == "attribution":
            checked = pd.read_parquet(self.folder / run_files.ATTRIBUTION)
            return int(checked.loc[checked["real_rank"] == 1, "feature"].iloc[0])
        ranking = pd.read_parquet(self.folder / run_files.FEATURES)
        return int(ranking.iloc[0]["feature"])

    def sweep_cases(self) -> list[FlipCase]:
        """The layer sweep's FlipBank cases: ``sweep_pairs`` of them, a seeded sample stratified by phenomenon
        and direction (all when unset)."""
        cases = self.flipbank()
        strata = [(case.phenomenon.value, case.direction) for case in cases]
        return [cases[i] for i in stratified_sample(strata, self.config.sweep_pairs, self.config.seed)]

    def boxes(self) -> dict[tuple[str, str], Box]:
        """Finding boxes keyed by (image path, finding): the shipped banks' true boxes, else the study's box
        file (a CSV, or PadChest-GR's grounded reports as ``.json``; image paths relative to the question
        source's image root), else none."""
        source = self.config.questions
        if source.kind in SHIPPED_BANKS:
            return read_annotations(demo_image_root(path=SHIPPED_BANKS[source.kind]))
        if self.config.boxes is None:
            return {}
        root = source.image_root
        found = {}
        for record in box_records(self.config.boxes):
            path = record.image if root is None else str(root / record.image)
            with Image.open(path) as picture:
                found[path, record.finding] = record.pixels(*picture.size)
        return found

    def comparison_split(self) -> QuestionSplit:
        """The study's questions split by patient for the comparison (adapters train on ``train``)."""
        comparison = self.config.comparison
        fraction = 0.25 if comparison is None else comparison.eval_fraction
        return split_by_patient(self.questions, fraction, self.config.seed)

    def evaluation_sets(self, split: QuestionSplit) -> list[EvaluationSet]:
        """The evaluation split of the study's questions, then each extra set of the comparison."""
        comparison, seed = self.config.comparison, self.config.seed
        n = None if comparison is None else comparison.questions_per_set
        sets = [EvaluationSet("evaluation split", question_subset(split.evaluation, n, seed))]
        for source in () if comparison is None else comparison.extra_sets:
            questions = load_questions(source, with_images=self.takes_images, screen=self.screen)
            name = source.describe().replace("/", "_")
            sets.append(EvaluationSet(name, question_subset(questions, n, seed)))
        return sets

    def comparison_inputs(self) -> ComparisonInputs:
        """The study's model, template, mining settings, SAE and feature, as the comparison uses them."""
        return ComparisonInputs(
            base=lambda: self.handle,
            load_base=lambda: load_handle(self.config.model),
            template=self.template,
            settings=self.mining_settings,
            sae=lambda: self.sae,
            feature=self.feature,
            clamp_value=self.config.clamp_value,
            reliance_condition=self.config.reliance_condition.value,
            seed=self.config.seed,
        )

    def clamp_questions(self) -> list[QuestionRecord]:
        """The clamping study's questions (see `question_subset`)."""
        return question_subset(self.questions, self.config.clamp_questions, self.config.seed)
