"""Trains the demo VLM from scratch and (with ``--ship``) replaces the shipped weights:
``python -m experiments.stand_ins.demo_vlm_build --ship``. Stage 1 pre-trains the vision tower as a finding
classifier, stage 2 trains projector and LoRA on yes/no questions; both are seeded, stage 2 checkpoints and
resumes. The held-out targets are measured and printed at the end, and saved in the training log."""

from __future__ import annotations

import argparse
import shutil
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
from peft import PeftModel
from PIL import Image
from safetensors.torch import load_file, save_file
from torch import nn
from transformers import Gemma3Processor

from experiments.stand_ins.demo_vlm_evaluation import (
    HeldOutReport,
    condition_answers,
    held_out_pictures,
    held_out_report,
    vision_accuracy,
)
from flipbank.cache_dir import workbench_cache_dir
from flipbank.demo_bank import demo_image_root, load_demo_bank
from flipbank.demo_images import demo_image_findings, render_synthetic_image
from flipbank.demo_vlm_data import (
    SyntheticStudy,
    labelled_questions,
    majority_answers,
    synthetic_studies,
    training_phrasings,
)
from flipbank.radiographs import DRAWABLE_FINDINGS
from interp.demo_model import ensure_demo_model
from interp.demo_vlm import DEMO_VLM_SPEC, SHIPPED_DEMO_VLM, save_trained, save_trained_log
from interp.demo_vlm_architecture import untrained_demo_vlm
from interp.demo_vlm_training import (
    AnswerTrainingConfig,
    answer_trainer,
    train_answers,
    training_batches,
    with_lora,
)
from interp.demo_vlm_vision import VisionPretrainConfig, finding_directions, pretrain_vision, word_targets
from interp.loading import handle_from_model
from interp.provenance import numeric_environment
from interp.training_state import Trainer, restore_checkpoint, save_checkpoint

STAGE1_FILE = "vision_stage1.safetensors"


@dataclass(frozen=True)
class DemoVLMRecipe:
    """Everything that determines the trained weights (with the 270M's and the code's version)."""

    n_train_patients: int = 600
    studies_per_patient: int = 4
    per_answer: int = 240
    seed: int = 0
    vision: VisionPretrainConfig = field(default_factory=lambda: VisionPretrainConfig(steps=1500))
    answers: AnswerTrainingConfig = field(default_factory=AnswerTrainingConfig)
    checkpoint_every: int = 50


def _pictures(studies: list[SyntheticStudy]) -> dict[str, Image.Image]:
    return {study.image_id: render_synthetic_image(study.image_id, study.findings).image for study in studies}


def _stage1(
    model: nn.Module,
    processor: Gemma3Processor,
    studies: list[SyntheticStudy],
    recipe: DemoVLMRecipe,
    work: Path,
) -> float:
    """Pre-train (or restore) the vision tower and the projector so that the soft tokens carry the drawn
    findings' words on their boxes; returns the seconds spent."""
    tower, projector = (
        model.get_submodule("model.vision_tower"),
        model.get_submodule("model.multi_modal_projector"),
    )
    saved, started = work / STAGE1_FILE, time.perf_counter()
    if saved.exists():
        state = load_file(str(saved))
        tower.load_state_dict(
            {k.removeprefix("tower."): v for k, v in state.items() if k.startswith("tower.")}
        )
        projector.load_state_dict(
            {k.removeprefix("projector."): v for k, v in state.items() if k.startswith("projector.")}
        )
        return time.perf_counter() - started
    radiographs = [render_synthetic_image(s.image_id, s.findings) for s in studies]
    pixels = processor.image_processor([r.image for r in radiographs], return_tensors="pt")["pixel_values"]  # type: ignore[attr-defined]
    side = int(processor.image_seq_length**0.5)  # type: ignore[attr-defined]
    directions = finding_directions_of(model, processor)
    targets = word_targets([r.boxes for r in radiographs], directions, side, pixels.shape[-1])
    pretrain_vision(tower, projector, pixels, targets, directions, recipe.vision)
    state = {f"tower.{k}": v.contiguous() for k, v in tower.state_dict().items()}
    state |= {f"projector.{k}": v.contiguous() for k, v in projector.state_dict().items()}
    save_file(state, str(saved))
    return time.perf_counter() - started


def finding_directions_of(model: nn.Module, processor: Gemma3Processor) -> torch.Tensor:
    """Each drawable finding's words as the language model receives them (`finding_directions`)."""
    tokenizer = processor.tokenizer  # type: ignore[attr-defined]
    names = [tokenizer.encode(f" {finding}", add_special_tokens=False) for finding in DRAWABLE_FINDINGS]
    embeddings = model.get_submodule("model.language_model.embed_tokens")
    scale = float(getattr(embeddings, "scalar_embed_scale", 1.0))
    return finding_directions(embeddings.get_parameter("weight").detach(), names, scale)


