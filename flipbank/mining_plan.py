"""Plans a mining run: one job per (question, prompt variant, image condition), with the image each job
shows (real, blank, another patient's, or none) and a fingerprint of the run's configuration."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Literal

from flipbank.images import BlankKind, ImageCondition, swap_partners
from flipbank.records import QuestionRecord

JobKey = tuple[str, int, str]
#: "greedy": decode and parse the answer; "forced_choice": the answer is the sign of the
#: yes-minus-no margin (never excluded), for models that do not answer in words, such as random test models.
AnswerSource = Literal["greedy", "forced_choice"]


@dataclass(frozen=True)
class MiningConfig:
    """What a mining run asks: image conditions, the blank image, the seed, the answer length, the shard, and
    a label of any intervention active during the run (e.g. a clamp), which is part of its fingerprint."""

    image_conditions: tuple[ImageCondition, ...] = (ImageCondition.NONE,)
    blank_kind: BlankKind = BlankKind.GRAY
    seed: int = 0
    max_new_tokens: int = 1
    batch_size: int = 16
    rows_per_part: int = 256
    shard_index: int = 0
    shard_count: int = 1
    intervention: str = "none"
    answer_source: AnswerSource = "greedy"

    def __post_init__(self) -> None:
        if not 0 <= self.shard_index < self.shard_count:
            raise ValueError(f"shard_index {self.shard_index} is outside 0..{self.shard_count - 1}")
        if not self.image_conditions:
            raise ValueError("at least one image condition is needed")


@dataclass(frozen=True)
class MiningJob:
    """One prompt to run: a question's variant (0 = original) under an image condition."""

    question: QuestionRecord
    variant_index: int
    condition: ImageCondition
    image: str | None

    @property
    def key(self) -> JobKey:
        return (self.question.question_id, self.variant_index, self.condition.value)

    @property
    def text(self) -> str:
        if self.variant_index == 0:
            return self.question.original_question
        return self.question.paraphrases[self.variant_index - 1].text


def blank_reference(kind: BlankKind) -> str:
    """The image reference recorded for a blank image, e.g. ``blank:gray``."""
    return f"blank:{kind.value}"


def _image_for(
    condition: ImageCondition, question: QuestionRecord, partner: QuestionRecord, kind: BlankKind
) -> str | None:
    if condition == ImageCondition.REAL:
        return question.image
    if condition == ImageCondition.SWAPPED:
        return partner.image
    if condition == ImageCondition.BLANK:
        return blank_reference(kind)
    return None


def plan_jobs(questions: Sequence[QuestionRecord], settings: MiningConfig) -> list[MiningJob]:
    """Every job of this shard, grouped by image condition (a batch is all-image or all-text) and, within a
    condition, by picture, so that a batch holds as many prompts per picture as it can (their image block is
    computed once), then by the prompt's length in characters (question order among equals), so that a
    batch's questions pad to similar lengths. Swap partners are another patient's image (see
    ``swap_partners``), drawn over the whole question set, so every shard sees the same partner."""
    partners = list(range(len(questions)))
    if ImageCondition.SWAPPED in settings.image_conditions:
        partners = swap_partners([q.image for q in questions], [q.patient for q in questions], settings.seed)
    jobs: list[MiningJob] = []
    for condition in settings.image_conditions:
        condition_jobs: list[MiningJob] = []
        for index, question in enumerate(questions):
            if index % settings.shard_count != settings.shard_index:
                continue
            image = _image_for(condition, question, questions[partners[index]], settings.blank_kind)
            for variant in range(len(question.paraphrases) + 1):
                condition_jobs.append(MiningJob(question, variant, condition, image))
        jobs += sorted(condition_jobs, key=lambda job: (job.image or "", len(job.text)))  # stable
    return jobs


def questions_fingerprint(questions: Sequence[QuestionRecord]) -> str:
    """A sha256 of the question set's content, so a resumed run knows it sees the same questions."""
    digest = hashlib.sha256()
    for question in questions:
        digest.update(question.model_dump_json().encode())
    return digest.hexdigest()


def run_fingerprint(
    model_spec: str, template: str, questions: Sequence[QuestionRecord], settings: MiningConfig
) -> dict[str, object]:
    """Everything that changes a mining row's content; a results folder only takes rows of one fingerprint.
    (``batch_size`` and ``rows_per_part`` change only the schedule, not the rows, so they are left out.)"""
    settings_fields = asdict(settings)
    for schedule_only in ("batch_size", "rows_per_part"):
        settings_fields.pop(schedule_only)
    return {
        "model_spec": model_spec,
        "prompt_template": template,
        "questions_sha256": questions_fingerprint(questions),
        "n_questions": len(questions),
        "settings": json.loads(json.dumps(settings_fields, default=str)),
    }
