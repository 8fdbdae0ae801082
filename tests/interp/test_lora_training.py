"""LoRA training on the tiny model: only the chosen language-model layers are adapted, the objective pulls
paraphrase margins together, micro-batches add up to the batch, and an interrupted run resumes to the
same weights (dropout's random state included)."""

from dataclasses import replace
from pathlib import Path

import pytest
import torch

from flipbank.images import blank_image
from flipbank.records import Answer
from interp.forward import score_prompts
from interp.handle import ModelHandle
from interp.loading import load_model
from interp.lora_training import LoraTrainingConfig, lora_trainer, pair_batches, train_lora
from interp.prompt_pair import PromptPair
from interp.prompts import CHAT_TEMPLATE, PromptInput
from interp.training_state import restore_checkpoint, save_checkpoint

QUESTIONS = [
    ("Is there a pleural effusion?", "Is fluid seen around the lung?"),
    ("Is the heart enlarged?", "Is there cardiomegaly?"),
    ("Is there a pneumothorax?", "Is air present in the pleural space?"),
    ("Is a nodule visible?", "Can a lung lesion be seen?"),
]
ANSWERS: list[Answer] = ["yes", "no", "yes", "no"]
FAST = LoraTrainingConfig(
    layers=(1, 2), rank=4, lr=5e-3, warm_up_steps=1, batch_size=4, micro_batch_size=4, epochs=2
)


def _tiny() -> ModelHandle:
    return load_model("tiny-mm", device="cpu", dtype="float32")


def _pairs() -> list[PromptPair]:
    picture = blank_image()
    return [PromptPair(PromptInput(o, picture), PromptInput(p, picture)) for o, p in QUESTIONS]


def _train(config: LoraTrainingConfig) -> dict[str, torch.Tensor]:
    handle = _tiny()
    trainer = lora_trainer(handle, config, len(pair_batches(len(QUESTIONS), config)))
    train_lora(trainer, handle, _pairs(), ANSWERS, config, CHAT_TEMPLATE)
    return {n: p.detach().clone() for n, p in trainer.model.named_parameters() if p.requires_grad}


def _gaps(handle: ModelHandle) -> torch.Tensor:
    prompts = [prompt for pair in _pairs() for prompt in (pair.original, pair.paraphrase)]
    margins = torch.tensor([s.margin for s in score_prompts(handle, prompts, CHAT_TEMPLATE, progress=False)])
    return (margins[0::2] - margins[1::2]).abs()


def test_only_the_chosen_language_model_layers_are_adapted() -> None:
    handle = _tiny()
    trainer = lora_trainer(handle, FAST, total_steps=1)
    names = [n for n, p in trainer.model.named_parameters() if p.requires_grad]
    assert names and all("lora_" in n and "vision_tower" not in n for n in names)
    assert {int(n.split("layers.")[1].split(".")[0]) for n in names} == {1, 2}
    assert len(names) == 2 * 2 * 7  # A and B for seven modules on two layers


def test_consistency_training_pulls_the_paraphrase_margins_together() -> None:
    config = replace(FAST, ce_weight=0.0, dropout=0.0, epochs=15)
    handle = _tiny()
    before = _gaps(handle)
    trainer = lora_trainer(handle, config, len(pair_batches(len(QUESTIONS), config)))
    train_lora(trainer, handle, _pairs(), ANSWERS, config, CHAT_TEMPLATE)
    after = _gaps(handle)  # the handle's model now carries the adapter
    assert float(after.mean()) < 0.5 * float(before.mean())


def test_micro_batches_add_up_to_the_batch() -> None:
    whole = _train(replace(FAST, dropout=0.0, epochs=1))
    halves = _train(replace(FAST, dropout=0.0, epochs=1, micro_batch_size=2))
    for name, tensor in whole.items():
        torch.testing.assert_close(halves[name], tensor, atol=1e-5, rtol=1e-4)


class InterruptedRunError(Exception):
    pass


def test_an_interrupted_run_resumes_to_the_same_weights(tmp_path: Path) -> None:
    config = replace(FAST, batch_size=2, micro_batch_size=2, epochs=2)  # four steps, dropout 0.05
    straight = _train(config)
    handle = _tiny()
    steps = len(pair_batches(len(QUESTIONS), config))
    trainer = lora_trainer(handle, config, steps)
    losses: list[float] = []

    def stop_after_two(step: int, loss: float) -> None:
        losses.append(loss)
        if step == 1:
            save_checkpoint(trainer, tmp_path, losses)
            raise InterruptedRunError

    with pytest.raises(InterruptedRunError):
        train_lora(trainer, handle, _pairs(), ANSWERS, config, CHAT_TEMPLATE, on_step=stop_after_two)
    torch.manual_seed(1234)  # a fresh process would not share the interrupted run's random state
    handle = _tiny()
    trainer = lora_trainer(handle, config, steps)
    restored: list[float] = []
    start = restore_checkpoint(trainer, tmp_path, restored)
    assert start == 2 and restored == losses
    train_lora(trainer, handle, _pairs(), ANSWERS, config, CHAT_TEMPLATE, start=start)
    resumed = {n: p.detach() for n, p in trainer.model.named_parameters() if p.requires_grad}
    for name, tensor in straight.items():
        torch.testing.assert_close(resumed[name], tensor, atol=1e-6, rtol=1e-5)


def test_the_batch_size_must_split_into_micro_batches() -> None:
    with pytest.raises(ValueError, match=r"batch_size \(8\) must be a multiple of micro_batch_size \(3\)"):
        LoraTrainingConfig(micro_batch_size=3)
