"""Stage 1 of the demo VLM's training: the SigLIP vision tower and the projector learn to put each drawn
finding's *words* on the image soft tokens that cover its box. A soft token whose cell shows an effusion
carries the input embedding of " pleural effusion"; a cell that shows nothing carries the zero vector. The
language model then only has to match the question's words against words in the picture (a duplicate-token
look-up it half knows), and attention to the image tokens is attention to where the findings are.

>>> cells = token_cells(side=7, image_size=224)
>>> cells[0], cells[8]
((0, 0, 32, 32), (32, 32, 64, 64))
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from jaxtyping import Float
from torch import Tensor, nn
from tqdm.auto import tqdm

from flipbank.radiographs import DRAWABLE_FINDINGS, Box, FindingBox

FINDING_CELL_WEIGHT = 10.0
"""How much more a token showing a finding counts in the loss than an empty one (findings cover few cells)."""


@dataclass(frozen=True)
class VisionPretrainConfig:
    """How long and how fast the vision tower and projector are pre-trained."""

    steps: int = 300
    batch_size: int = 32
    lr: float = 1e-3
    seed: int = 0


def token_cells(side: int, image_size: int) -> list[Box]:
    """The pixel box of each soft token, row by row (Gemma 3 pools the patch grid into side × side cells)."""
    step = image_size // side
    return [
        (col * step, row * step, (col + 1) * step, (row + 1) * step)
        for row in range(side)
        for col in range(side)
    ]


def _overlaps(a: Box, b: Box) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def word_targets(
    boxes: Sequence[Sequence[FindingBox]],
    directions: Float[Tensor, "finding d_model"],
    side: int,
    image_size: int,
) -> Float[Tensor, "image token d_model"]:
    """Each picture's target soft tokens: the sum of the directions of the findings whose box overlaps the
    token's cell (`DRAWABLE_FINDINGS` order), zero where none does."""
    cells = token_cells(side, image_size)
    targets = torch.zeros(len(boxes), len(cells), directions.shape[1])
    for image, drawn in enumerate(boxes):
        for finding_box in drawn:
            direction = directions[DRAWABLE_FINDINGS.index(finding_box.finding)]
            for token, cell in enumerate(cells):
                if _overlaps(cell, finding_box.box):
                    targets[image, token] += direction
    return targets


def soft_tokens(
    tower: nn.Module, projector: nn.Module, pixels: Tensor
) -> Float[Tensor, "image token d_model"]:
    """The image soft tokens as the language model receives them: patch states average-pooled, RMS-normed
    and projected, as Gemma 3's projector does."""
    states = tower(pixel_values=pixels).last_hidden_state  # (image, patch, hidden)
    return projector(states)  # type: ignore[no-any-return]


def word_loss(
    predicted: Float[Tensor, "image token d_model"],
    targets: Float[Tensor, "image token d_model"],
    readout: Float[Tensor, "d_model finding"],
) -> Tensor:
    """Squared error per token in two spaces, summed: the embedding space (relative to the targets' mean
    squared norm) and the finding coefficients that `finding_scores` reads through ``readout``
    (`coefficient_readout`), where every finding counts alike however close its words lie to the others'
    (" lung lesion" shares most of its direction with the rest, so the first term alone barely teaches it).
    Tokens that show a finding are weighted by `FINDING_CELL_WEIGHT`."""
    shown = targets.norm(dim=-1) > 0  # (image, token)
    weight = 1.0 + (FINDING_CELL_WEIGHT - 1.0) * shown.float()
    scale = targets[shown].pow(2).sum(-1).mean() if shown.any() else targets.new_tensor(1.0)
    difference = predicted - targets
    errors = difference.pow(2).sum(-1) / scale + (difference @ readout).pow(2).sum(-1)  # (image, token)
    return (weight * errors).sum() / weight.sum()


def pretrain_vision(
    tower: nn.Module,
    projector: nn.Module,
    pixels: Float[Tensor, "image 3 height width"],
    targets: Float[Tensor, "image token d_model"],
    directions: Float[Tensor, "finding d_model"],
    config: VisionPretrainConfig,
    progress: bool = True,
) -> list[float]:
    """Train ``tower`` and ``projector`` in place on `word_loss` towards ``targets`` built from ``directions``
    (batches seeded); returns every step's loss."""
    readout = coefficient_readout(directions)
    generator = torch.Generator().manual_seed(config.seed)
    parameters = [*tower.parameters(), *projector.parameters()]
    optimizer = torch.optim.AdamW(parameters, lr=config.lr, weight_decay=0.01)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, config.lr, total_steps=config.steps)
    tower.train()
    losses = []
    for _ in tqdm(range(config.steps), desc="vision tower", unit="step", disable=not progress):
        batch = torch.randint(len(pixels), (config.batch_size,), generator=generator)
        loss = word_loss(soft_tokens(tower, projector, pixels[batch]), targets[batch], readout)
        optimizer.zero_grad()
        loss.backward()  # type: ignore[no-untyped-call]
        optimizer.step()
        schedule.step()
        losses.append(float(loss.detach()))
    tower.eval()
    return losses


def finding_scores(
    tokens: Float[Tensor, "image token d_model"], directions: Float[Tensor, "finding d_model"]
) -> Float[Tensor, "image finding"]:
    """How strongly a picture shows each finding: the largest least-squares coefficient of its direction
    over the tokens (1 on a token that carries exactly the finding's words, 0 elsewhere; the directions are
    far from orthogonal, so a plain projection would mix them)."""
    coefficients = tokens @ coefficient_readout(directions)  # (image, token, finding)
    return coefficients.amax(dim=1)


def coefficient_readout(directions: Float[Tensor, "finding d_model"]) -> Float[Tensor, "d_model finding"]:
    """The map from a token to its least-squares coefficients on ``directions`` (their pseudo-inverse)."""
    return torch.linalg.pinv(directions)


def finding_directions(
    embeddings: Float[Tensor, "vocab d_model"], token_ids: list[list[int]], scale: float
) -> Float[Tensor, "finding d_model"]:
    """One direction per finding in the language model's input space: the mean embedding of its name's
    tokens, times ``scale`` (Gemma multiplies input embeddings by sqrt(d_model))."""
    return torch.stack([embeddings[ids].mean(dim=0) for ids in token_ids]) * scale
