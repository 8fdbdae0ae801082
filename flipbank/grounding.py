"""Where the model looks, scored against a finding's box (PSF-Med Table 4), pure: a heat map over the image
(attention from the query positions to the image tokens, upsampled to pixels) is thresholded at a percentile
into a region A; with the box B: coverage |A∩B| / |B|, precision |A∩B| / |A|, the share of the map's mass
inside B, and the pointing game (is the map's maximum inside B).

>>> heat = np.arange(16.0).reshape(4, 4)  # the two largest values, 14 and 15, lie in the bottom-right box
>>> scores = grounding_scores(heat, (2, 2, 4, 4), percentile=90)
>>> scores.coverage, scores.precision, round(scores.mass_in_box, 3), scores.pointing_hit
(0.5, 1.0, 0.417, True)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

Box = tuple[int, int, int, int]
"""(left, top, right, bottom) in pixels, right and bottom exclusive."""
DEFAULT_PERCENTILE = 90.0


@dataclass(frozen=True)
class GroundingScores:
    """How a heat map covers one box."""

    coverage: float
    precision: float
    mass_in_box: float
    pointing_hit: bool


def box_mask(shape: tuple[int, int], box: Box) -> NDArray[np.bool_]:
    """The pixels of ``box`` (clipped to the image) in an image of ``shape`` (height, width)."""
    left, top, right, bottom = box
    mask = np.zeros(shape, dtype=bool)
    mask[max(top, 0) : min(bottom, shape[0]), max(left, 0) : min(right, shape[1])] = True
    return mask


def grounding_scores(
    heat: NDArray[np.float64], box: Box, percentile: float = DEFAULT_PERCENTILE
) -> GroundingScores:
    """Score ``heat`` (height × width, non-negative) against ``box``; A is every pixel at or above the
    ``percentile``-th percentile of the map (ties at the threshold included)."""
    values = np.asarray(heat, dtype=np.float64)
    if values.ndim != 2 or not np.isfinite(values).all() or (values < 0).any():
        raise ValueError("the heat map must be a finite, non-negative height × width array")
    inside = box_mask(values.shape, box)  # B
    if not inside.any():
        raise ValueError(f"box {box} lies outside the {values.shape[1]}×{values.shape[0]} image")
    region = values >= np.percentile(values, percentile)  # A
    overlap = float((region & inside).sum())
    total = float(values.sum())
    peak = np.unravel_index(int(np.argmax(values)), values.shape)
    return GroundingScores(
        coverage=overlap / float(inside.sum()),
        precision=overlap / float(region.sum()),
        mass_in_box=float(values[inside].sum()) / total if total > 0 else float("nan"),
        pointing_hit=bool(inside[peak]),
    )
