"""Stage 1 of the demo VLM's training: the SigLIP vision tower learns the drawn findings as a multi-label
classifier read from the image soft tokens, and the projector starts by mapping each token onto the words of
the findings it reads out (`initialise_projector`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from jaxtyping import Float
from torch import Tensor, nn
from tqdm.auto import tqdm

from flipbank.radiographs import DRAWABLE_FINDINGS


@dataclass(frozen=True)
class VisionPretrainConfig:
    """How long and how fast the vision tower is pre-trained."""

    steps: int = 300
    batch_size: int = 32
    lr: float = 1e-3
    seed: int = 0


def finding_targets(findings: Sequence[frozenset[str]]) -> Float[Tensor, "image finding"]:
    """One 0/1 column per drawable finding."""
    return torch.tensor([[float(f in drawn) for f in DRAWABLE_FINDINGS] for drawn in findings])


def soft_token_states(tower: nn.Module, projector: nn.Module, pixels: Tensor) -> Tensor:
    """The image soft tokens before the projection matrix: patch states average-pooled and RMS-normed as
    Gemma 3's projector does, shape (image, token, vision hidden)."""
    states = tower(pixel_values=pixels).last_hidden_state  # (image, patch, hidden)
    side = int(states.shape[1] ** 0.5)
    grid = states.transpose(1, 2).reshape(states.shape[0], states.shape[2], side, side)
    pooled = getattr(projector, "avg_pool")(grid).flatten(2).transpose(1, 2)  # noqa: B009
    return getattr(projector, "mm_soft_emb_norm")(pooled)  # type: ignore[no-any-return]  # noqa: B009


def pretrain_vision_tower(
    tower: nn.Module,
    projector: nn.Module,
    pixels: Float[Tensor, "image 3 height width"],
    targets: Float[Tensor, "image finding"],
    config: VisionPretrainConfig,
    progress: bool = True,
) -> tuple[Float[Tensor, "finding hidden"], list[float]]:
    """Train ``tower`` (and the projector's norm) in place so that its soft tokens tell the drawn findings:
    one linear read-out without bias applied to each token, pooled by `image_logits`, binary cross-entropy
    against the picture's findings. Returns the read-out's weights and the loss of every step
    (batches seeded)."""
    generator = torch.Generator().manual_seed(config.seed)
    hidden = int(getattr(tower.config, "hidden_size"))  # noqa: B009 (a transformers config)
    head = nn.Linear(hidden, targets.shape[1], bias=False)
    parameters = [
        *tower.parameters(),
        *projector.get_submodule("mm_soft_emb_norm").parameters(),
        *head.parameters(),
    ]
    optimizer = torch.optim.AdamW(parameters, lr=config.lr, weight_decay=0.01)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, config.lr, total_steps=config.steps)
    tower.train()
    losses = []
    for _ in tqdm(range(config.steps), desc="vision tower", unit="step", disable=not progress):
        batch = torch.randint(len(pixels), (config.batch_size,), generator=generator)
        logits = head(soft_token_states(tower, projector, pixels[batch]))  # (batch, token, finding)
        loss = nn.functional.binary_cross_entropy_with_logits(image_logits(logits), targets[batch])
        optimizer.zero_grad()
        loss.backward()  # type: ignore[no-untyped-call]
        optimizer.step()
        schedule.step()
        losses.append(float(loss.detach()))
    tower.eval()
    return head.weight.detach(), losses


def image_logits(token_logits: Float[Tensor, "image token finding"]) -> Float[Tensor, "image finding"]:
    """A picture's finding logits: the mean of its tokens', so that every token learns to tell every finding
    (a smooth maximum over tokens learned the small findings more slowly in a 300-step trial)."""
    return token_logits.mean(dim=1)


def finding_directions(
    embeddings: Float[Tensor, "vocab d_model"], token_ids: list[list[int]], scale: float
) -> Float[Tensor, "finding d_model"]:
    """One direction per finding in the language model's input space: the mean embedding of its name's
    tokens, times ``scale`` (Gemma multiplies input embeddings by sqrt(d_model))."""
    return torch.stack([embeddings[ids].mean(dim=0) for ids in token_ids]) * scale


def initialise_projector(
    projector: nn.Module,
    read_out: Float[Tensor, "finding hidden"],
    directions: Float[Tensor, "finding d_model"],
) -> None:
    """Start the projection so that a soft token lands on the words of the findings it reads out: a token
    whose read-out says "effusion" carries the embedding of "pleural effusion" (the language model then
    matches the question's words against the picture's instead of learning an arbitrary code)."""
    with torch.no_grad():
        weight = getattr(projector, "mm_input_projection_weight")  # noqa: B009
        weight.copy_(read_out.T @ directions / read_out.shape[0])
