"""What a study is: the model, questions, image conditions, SAE, feature, subsets and seed of one run, as one
frozen configuration whose hash names the run folder. Study files (`experiments.study_file`) describe it;
the presets are shipped study files (`experiments.presets`)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Literal

from experiments.model_options import ModelConfig
from experiments.question_sources import QuestionsConfig, path_fingerprint
from flipbank.causal_metrics import DEFAULT_GAP_FLOOR
from flipbank.images import ImageCondition
from flipbank.mediconfusion import CONFUSION_MODES, ConfusionMode
from flipbank.mining_plan import AnswerSource
from flipbank.multiple_choice import NotaPosition, NotaVariant
from interp.lora_layers import LayerChoice
from interp.lora_training import LoraTrainingConfig

SAEKind = Literal["demo", "release", "folder"]
ALL_CONDITIONS = (ImageCondition.REAL, ImageCondition.BLANK, ImageCondition.SWAPPED, ImageCondition.NONE)


@dataclass(frozen=True)
class SAEConfig:
    """The SAE a study decodes with: the demo SAE, a sae-lens release + id, or a local folder."""

    kind: SAEKind = "demo"
    release: str | None = None
    sae_id: str | None = None
    path: Path | None = None


@dataclass(frozen=True)
class ArmConfig:
    """One configuration of the comparison step: the base model, or the model with an ``adapter`` folder,
    or with an adapter the study trains on ``train_layers`` (targeted, full, early or indices); optionally
    with the study's feature clamped and/or the prompts normalised."""

    name: str
    adapter: Path | None = None
    train_layers: LayerChoice | None = None
    clamp: bool = False
    normalise: bool = False

    def __post_init__(self) -> None:
        if self.adapter is not None and self.train_layers is not None:
            raise ValueError(f"configuration {self.name!r}: give adapter or train_layers, not both")


