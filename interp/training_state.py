"""What a resumable training run holds (model, optimiser, schedule) and its checkpoints: trainable weights,
optimiser tensors and the random state as safetensors, the rest as JSON (no pickle), both written atomically.
A run restored from a checkpoint continues with the same steps it would have taken."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Generic, TypeVar

import torch
from safetensors.torch import load_file, save_file
from torch import nn

from flipbank.atomic_folder import atomic_path

CHECKPOINT_FILE = "checkpoint.safetensors"
CHECKPOINT_STATE_FILE = "checkpoint.json"
_RNG = "rng.torch"
ModelT = TypeVar("ModelT", bound=nn.Module)


@dataclass
class Trainer(Generic[ModelT]):
    """The model being trained with its optimiser and learning-rate schedule."""

    model: ModelT
    optimizer: torch.optim.Optimizer
    schedule: torch.optim.lr_scheduler.LRScheduler


def warm_up_then_cosine(
    optimizer: torch.optim.Optimizer, warm_up_steps: int, total_steps: int
) -> torch.optim.lr_scheduler.LRScheduler:
    """Linear warm-up from 5 % over ``warm_up_steps``, then cosine decay to zero at ``total_steps``."""
    warm_up = torch.optim.lr_scheduler.LinearLR(optimizer, 0.05, 1.0, total_iters=max(warm_up_steps, 1))
    decay = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, max(total_steps - warm_up_steps, 1))
    return torch.optim.lr_scheduler.SequentialLR(optimizer, [warm_up, decay], [max(warm_up_steps, 1)])


def save_checkpoint(trainer: Trainer[ModelT], folder: Path, losses: list[float]) -> None:
    """Write the trainable weights, the optimiser, the schedule, the losses so far and the torch random state
    (dropout) into ``folder``."""
    tensors = {
        f"model.{n}": p.detach().contiguous() for n, p in trainer.model.named_parameters() if p.requires_grad
    }
    optimizer = trainer.optimizer.state_dict()
    for index, values in optimizer["state"].items():
        tensors |= {f"optimizer.{index}.{name}": value.contiguous() for name, value in values.items()}
    tensors[_RNG] = torch.get_rng_state()
    state = {
        "losses": losses,
        "param_groups": optimizer["param_groups"],
        "schedule": trainer.schedule.state_dict(),
    }
    folder.mkdir(parents=True, exist_ok=True)
    with atomic_path(folder / CHECKPOINT_FILE) as temporary:
        save_file(tensors, str(temporary))
    with atomic_path(folder / CHECKPOINT_STATE_FILE) as temporary:
        temporary.write_text(json.dumps(state))


def restore_checkpoint(trainer: Trainer[ModelT], folder: Path, losses: list[float]) -> int:
    """Load the checkpoint in ``folder`` (if any) into ``trainer`` and ``losses``; returns the number of
    steps it covers (0 without a checkpoint)."""
    if not (folder / CHECKPOINT_FILE).exists() or not (folder / CHECKPOINT_STATE_FILE).exists():
        return 0
    tensors = load_file(str(folder / CHECKPOINT_FILE))
    state = json.loads((folder / CHECKPOINT_STATE_FILE).read_text())
    weights = {k.removeprefix("model."): v for k, v in tensors.items() if k.startswith("model.")}
    trainer.model.load_state_dict(weights, strict=False)
    optimizer_state: dict[int, dict[str, torch.Tensor]] = {}
    for key, tensor in tensors.items():
        if key.startswith("optimizer."):
            _, index, name = key.split(".", 2)
            optimizer_state.setdefault(int(index), {})[name] = tensor
    trainer.optimizer.load_state_dict({"state": optimizer_state, "param_groups": state["param_groups"]})
    trainer.schedule.load_state_dict(state["schedule"])
    if _RNG in tensors:
        torch.set_rng_state(tensors[_RNG])
    losses[:] = list(state["losses"])
    return len(losses)


def remove_checkpoint(folder: Path) -> None:
    """Delete the checkpoint of a finished run (its results are saved elsewhere)."""
    for name in (CHECKPOINT_FILE, CHECKPOINT_STATE_FILE):
        (folder / name).unlink(missing_ok=True)
