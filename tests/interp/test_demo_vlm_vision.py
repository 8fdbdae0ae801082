"""Stage 1's loss and read-out, against hand-computed values."""

from __future__ import annotations

import pytest
import torch

from flipbank.radiographs import FindingBox
from interp.demo_vlm_vision import (
    FINDING_CELL_WEIGHT,
    coefficient_readout,
    finding_scores,
    word_loss,
    word_targets,
)


def _directions() -> torch.Tensor:
    """Three far-from-orthogonal directions in four dimensions: the third is mostly the first two."""
    return torch.tensor(
        [[1.0, 0.0, 0.0, 0.0], [0.0, 1.0, 0.0, 0.0], [0.7, 0.7, 0.1, 0.0]], dtype=torch.float64
    )


def test_readout_recovers_each_findings_coefficient() -> None:
    directions = _directions()
    tokens = torch.tensor([[[0.0, 0.0, 0.0, 0.0]], [[0.0, 0.0, 0.0, 0.0]]], dtype=torch.float64)
    tokens[0, 0] = directions[2]
    tokens[1, 0] = 2.0 * directions[0] + directions[1]
    coefficients = tokens @ coefficient_readout(directions)
    assert coefficients[0, 0].tolist() == pytest.approx([0.0, 0.0, 1.0], abs=1e-9)
    assert coefficients[1, 0].tolist() == pytest.approx([2.0, 1.0, 0.0], abs=1e-9)
    assert finding_scores(tokens, directions)[0].tolist() == pytest.approx([0.0, 0.0, 1.0], abs=1e-9)


def test_word_loss_is_zero_on_target() -> None:
    directions = _directions()
    targets = torch.zeros(1, 2, 4, dtype=torch.float64)
    targets[0, 0] = directions[2]
    loss = word_loss(targets.clone(), targets, coefficient_readout(directions))
    assert float(loss) == pytest.approx(0.0, abs=1e-12)


def test_word_loss_counts_a_missed_finding_once_in_each_space() -> None:
    """A token that should carry finding 2 but carries nothing: the embedding term is |d2|^2 / |d2|^2 = 1,
    the coefficient term 1 (the missing coefficient); only that token has weight, so the loss is 2 times
    its share of the weight."""
    directions = _directions()
    targets = torch.zeros(1, 2, 4, dtype=torch.float64)
    targets[0, 0] = directions[2]
    predicted = torch.zeros_like(targets)
    loss = word_loss(predicted, targets, coefficient_readout(directions))
    assert float(loss) == pytest.approx(2.0 * FINDING_CELL_WEIGHT / (FINDING_CELL_WEIGHT + 1.0))


def test_coefficient_term_weighs_a_near_duplicate_finding_up() -> None:
    """Mistaking finding 2 for its near neighbour 0.7 d0 + 0.7 d1 costs little in the embedding space and a
    whole coefficient in the finding space."""
    directions = _directions()
    targets = torch.zeros(1, 1, 4, dtype=torch.float64)
    targets[0, 0] = directions[2]
    predicted = (0.7 * directions[0] + 0.7 * directions[1]).reshape(1, 1, 4)
    embedding_only = float((predicted - targets).pow(2).sum() / targets.pow(2).sum())
    loss = float(word_loss(predicted, targets, coefficient_readout(directions)))
    assert embedding_only < 0.02
    assert loss == pytest.approx(embedding_only + 1.0 + 0.7**2 + 0.7**2)


def test_word_targets_put_a_direction_on_every_cell_its_box_touches() -> None:
    directions = _directions()
    boxes = [[FindingBox("cardiomegaly", (30, 0, 40, 10))]]  # cells 0 and 1 of a 7 x 7 grid on 224 pixels
    targets = word_targets(boxes, directions.float(), side=7, image_size=224)
    shown = targets.norm(dim=-1) > 0
    assert shown[0].nonzero().flatten().tolist() == [0, 1]
    assert torch.equal(targets[0, 0], directions[0].float())
