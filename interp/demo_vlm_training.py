"""Stage 2 of the demo VLM's training: the projector and a PEFT LoRA over every language-model layer learn to
answer yes/no finding questions from the picture (vision tower frozen after stage 1). The loss is the
cross-entropy of the first answer token ("Yes" or "No", opening the model turn) over the whole vocabulary, so
greedy decoding answers in one word; a share of the batches carries no image and the finding's majority
answer, as a model that has only the text to go on would guess."""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace

import torch
from peft import LoraConfig, PeftModel, get_peft_model
from PIL import Image
from torch import Tensor, nn
from tqdm.auto import tqdm
from transformers import Gemma3ForConditionalGeneration

from flipbank.demo_vlm_data import LabelledQuestion
from flipbank.records import Answer
from interp.handle import ModelHandle
from interp.prompts import CHAT_TEMPLATE, PromptInput, encode_prompts
from interp.training_state import Trainer, warm_up_then_cosine

LORA_TARGETS = r".*language_model.*\.(q_proj|k_proj|v_proj|o_proj|gate_proj|up_proj|down_proj)"


@dataclass(frozen=True)
class AnswerTrainingConfig:
    """The LoRA and optimiser of stage 2. Dropout is 0 so that a resumed run repeats the same steps."""

    lora_rank: int = 8
    lora_alpha: int = 16
    lm_lr: float = 5e-4
    projector_lr: float = 1e-4
    batch_size: int = 8
    epochs: int = 2
    warm_up_steps: int = 30
    text_only_every: int = 10
    seed: int = 0

    def lora_config(self) -> LoraConfig:
        return LoraConfig(
            r=self.lora_rank, lora_alpha=self.lora_alpha, lora_dropout=0.0, target_modules=LORA_TARGETS
        )


@dataclass(frozen=True)
class Batch:
    """The items of one step, and whether they are shown their pictures."""

    items: tuple[LabelledQuestion, ...]
    with_images: bool


def training_batches(
    items: Sequence[LabelledQuestion], config: AnswerTrainingConfig, majority: Mapping[str, Answer]
) -> list[Batch]:
    """The run's batches in order (seeded): every ``text_only_every``-th batch is text-only, its items
    relabelled with their finding's ``majority`` answer."""
    rng = random.Random(config.seed)
    batches: list[Batch] = []
    for _ in range(config.epochs):
        order = list(items)
        rng.shuffle(order)
        for start in range(0, len(order) - config.batch_size + 1, config.batch_size):
            chosen = order[start : start + config.batch_size]
            if config.text_only_every > 0 and len(batches) % config.text_only_every == 0:
                relabelled = [replace(item, answer=majority[item.finding]) for item in chosen]
                batches.append(Batch(tuple(relabelled), with_images=False))
            else:
                batches.append(Batch(tuple(chosen), with_images=True))
    return batches


def encode_batch(
    handle: ModelHandle, batch: Batch, picture: Callable[[str], Image.Image]
) -> dict[str, Tensor]:
    """The batch encoded exactly as the workbench encodes prompts at inference (`encode_prompts`)."""
    prompts = [
        PromptInput(item.question, picture(item.study.image_id) if batch.with_images else None)
        for item in batch.items
    ]
    return encode_prompts(handle, prompts, CHAT_TEMPLATE)


def answer_ids(handle: ModelHandle) -> dict[Answer, int]:
    """The token ids of "Yes" and "No" as they open the model turn (resolved from the tokenizer)."""
    tokens = handle.yes_no_tokens(CHAT_TEMPLATE.answer_leading_space)
    return {"yes": tokens.primary_yes, "no": tokens.primary_no}


def with_lora(model: Gemma3ForConditionalGeneration, config: AnswerTrainingConfig) -> PeftModel:
    """The model wrapped with a fresh LoRA; the vision tower frozen, the projector trainable."""
    torch.manual_seed(config.seed)
    wrapped = get_peft_model(model, config.lora_config())
    for name, parameter in wrapped.named_parameters():
        if "multi_modal_projector" in name:
            parameter.requires_grad_(True)
    return wrapped  # type: ignore[return-value]


def answer_trainer(model: PeftModel, config: AnswerTrainingConfig, total_steps: int) -> Trainer[PeftModel]:
    """AdamW with the projector's own learning rate, linear warm-up then cosine decay."""
    projector = [p for n, p in model.named_parameters() if p.requires_grad and "multi_modal_projector" in n]
    lora = [p for n, p in model.named_parameters() if p.requires_grad and "multi_modal_projector" not in n]
    groups = [{"params": lora, "lr": config.lm_lr}, {"params": projector, "lr": config.projector_lr}]
    optimizer = torch.optim.AdamW(groups, weight_decay=0.01)
    return Trainer(model, optimizer, warm_up_then_cosine(optimizer, config.warm_up_steps, total_steps))


def step_loss(model: nn.Module, inputs: dict[str, Tensor], targets: Tensor) -> Tensor:
    """Cross-entropy of the first answer token over the whole vocabulary."""
    logits = model(**inputs, logits_to_keep=1, use_cache=False).logits[:, -1, :]
    return torch.nn.functional.cross_entropy(logits.float(), targets)


def train_answers(
    trainer: Trainer[PeftModel],
    handle: ModelHandle,
    batches: Sequence[Batch],
    picture: Callable[[str], Image.Image],
    start: int = 0,
    on_step: Callable[[int, float], None] | None = None,
) -> None:
    """Run ``batches[start:]`` (``on_step(step, loss)`` after each, e.g. to log and checkpoint); the
    trainer's state must already be that after ``start`` steps. ``handle`` encodes the prompts."""
    ids = answer_ids(handle)
    trainer.model.train()
    bar = tqdm(range(start, len(batches)), desc="answers", unit="step", initial=start, total=len(batches))
    for step in bar:
        batch = batches[step]
        targets = torch.tensor([ids[item.answer] for item in batch.items])
        loss = step_loss(trainer.model, encode_batch(handle, batch, picture), targets)
        trainer.optimizer.zero_grad()
        loss.backward()  # type: ignore[no-untyped-call]
        torch.nn.utils.clip_grad_norm_(trainer.model.parameters(), 1.0)
        trainer.optimizer.step()
        trainer.schedule.step()
        bar.set_postfix(loss=f"{float(loss):.3f}")
        if on_step is not None:
            on_step(step, float(loss.detach()))
    trainer.model.eval()
