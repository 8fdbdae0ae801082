"""One LoRA training run (``psf-workbench train-lora``): a model, a question source split by patient, pairs
of each training question's original and paraphrases on its real image, paper-exact training
(`interp.lora_training`), checkpoints every few steps in the output folder (a rerun resumes), and the adapter
saved in PEFT's format with ``training_log.json`` (its recipe, resolved layers, split and losses) and
``split.json`` (which questions are held out for evaluation).

>>> config = LoraRunConfig(ModelConfig(spec="tiny-mm", prompt_style=PromptStyle.CHAT))  # doctest: +SKIP
>>> train_adapter(config, Path("runs/lora/targeted"))                                      # doctest: +SKIP
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from PIL import Image

from experiments.model_options import ModelConfig, load_handle
from experiments.question_sources import QuestionsConfig, load_questions
from flipbank.atomic_folder import atomic_path
from flipbank.images import load_image
from flipbank.records import Answer, QuestionRecord
from flipbank.splits import QuestionSplit, split_by_patient
from interp.handle import ModelHandle
from interp.lora_layers import resolve_lora_layers
from interp.lora_training import LoraTrainingConfig, lora_trainer, pair_batches, train_lora
from interp.prompt_pair import PromptPair
from interp.prompts import PromptInput, PromptTemplate
from interp.provenance import numeric_environment
from interp.training_state import remove_checkpoint, restore_checkpoint, save_checkpoint

TRAINING_LOG_FILE = "training_log.json"
SPLIT_FILE = "split.json"


@dataclass(frozen=True)
class LoraRunConfig:
    """What a LoRA run trains on and how; ``eval_fraction`` of the questions (whole patients) are held out."""

    model: ModelConfig
    questions: QuestionsConfig = field(default_factory=QuestionsConfig)
    training: LoraTrainingConfig = field(default_factory=LoraTrainingConfig)
    eval_fraction: float = 0.25
    checkpoint_every: int = 25


def training_pairs(
    handle: ModelHandle, questions: Sequence[QuestionRecord]
) -> tuple[list[PromptPair], list[Answer]]:
    """Every (original, paraphrase) pair of ``questions`` with its answer; on the real image when the
    model takes images (each file read once)."""
    pictures: dict[str, Image.Image] = {}
    pairs, answers = [], []
    for question in questions:
        picture = None
        if handle.accepts_images:
            picture = pictures.setdefault(question.image, load_image(question.image))
        for paraphrase in question.paraphrases:
            original = PromptInput(question.original_question, picture)
            pairs.append(PromptPair(original, PromptInput(paraphrase.text, picture)))
            answers.append(question.answer)
    return pairs, answers


def _split_record(split: QuestionSplit) -> dict[str, list[str]]:
    return {
        "train": [q.question_id for q in split.train],
        "evaluation": [q.question_id for q in split.evaluation],
    }


def adapter_finished(output: Path) -> bool:
    """Whether ``output`` holds a finished adapter (its training log is written last)."""
    return (output / TRAINING_LOG_FILE).is_file()


def train_adapter(config: LoraRunConfig, output: Path) -> Path:
    """Train (or resume) the adapter of ``config`` into ``output``; a finished run is not repeated.
    Returns ``output``."""
    if adapter_finished(output):
        print(f"{output} holds a finished adapter; delete the folder to train again")
        return output
    handle = load_handle(config.model)
    questions = load_questions(config.questions, with_images=handle.accepts_images)
    split = split_by_patient(questions, config.eval_fraction, config.training.seed)
    run = AdapterRun(config.training, config.model.template, config.checkpoint_every)
    return fit_adapter(handle, split, run, output, {"run": asdict(config)})


@dataclass(frozen=True)
class AdapterRun:
    """How one adapter is fitted: the recipe, the prompt template, how often to checkpoint, and at most
    ``max_pairs`` training pairs (a seeded sample; None: all)."""

    training: LoraTrainingConfig
    template: PromptTemplate
    checkpoint_every: int = 25
    max_pairs: int | None = None


def fit_adapter(
    handle: ModelHandle, split: QuestionSplit, run: AdapterRun, output: Path, recipe: dict[str, object]
) -> Path:
    """Fit an adapter on ``split.train`` into ``output`` (resuming its checkpoint), injected into
    ``handle``'s model; saves it in PEFT's format with its log (``recipe`` included) and the split."""
    pairs, answers = training_pairs(handle, split.train)
    if run.max_pairs is not None and len(pairs) > run.max_pairs:
        chosen = sorted(random.Random(run.training.seed).sample(range(len(pairs)), run.max_pairs))
        pairs, answers = [pairs[i] for i in chosen], [answers[i] for i in chosen]
    steps = pair_batches(len(pairs), run.training)
    trainer = lora_trainer(handle, run.training, len(steps))
    losses: list[float] = []
    start = restore_checkpoint(trainer, output, losses)

    def on_step(step: int, loss: float) -> None:
        losses.append(loss)
        if (step + 1) % run.checkpoint_every == 0 and step + 1 < len(steps):
            save_checkpoint(trainer, output, losses)

    started = time.perf_counter()
    train_lora(trainer, handle, pairs, answers, run.training, run.template, start, on_step)
    trainer.model.save_pretrained(str(output))
    log = _training_log(run.training, handle, len(pairs), losses, time.perf_counter() - started, start)
    (output / SPLIT_FILE).write_text(json.dumps(_split_record(split), indent=1) + "\n")
    with atomic_path(output / TRAINING_LOG_FILE) as temporary:  # written last: marks the run finished
        temporary.write_text(json.dumps(recipe | log, indent=2, default=str) + "\n")
    remove_checkpoint(output)
    return output


def _training_log(
    training: LoraTrainingConfig,
    handle: ModelHandle,
    n_pairs: int,
    losses: list[float],
    seconds: float,
    start: int,
) -> dict[str, object]:
    return {
        "training": asdict(training),
        "model": handle.spec,
        "n_layers": handle.n_layers,
        "adapted_layers": list(resolve_lora_layers(training.layers, handle.n_layers)),
        "n_training_pairs": n_pairs,
        "n_steps": len(losses),
        "resumed_at_step": start,
        "seconds_training": round(seconds, 1),
        "seconds_per_step": round(seconds / max(len(losses) - start, 1), 3),
        "losses": [round(loss, 5) for loss in losses],
        "environment": numeric_environment(),
    }