@dataclass(frozen=True)
class ComparisonConfig:
    """The configuration comparison: ``arms`` judged on the study questions' evaluation split (whole
    patients, ``eval_fraction`` of them; adapters trained here see only the rest) and on ``extra_sets``,
    under every image condition of the study; each set is cut to ``questions_per_set`` questions (a seeded
    sample stratified by answer and finding; None: all). ``training`` is the recipe of the adapters trained
    here (its ``layers`` come from each arm), on at most ``max_training_pairs`` pairs."""

    arms: tuple[ArmConfig, ...]
    extra_sets: tuple[QuestionsConfig, ...] = ()
    eval_fraction: float = 0.25
    training: LoraTrainingConfig = field(default_factory=LoraTrainingConfig)
    max_training_pairs: int | None = None
    questions_per_set: int | None = None

    def __post_init__(self) -> None:
        for name in ("max_training_pairs", "questions_per_set"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise ValueError(f"ComparisonConfig.{name} must be a positive integer, not {value}")


@dataclass(frozen=True)
class ConfusionConfig:
    """MediConfusion for the study's model: ``dataset`` (its ``dataset.json``) with ``images`` (the folder
    its image paths are relative to), or without a dataset the synthetic set of ``n_pairs`` demo pairs
    (`flipbank.demo_confusion`), rendered into the run folder; answered in each of ``modes`` (the
    benchmark's ``greedy``, ``mc`` and ``prefix``)."""

    dataset: Path | None = None
    images: Path | None = None
    n_pairs: int = 36
    modes: tuple[ConfusionMode, ...] = CONFUSION_MODES

    def __post_init__(self) -> None:
        if (self.dataset is None) != (self.images is None):
            raise ValueError("MediConfusion needs both `dataset` and `images` (or neither: the demo set)")
        if self.n_pairs < 1:
            raise ValueError(f"ConfusionConfig.n_pairs must be a positive integer, not {self.n_pairs}")
        if not self.modes or len(set(self.modes)) != len(self.modes):
            raise ValueError(
                f"ConfusionConfig.modes must be distinct modes of {CONFUSION_MODES}, not {self.modes}"
            )


@dataclass(frozen=True)
class NotaConfig:
    """The NOTA analysis: multiple-choice ``items`` (a JSON, JSON Lines or CSV file, `flipbank.choice_io`),
    or without a file the synthetic demo set of ``n_items`` one-finding radiographs
    (`flipbank.demo_choices`), each asked clean and under every NOTA ``variants`` with NOTA at ``position``
    (`flipbank.multiple_choice`). ``scoring``: ``letters`` picks the most probable option letter at the next
    token; ``greedy`` parses a greedy answer of up to 32 tokens (confidence from the letters either way)."""

    items: Path | None = None
    n_items: int = 48
    variants: tuple[NotaVariant, ...] = ("replace_gold", "remove_gold_append", "wrong_extra")
    position: NotaPosition = "last"
    scoring: Literal["letters", "greedy"] = "letters"

    def __post_init__(self) -> None:
        if self.n_items < 1 or not self.variants:
            raise ValueError(
                f"NotaConfig needs n_items ≥ 1 and some variants, not {self.n_items}, {self.variants}"
            )


@dataclass(frozen=True)
class UncertaintyConfig:
    """The uncertainty step's extra generations on each original question under the study's primary image
    condition: ``n_samples`` answers sampled at ``temperature`` within the top-``top_p`` nucleus (their
    entropy over parsed content), each up to ``max_new_tokens`` tokens, and, with ``verbalized``, a second
    greedy pass that shows the model its answer and asks for a confidence from 0 to 100 (4 tokens).
    ``questions`` caps the originals (a seeded sample stratified by answer and finding; None: all)."""

    n_samples: int = 10
    temperature: float = 0.6
    top_p: float = 0.9
    max_new_tokens: int = 8
    verbalized: bool = True
    questions: int | None = None

    def __post_init__(self) -> None:
        for name in ("n_samples", "max_new_tokens", "questions"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise ValueError(f"UncertaintyConfig.{name} must be a positive integer, not {value}")
        if self.temperature <= 0 or not 0 < self.top_p <= 1:
            raise ValueError(
                f"UncertaintyConfig needs temperature > 0 and top_p in (0, 1], not {self.temperature}, "
                f"{self.top_p}"
            )


@dataclass(frozen=True)
class StudyConfig:
    """Everything that determines a study's results; its hash names the run folder. ``reliance_condition``
    defines image reliance for the quadrants: the answer changes when the real image is replaced by a blank
    one (the default), removed (none) or swapped for another patient's. ``control_pairs``, ``sweep_pairs``
    and ``clamp_questions`` are seeded stratified samples drawn with ``seed`` (None: all). The layer sweep
    patches ``sweep_layers`` (None: every decoder layer). Patching reports how many FlipBank pairs have
    |original_margin − paraphrase_margin| below ``gap_floor`` logits, where per-pair recovery is fragile.
    Without a ``feature``, patching and clamping study the top feature by mean |Δf|, or with
    ``feature_from = "attribution"`` the feature whose real delta-only patch moved the margin most among
    attribution patching's candidates. ``attribution_steps`` switches attribution patching to AtP*'s
    integrated gradients with that many points (None: plain AtP, the gradient at the paraphrase).
    ``boxes`` is a CSV of finding boxes in pixels (`flipbank.box_readers`) or PadChest-GR's grounded
    reports (a ``.json``, `flipbank.padchest_gr`); the shipped demo banks bring their true boxes."""

    name: str
    model: ModelConfig
    questions: QuestionsConfig = field(default_factory=QuestionsConfig)
    image_conditions: tuple[ImageCondition, ...] = (ImageCondition.NONE,)
    answer_source: AnswerSource = "greedy"
    max_new_tokens: int = 1
    similarity_threshold: float = 0.95
    sae: SAEConfig = field(default_factory=SAEConfig)
    feature: int | None = None
    feature_from: Literal["attribution"] | None = None
    attribution_steps: int | None = None
    clamp_value: float = 0.0
    control_pairs: int = 100
    sweep_pairs: int | None = None
    clamp_questions: int | None = None
    sweep_layers: tuple[int, ...] | None = None
    reliance_condition: ImageCondition = ImageCondition.BLANK
    gap_floor: float = DEFAULT_GAP_FLOOR
    comparison: ComparisonConfig | None = None
    mediconfusion: ConfusionConfig | None = None
    uncertainty: UncertaintyConfig | None = None
    nota: NotaConfig | None = None
    boxes: Path | None = None
    seed: int = 0

    def __post_init__(self) -> None:
        if self.reliance_condition == ImageCondition.REAL:
            raise ValueError(
                "reliance_condition names the image that replaces the real one (blank, none or swapped)"
            )
        for name in ("control_pairs", "sweep_pairs", "clamp_questions", "attribution_steps"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise ValueError(f"StudyConfig.{name} must be a positive integer, not {value}")
        layers = self.sweep_layers
        if layers is not None and (not layers or min(layers) < 0 or len(set(layers)) != len(layers)):
            raise ValueError(
                f"StudyConfig.sweep_layers must be distinct decoder layer indices ≥ 0 (None: every layer), "
                f"not {layers}"
            )

    def content_hash(self) -> str:
        """A short sha256 of the configuration (batch size excluded: it changes timing, not results) and of
        the question file's content (`QuestionsConfig.fingerprint`), so that a file replaced at the same path
        gets its own run folder; likewise an adapter folder's content. ``sweep_layers``, ``comparison`` and
        ``model.adapter`` enter only when set, and the shipped demo bank has no
        fingerprint, so configurations that use neither keep the hash they had before either existed."""
        fields = asdict(self)
        fields["model"].pop("batch_size")
        if self.model.adapter is None:
            fields["model"].pop("adapter")
        else:
            fields["model"]["adapter_fingerprint"] = path_fingerprint(self.model.adapter)
        optional_fields = (
            "sweep_layers",
            "comparison",
            "mediconfusion",
            "uncertainty",
            "nota",
            "boxes",
            "feature_from",
            "attribution_steps",
        )
        for optional in optional_fields:
            if fields[optional] is None:
                fields.pop(optional)
        for arm in fields.get("comparison", {}).get("arms", []):
            if arm["adapter"] is not None:
                arm["adapter_fingerprint"] = path_fingerprint(Path(arm["adapter"]))
        fingerprint = self.questions.fingerprint()
        if fingerprint is not None:
            fields["questions"]["fingerprint"] = fingerprint
        text = json.dumps(fields, sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()[:12]
