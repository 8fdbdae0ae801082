"""Paraphrase-consistency LoRA with PEFT (Sadanandan & Behzadan, CHIL 2026): adapters on chosen decoder
layers of the language model (vision tower frozen) trained on `interp.lora_objective.pair_loss` over
(original, paraphrase) pairs, seeded and resumable.

>>> from interp import load_model                                        # doctest: +SKIP
>>> handle = load_model("demo-vlm")                                      # doctest: +SKIP
>>> config = LoraTrainingConfig(layers="targeted")                       # doctest: +SKIP
>>> steps = len(pair_batches(len(pairs), config))                        # doctest: +SKIP
>>> trainer = lora_trainer(handle, config, total_steps=steps)             # doctest: +SKIP
>>> train_lora(trainer, handle, pairs, answers, config, CHAT_TEMPLATE)   # doctest: +SKIP
>>> trainer.model.save_pretrained("runs/lora/targeted")                  # doctest: +SKIP
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
from peft import LoraConfig, PeftModel, get_peft_model
from torch import Tensor
from tqdm.auto import tqdm

from flipbank.records import Answer
from interp.handle import ModelHandle
from interp.lora_layers import LayerChoice, lora_target_pattern, resolve_lora_layers
from interp.lora_objective import NO, YES, Objective, pair_loss
from interp.prompt_pair import PromptPair
from interp.prompts import PromptTemplate, encode_prompts
from interp.training_state import Trainer, warm_up_then_cosine
from interp.vocab_positions import last_position

LORA_MODULES = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")


@dataclass(frozen=True)
class LoraTrainingConfig:
    """The paper's recipe by default: r 16, α 32, dropout 0.05 on q/k/v/o/gate/up/down of the ``layers``
    (`resolve_lora_layers`), AdamW lr 2e-4 with weight decay 0.01 and 100 warm-up steps, effective batch 8
    (``micro_batch_size`` pairs per forward, gradients accumulated), 3 epochs, λ = ``ce_weight`` = 1."""

    layers: LayerChoice = "targeted"
    rank: int = 16
    alpha: int = 32
    dropout: float = 0.05
    modules: tuple[str, ...] = LORA_MODULES
    lr: float = 2e-4
    warm_up_steps: int = 100
    weight_decay: float = 0.01
    batch_size: int = 8
    micro_batch_size: int = 8
    epochs: int = 3
    ce_weight: float = 1.0
    objective: Objective = "consistency"
    seed: int = 0

    def __post_init__(self) -> None:
        if self.batch_size % self.micro_batch_size != 0:
            raise ValueError(
                f"LoraTrainingConfig.batch_size ({self.batch_size}) must be a multiple of "
                f"micro_batch_size ({self.micro_batch_size})"
            )

    def peft_config(self, n_layers: int) -> LoraConfig:
        """PEFT's configuration for a model with ``n_layers`` decoder layers."""
        layers = resolve_lora_layers(self.layers, n_layers)
        return LoraConfig(
            r=self.rank,
            lora_alpha=self.alpha,
            lora_dropout=self.dropout,
            target_modules=lora_target_pattern(layers, self.modules),
        )


def pair_batches(n_pairs: int, config: LoraTrainingConfig) -> list[list[int]]:
    """The pair indices of every optimiser step, in order: each epoch a seeded shuffle cut into
    ``batch_size`` pairs (a last short batch is kept)."""
    rng = random.Random(config.seed)
    steps = []
    for _ in range(config.epochs):
        order = list(range(n_pairs))
        rng.shuffle(order)
        steps += [order[start : start + config.batch_size] for start in range(0, n_pairs, config.batch_size)]
    return steps


def lora_trainer(handle: ModelHandle, config: LoraTrainingConfig, total_steps: int) -> Trainer[PeftModel]:
    """The handle's model wrapped with a fresh LoRA (injected in place, so the handle's hooks see it) and
    its optimiser; everything but the adapter is frozen."""
    torch.manual_seed(config.seed)
    model: PeftModel = get_peft_model(handle.model, config.peft_config(handle.n_layers))  # type: ignore[assignment]
    parameters = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(parameters, lr=config.lr, weight_decay=config.weight_decay)
    return Trainer(model, optimizer, warm_up_then_cosine(optimizer, config.warm_up_steps, total_steps))


def yes_no_logits(
    handle: ModelHandle, model: torch.nn.Module, prompts: Sequence[PromptPair], template: PromptTemplate
) -> tuple[Tensor, Tensor]:
    """Restricted [yes, no] logits at the first answer token of the originals and of the paraphrases, from
    one forward pass over both."""
    tokens = handle.yes_no_tokens(template.answer_leading_space)
    inputs = [pair.original for pair in prompts] + [pair.paraphrase for pair in prompts]
    encoded = encode_prompts(handle, inputs, template)
    logits = model(**encoded, logits_to_keep=last_position(), use_cache=False).logits
    restricted = logits[:, -1, [tokens.primary_yes, tokens.primary_no]].float()  # (2 · pairs, 2)
    return restricted[: len(prompts)], restricted[len(prompts) :]


def train_lora(
    trainer: Trainer[PeftModel],
    handle: ModelHandle,
    pairs: Sequence[PromptPair],
    answers: Sequence[Answer],
    config: LoraTrainingConfig,
    template: PromptTemplate,
    start: int = 0,
    on_step: Callable[[int, float], None] | None = None,
) -> None:
    """Run the steps of `pair_batches` from ``start`` (the trainer's state must be that after ``start``
    steps); ``on_step(step, loss)`` after each, e.g. to log and checkpoint."""
    steps = pair_batches(len(pairs), config)
    trainer.model.train()
    bar = tqdm(range(start, len(steps)), desc="LoRA", unit="step", initial=start, total=len(steps))
    for step in bar:
        loss = lora_step(trainer, handle, pairs, answers, steps[step], config, template)
        bar.set_postfix(loss=f"{loss:.3f}")
        if on_step is not None:
            on_step(step, loss)
    trainer.model.eval()


def lora_step(
    trainer: Trainer[PeftModel],
    handle: ModelHandle,
    pairs: Sequence[PromptPair],
    answers: Sequence[Answer],
    indices: Sequence[int],
    config: LoraTrainingConfig,
    template: PromptTemplate,
) -> float:
    """One optimiser step on the pairs at ``indices``: the loss backed up micro-batch by micro-batch (each
    weighted by its share), then AdamW and the schedule; returns the step's loss."""
    trainer.optimizer.zero_grad()
    total = 0.0
    for chunk in range(0, len(indices), config.micro_batch_size):
        chosen = indices[chunk : chunk + config.micro_batch_size]
        labels = torch.tensor([YES if answers[i] == "yes" else NO for i in chosen])
        original, paraphrase = yes_no_logits(handle, trainer.model, [pairs[i] for i in chosen], template)
        loss = pair_loss(original, paraphrase, labels.to(original.device), config.ce_weight, config.objective)
        share = len(chosen) / len(indices)
        (loss * share).backward()  # type: ignore[no-untyped-call]
        total += float(loss.detach()) * share
    trainer.optimizer.step()
    trainer.schedule.step()
    return total
