"""Study presets: ``demo`` (the embedded 270M model, the demo SAE and the demo bank, on a CPU), ``tiny`` (the
random multimodal test model, for tests) and ``medgemma-4b`` (the real study on a GPU box)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Literal

from experiments.model_options import ModelOptions
from experiments.question_sources import QuestionSource
from flipbank.causal_metrics import DEFAULT_GAP_FLOOR
from flipbank.mining_plan import AnswerSource
from interp.images import ImageCondition
from interp.prompts import PromptStyle

SAEKind = Literal["demo", "release", "folder"]
ALL_CONDITIONS = (ImageCondition.REAL, ImageCondition.BLANK, ImageCondition.SWAPPED, ImageCondition.NONE)


@dataclass(frozen=True)
class SAESource:
    """The SAE a study decodes with: the demo SAE, a sae-lens release + id, or a local folder."""

    kind: SAEKind = "demo"
    release: str | None = None
    sae_id: str | None = None
    path: Path | None = None


@dataclass(frozen=True)
class StudyConfig:
    """Everything that determines a study's results; its hash names the run folder. ``reliance_condition``
    defines image reliance for the quadrants: the answer changes when the real image is replaced by a blank
    one (the default), removed (none) or swapped for another patient's. ``control_pairs``, ``sweep_pairs``
    and ``clamp_questions`` are seeded stratified samples drawn with ``seed`` (None: all). The layer sweep
    patches ``sweep_layers`` (None: every decoder layer). Patching reports how many FlipBank pairs have
    |m_orig − m_para| below ``gap_floor`` logits, where per-pair recovery is fragile."""

    name: str
    model: ModelOptions
    questions: QuestionSource = field(default_factory=QuestionSource)
    image_conditions: tuple[ImageCondition, ...] = (ImageCondition.NONE,)
    answer_source: AnswerSource = "greedy"
    max_new_tokens: int = 1
    similarity_threshold: float = 0.95
    sae: SAESource = field(default_factory=SAESource)
    feature: int | None = None
    clamp_value: float = 0.0
    control_pairs: int = 100
    sweep_pairs: int | None = None
    clamp_questions: int | None = None
    sweep_layers: tuple[int, ...] | None = None
    reliance_condition: ImageCondition = ImageCondition.BLANK
    gap_floor: float = DEFAULT_GAP_FLOOR
    seed: int = 0

    def __post_init__(self) -> None:
        if self.reliance_condition == ImageCondition.REAL:
            raise ValueError(
                "reliance_condition names the image that replaces the real one (blank, none or swapped)"
            )
        for name in ("control_pairs", "sweep_pairs", "clamp_questions"):
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
        the question file's content (`QuestionSource.fingerprint`), so that a file replaced at the same path
        gets its own run folder. ``sweep_layers`` enters only when set, and the shipped demo bank has no
        fingerprint, so configurations that use neither keep the hash they had before either existed."""
        fields = asdict(self)
        fields["model"].pop("batch_size")
        if self.sweep_layers is None:
            fields.pop("sweep_layers")
        fingerprint = self.questions.fingerprint()
        if fingerprint is not None:
            fields["questions"]["fingerprint"] = fingerprint
        text = json.dumps(fields, sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()[:12]


def _demo() -> StudyConfig:
    return StudyConfig(
        name="demo",
        model=ModelOptions(spec="gemma3-270m", prompt_style=PromptStyle.FEW_SHOT),
        # all-MiniLM-L6-v2 cosines of the demo bank's paraphrase pairs have median 0.77; the paper's 0.95
        # is on the BioClinicalBERT scale and would keep 3 % of them, so the demo calibrates its own bar.
        similarity_threshold=0.7,
        # the sweep costs one forward per layer per pair, the clamping table five mining runs: both use a
        # subset so that the demo finishes on a 2-core CPU (the medgemma-4b preset uses everything).
        sweep_pairs=48,
        clamp_questions=80,
    )


def _tiny() -> StudyConfig:
    return StudyConfig(
        name="tiny",
        model=ModelOptions(spec="tiny-mm", prompt_style=PromptStyle.CHAT, batch_size=8),
        questions=QuestionSource(kind="demo", limit=12),
        image_conditions=ALL_CONDITIONS,
        answer_source="forced_choice",
        similarity_threshold=0.5,
        sae=SAESource(kind="folder"),  # the tests point ``path`` at a small SAE they build
        control_pairs=8,
    )


def _medgemma() -> StudyConfig:
    return StudyConfig(
        name="medgemma-4b",
        model=ModelOptions(spec="google/medgemma-4b-it", prompt_style=PromptStyle.CHAT, batch_size=16),
        questions=QuestionSource(kind="psf-mimic-json"),
        image_conditions=ALL_CONDITIONS,
        max_new_tokens=24,
        sae=SAESource(
            kind="release", release="gemma-scope-2-4b-it-res", sae_id="layer_17_width_16k_l0_medium"
        ),
        feature=3818,
    )


PRESETS = {"demo": _demo, "tiny": _tiny, "medgemma-4b": _medgemma}


def preset(name: str) -> StudyConfig:
    """The named preset (``demo``, ``tiny`` or ``medgemma-4b``)."""
    if name not in PRESETS:
        raise ValueError(f"unknown preset {name!r}; choose one of {', '.join(PRESETS)}")
    return PRESETS[name]()
