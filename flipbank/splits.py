"""Train and evaluation questions that never share a question or a patient (a question without a patient is
its own group), e.g. for training LoRA adapters on paraphrase pairs and judging them on others.

>>> from flipbank.demo_bank import load_demo_bank
>>> split = split_by_patient(load_demo_bank(), eval_fraction=0.25, seed=0)
>>> len(split.train) + len(split.evaluation), bool(split.shared_patients())
(240, False)
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass

from flipbank.records import QuestionRecord


@dataclass(frozen=True)
class QuestionSplit:
    """Questions for training and for evaluation."""

    train: list[QuestionRecord]
    evaluation: list[QuestionRecord]

    def shared_patients(self) -> set[str]:
        """Patients (or question ids, for questions without a patient) on both sides; empty by design."""
        return {_group(q) for q in self.train} & {_group(q) for q in self.evaluation}


def _group(question: QuestionRecord) -> str:
    return question.patient if question.patient is not None else f"question:{question.question_id}"


def split_by_patient(questions: Sequence[QuestionRecord], eval_fraction: float, seed: int) -> QuestionSplit:
    """A seeded split whose evaluation side holds about ``eval_fraction`` of the questions, whole patients
    at a time (shuffled patients are added to it until the fraction is reached; one always stays for
    training)."""
    if not 0.0 < eval_fraction < 1.0:
        raise ValueError(f"eval_fraction must lie strictly between 0 and 1, not {eval_fraction}")
    groups = sorted({_group(q) for q in questions})
    random.Random(seed).shuffle(groups)
    chosen: set[str] = set()
    target, counts = eval_fraction * len(questions), _group_sizes(questions)
    for group in groups[:-1]:  # the last group always trains
        if sum(counts[g] for g in chosen) >= target:
            break
        chosen.add(group)
    train = [q for q in questions if _group(q) not in chosen]
    evaluation = [q for q in questions if _group(q) in chosen]
    if not train or not evaluation:
        raise ValueError(f"{len(questions)} questions in {len(groups)} patients cannot be split in two")
    return QuestionSplit(train, evaluation)


def _group_sizes(questions: Sequence[QuestionRecord]) -> dict[str, int]:
    sizes: dict[str, int] = {}
    for question in questions:
        sizes[_group(question)] = sizes.get(_group(question), 0) + 1
    return sizes
