"""Held-out evaluation of the demo VLM: its answers to the demo bank's original questions (patients, images
and phrasings it never trained on) with the real picture, a blank one, another patient's and none; accuracy,
text-only agreement and swap sensitivity, each with a bootstrap CI. Answers are the margin's sign."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch import Tensor, nn

from flipbank.demo_images import render_synthetic_image
from flipbank.images import ImageCondition, blank_image, load_image, swap_partners
from flipbank.radiographs import DRAWABLE_FINDINGS
from flipbank.records import QuestionRecord
from flipbank.statistics import ConfidenceInterval, bootstrap_mean_ci
from interp.demo_vlm import DEMO_VLM_SPEC, demo_vlm_folder, training_log
from interp.demo_vlm_vision import finding_scores, soft_tokens
from interp.forward import score_prompts
from interp.handle import ModelHandle
from interp.prompts import CHAT_TEMPLATE, PromptInput


@dataclass(frozen=True)
class HeldOutRate:
    """A rate over the held-out questions, with its bootstrap CI."""

    value: float
    ci_low: float
    ci_high: float

    @staticmethod
    def of(indicators: np.ndarray, seed: int) -> HeldOutRate:
        interval: ConfidenceInterval = bootstrap_mean_ci(indicators.astype(float), seed=seed)
        return HeldOutRate(float(indicators.mean()), interval.low, interval.high)

    def describe(self) -> str:
        return f"{100 * self.value:.1f} % [{100 * self.ci_low:.1f}, {100 * self.ci_high:.1f}]"


@dataclass(frozen=True)
class HeldOutReport:
    """The targets of the demo VLM, measured on ``n_questions`` held-out questions."""

    n_questions: int
    accuracy_real: HeldOutRate
    accuracy_blank: HeldOutRate
    accuracy_none: HeldOutRate
    accuracy_swapped: HeldOutRate
    text_only_agreement: HeldOutRate
    swap_sensitivity: HeldOutRate

    def lines(self) -> list[str]:
        """One line per quantity, for the console and the report."""
        return [f"{name.replace('_', ' ')}: {rate.describe()}" for name, rate in self.rates().items()]

    def rates(self) -> dict[str, HeldOutRate]:
        return {name: value for name, value in vars(self).items() if isinstance(value, HeldOutRate)}

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def _answers(handle: ModelHandle, prompts: Sequence[PromptInput], batch_size: int) -> np.ndarray:
    scores = score_prompts(handle, prompts, CHAT_TEMPLATE, batch_size=batch_size, progress=False)
    return np.array([score.margin > 0 for score in scores])


def condition_answers(
    handle: ModelHandle, questions: Sequence[QuestionRecord], seed: int = 0, batch_size: int = 16
) -> dict[ImageCondition, np.ndarray]:
    """Whether the model answers "yes" to each original question under each image condition."""
    pictures = [load_image(question.image) for question in questions]
    partners = swap_partners([q.image for q in questions], [q.patient for q in questions], seed)
    texts = [question.original_question for question in questions]
    images = {
        ImageCondition.REAL: pictures,
        ImageCondition.BLANK: [blank_image()] * len(questions),
        ImageCondition.SWAPPED: [pictures[partner] for partner in partners],
    }
    answers = {
        condition: _answers(
            handle, [PromptInput(t, i) for t, i in zip(texts, shown, strict=True)], batch_size
        )
        for condition, shown in images.items()
    }
    answers[ImageCondition.NONE] = _answers(handle, [PromptInput(text) for text in texts], batch_size)
    return answers


def held_out_report(
    answers: dict[ImageCondition, np.ndarray], questions: Sequence[QuestionRecord], seed: int = 0
) -> HeldOutReport:
    """The targets from the answers of `condition_answers`."""
    truth = np.array([question.answer == "yes" for question in questions])
    real = answers[ImageCondition.REAL]

    def rate(indicators: np.ndarray) -> HeldOutRate:
        return HeldOutRate.of(indicators, seed)

    return HeldOutReport(
        n_questions=len(questions),
        accuracy_real=rate(real == truth),
        accuracy_blank=rate(answers[ImageCondition.BLANK] == truth),
        accuracy_none=rate(answers[ImageCondition.NONE] == truth),
        accuracy_swapped=rate(answers[ImageCondition.SWAPPED] == truth),
        text_only_agreement=rate(real == answers[ImageCondition.BLANK]),
        swap_sensitivity=rate(real != answers[ImageCondition.SWAPPED]),
    )


def held_out_settings(model_spec: str, cache_dir: str | Path | None = None) -> dict[str, str | int]:
    """For the demo VLM, its held-out targets as provenance settings (one per quantity); {} otherwise."""
    if model_spec != DEMO_VLM_SPEC:
        return {}
    held_out = training_log(demo_vlm_folder(cache_dir)).get("held_out")
    if not isinstance(held_out, dict):
        return {}
    settings: dict[str, str | int] = {"demo VLM held-out questions": int(held_out["n_questions"])}
    for name, rate in held_out.items():
        if isinstance(rate, dict):
            settings[f"demo VLM held-out {name.replace('_', ' ')}"] = HeldOutRate(**rate).describe()
    return settings


def vision_accuracy(
    model: nn.Module, pixels: Tensor, shown: list[frozenset[str]], directions: Tensor
) -> dict[str, float]:
    """Per drawable finding, how often the soft tokens tell whether a picture shows it (`finding_scores`
    above 0.5), over pictures ``pixels`` that show ``shown``."""
    with torch.no_grad():
        tokens = soft_tokens(
            model.get_submodule("model.vision_tower"),
            model.get_submodule("model.multi_modal_projector"),
            pixels,
        )
        said = (finding_scores(tokens, directions) > 0.5).numpy()  # (image, finding)
    truth = np.array([[finding in drawn for finding in DRAWABLE_FINDINGS] for drawn in shown])
    return {
        finding: round(float((said[:, i] == truth[:, i]).mean()), 3)
        for i, finding in enumerate(DRAWABLE_FINDINGS)
    }


def held_out_pictures(
    image_findings: dict[str, frozenset[str]],
) -> tuple[list[Image.Image], list[frozenset[str]]]:
    """The rendered held-out pictures and what each shows."""
    pictures = [render_synthetic_image(image, drawn).image for image, drawn in image_findings.items()]
    return pictures, list(image_findings.values())