@dataclass
class TrainedDemoVLM:
    """A freshly trained model (LoRA still separate) with its processor-bearing handle and log."""

    trainer: Trainer[PeftModel]
    processor: Gemma3Processor
    log: dict[str, object]


def train_demo_vlm(recipe: DemoVLMRecipe, text_folder: Path, work: Path) -> TrainedDemoVLM:
    """Train both stages in ``work`` (resuming from its checkpoints); the held-out questions of the demo bank
    are never trained on: their patients, images and phrasings are all kept out."""
    work.mkdir(parents=True, exist_ok=True)
    bank = load_demo_bank()
    held_out = [q.original_question for q in bank] + [p.text for q in bank for p in q.paraphrases]
    studies = synthetic_studies(
        recipe.n_train_patients, recipe.seed, studies_per_patient=recipe.studies_per_patient
    )
    items = labelled_questions(studies, training_phrasings(held_out), recipe.per_answer, recipe.seed)
    model, processor = untrained_demo_vlm(text_folder, seed=recipe.seed)
    seconds_vision = _stage1(model, processor, studies, recipe, work)
    pictures_held_out, shown = held_out_pictures(demo_image_findings(bank))
    pixels = processor.image_processor(pictures_held_out, return_tensors="pt")["pixel_values"]  # type: ignore[attr-defined]
    vision = vision_accuracy(model, pixels, shown, finding_directions_of(model, processor))
    print("Vision stage, held-out accuracy per finding:", vision)
    handle = handle_from_model(DEMO_VLM_SPEC, model, processor.tokenizer, processor, torch.float32)  # type: ignore[attr-defined]
    batches = training_batches(items, recipe.answers, majority_answers(studies))
    trainer = answer_trainer(with_lora(model, recipe.answers), recipe.answers, len(batches))
    losses: list[float] = []
    start = restore_checkpoint(trainer, work, losses)
    pictures = _pictures(studies)

    def on_step(step: int, loss: float) -> None:
        losses.append(loss)
        if (step + 1) % recipe.checkpoint_every == 0 or step + 1 == len(batches):
            save_checkpoint(trainer, work, losses)

    started = time.perf_counter()
    train_answers(trainer, handle, batches, pictures.__getitem__, start, on_step)
    log: dict[str, object] = {
        "recipe": asdict(recipe),
        "n_training_questions": len(items),
        "n_training_images": len(studies),
        "n_steps": len(batches),
        "seconds_vision_stage": round(seconds_vision, 1),
        "vision_held_out_accuracy": vision,
        "seconds_answer_stage": round(time.perf_counter() - started, 1),
        "resumed_at_step": start,
        "loss_every_10_steps": [
            round(sum(losses[i : i + 10]) / len(losses[i : i + 10]), 4) for i in range(0, len(losses), 10)
        ],
        "environment": numeric_environment(),
    }
    return TrainedDemoVLM(trainer, processor, log)


def evaluate_trained(trained: TrainedDemoVLM, seed: int = 0) -> HeldOutReport:
    """Merge the LoRA (in place: save the adapter first) and measure the held-out targets on the demo bank's
    original questions."""
    merged = trained.trainer.model.merge_and_unload()
    processor = trained.processor
    handle = handle_from_model(DEMO_VLM_SPEC, merged, processor.tokenizer, processor, torch.float32)  # type: ignore[attr-defined]
    questions = load_demo_bank(image_root=demo_image_root())
    return held_out_report(condition_answers(handle, questions, seed), questions, seed)


def build(recipe: DemoVLMRecipe, work: Path, ship: bool) -> HeldOutReport:
    """Train, save the small parts into ``work/trained`` (and the shipped folder with ``ship``), evaluate."""
    trained = train_demo_vlm(recipe, ensure_demo_model(), work)
    output = work / "trained"
    save_trained(trained.trainer.model, output, trained.log)
    report = evaluate_trained(trained, recipe.seed)
    trained.log["held_out"] = report.as_dict()
    save_trained_log(output, trained.log)
    if ship:
        shutil.rmtree(SHIPPED_DEMO_VLM, ignore_errors=True)
        shutil.copytree(output, SHIPPED_DEMO_VLM)
    return report


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Train the demo VLM (about 1.5 hours on 2 CPU cores).")
    parser.add_argument("--ship", action="store_true", help="replace the weights shipped with the package")
    parser.add_argument("--work", type=Path, default=None, help="checkpoint folder (resumes what is there)")
    args = parser.parse_args(argv)
    work = args.work or workbench_cache_dir() / "demo-vlm-training"
    report = build(DemoVLMRecipe(), work, args.ship)
    print("Held-out targets (demo bank originals, answers by the margin's sign):")
    for line in report.lines():
        print("  " + line)


if __name__ == "__main__":
    main()
