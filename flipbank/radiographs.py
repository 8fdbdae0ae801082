"""Synthetic chest radiographs with ground truth: a seeded 224×224 grayscale picture of a chest (body, lungs
with vessel markings, ribs, heart, diaphragm) on which findings are drawn where their boxes say.

>>> picture = render_radiograph(frozenset({"lung lesion"}), seed=3)
>>> picture.image.size, [box.finding for box in picture.boxes]
((224, 224), ['lung lesion'])
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from PIL import Image

SIZE = 224
Canvas = NDArray[np.float64]
Box = tuple[int, int, int, int]
"""(left, top, right, bottom) in pixels, right and bottom exclusive."""

#: The findings a picture can show, in drawing order (later ones lie on top).
DRAWABLE_FINDINGS = (
    "cardiomegaly",
    "enlarged cardiomediastinum",
    "edema",
    "consolidation",
    "atelectasis",
    "lung lesion",
    "pleural effusion",
    "pneumothorax",
    "support devices",
)


@dataclass(frozen=True)
class FindingBox:
    """Where a drawn finding lies."""

    finding: str
    box: Box


@dataclass(frozen=True)
class Radiograph:
    """A rendered picture (RGB, three equal channels) and the boxes of the findings drawn on it."""

    image: Image.Image
    boxes: tuple[FindingBox, ...]


@dataclass(frozen=True)
class Anatomy:
    """A patient's seeded geometry, as fractions of the picture: lung centres and half-axes, heart."""

    lung_centres: tuple[float, float]
    lung_row: float
    lung_half_width: float
    lung_half_height: float
    heart_row: float
    heart_column: float

    @staticmethod
    def draw(rng: np.random.Generator) -> Anatomy:
        spread = rng.uniform(0.19, 0.22)
        return Anatomy(
            lung_centres=(0.5 - spread, 0.5 + spread),
            lung_row=rng.uniform(0.45, 0.5),
            lung_half_width=rng.uniform(0.14, 0.16),
            lung_half_height=rng.uniform(0.28, 0.32),
            heart_row=rng.uniform(0.58, 0.62),
            heart_column=rng.uniform(0.53, 0.56),
        )

    def lung_box(self, side: int) -> Box:
        """The box of the left (0) or right (1) lung field in pixels."""
        centre = self.lung_centres[side]
        return _box(
            centre - self.lung_half_width,
            self.lung_row - self.lung_half_height,
            centre + self.lung_half_width,
            self.lung_row + self.lung_half_height,
        )


_ROWS, _COLUMNS = np.mgrid[0:SIZE, 0:SIZE] / (SIZE - 1)


def _box(left: float, top: float, right: float, bottom: float) -> Box:
    clip = lambda value: int(np.clip(round(value * SIZE), 0, SIZE))  # noqa: E731
    return clip(left), clip(top), clip(right), clip(bottom)


def _ellipse(row: float, column: float, half_height: float, half_width: float) -> Canvas:
    return ((_ROWS - row) / half_height) ** 2 + ((_COLUMNS - column) / half_width) ** 2


def _soft(inside: Canvas, sharpness: float = 3.0) -> Canvas:
    """1 inside an ellipse distance < 1, falling smoothly to 0 outside."""
    return np.asarray(np.exp(-(inside**sharpness)))


def lung_mask(anatomy: Anatomy) -> Canvas:
    """Both lung fields, soft-edged."""
    fields = [
        _soft(_ellipse(anatomy.lung_row, centre, anatomy.lung_half_height, anatomy.lung_half_width))
        for centre in anatomy.lung_centres
    ]
    return np.maximum(fields[0], fields[1])


def _markings(anatomy: Anatomy, rng: np.random.Generator) -> Canvas:
    """Vessel markings: faint lines fanning out of each hilum, fading toward the periphery."""
    canvas = np.zeros((SIZE, SIZE))
    for side, centre in enumerate(anatomy.lung_centres):
        hilum = (anatomy.lung_row, centre + (0.07 if side == 0 else -0.07))
        for angle in rng.uniform(0, 2 * np.pi, size=14):
            length = rng.uniform(0.1, 0.25)
            for step in np.linspace(0.02, length, 40):
                row = hilum[0] + step * np.sin(angle)
                column = hilum[1] + step * np.cos(angle) * 0.8
                r, c = int(row * (SIZE - 1)), int(column * (SIZE - 1))
                if 0 <= r < SIZE and 0 <= c < SIZE:
                    canvas[r, c] += 18.0 * (1 - step / length)
    return canvas * lung_mask(anatomy)


def _base(anatomy: Anatomy, rng: np.random.Generator) -> Canvas:
    body = _soft(_ellipse(0.55, 0.5, 0.55, 0.46), 4.0)
    picture = 25.0 + 135.0 * body + 15.0 * _ROWS
    picture += 25.0 * _soft(_ellipse(0.5, 0.5, 0.6, 0.03), 4.0)  # spine
    picture -= 95.0 * lung_mask(anatomy)
    for rib in np.linspace(0.22, 0.72, 7):  # ribs: gentle arcs over the lungs
        arc = np.abs(_ROWS - rib - 0.12 * (_COLUMNS - 0.5) ** 2 * 4) < 0.012
        picture += 14.0 * arc * lung_mask(anatomy)
    dome = anatomy.lung_row + anatomy.lung_half_height * 0.92 - 0.05 * np.cos((_COLUMNS - 0.5) * 6) < _ROWS
    picture += 50.0 * dome * body
    return np.asarray(picture)


def _heart(picture: Canvas, anatomy: Anatomy, enlarged: bool) -> Box:
    half_width = 0.21 if enlarged else 0.13
    half_height = 0.13 if enlarged else 0.1
    column = anatomy.heart_column + (0.02 if enlarged else 0.0)
    picture += 70.0 * _soft(_ellipse(anatomy.heart_row, column, half_height, half_width))
    return _box(
        column - half_width,
        anatomy.heart_row - half_height,
        column + half_width,
        anatomy.heart_row + half_height,
    )


def _mediastinum(picture: Canvas, anatomy: Anatomy, widened: bool) -> Box:
    half_width = 0.13 if widened else 0.06
    picture += 55.0 * _soft(_ellipse(0.38, 0.5, 0.18, half_width))
    return _box(0.5 - half_width, 0.2, 0.5 + half_width, 0.56)


def _point_in_lung(
    anatomy: Anatomy, side: int, rng: np.random.Generator, reach: float = 0.6
) -> tuple[float, float]:
    angle, radius = rng.uniform(0, 2 * np.pi), reach * np.sqrt(rng.uniform(0, 1))
    row = anatomy.lung_row + radius * anatomy.lung_half_height * np.sin(angle)
    column = anatomy.lung_centres[side] + radius * anatomy.lung_half_width * np.cos(angle)
    return float(row), float(column)


def _around(row: float, column: float, half_height: float, half_width: float) -> Box:
    return _box(column - half_width, row - half_height, column + half_width, row + half_height)


def _consolidation(picture: Canvas, anatomy: Anatomy, rng: np.random.Generator) -> Box:
    row, column = _point_in_lung(anatomy, int(rng.integers(2)), rng, reach=0.45)
    patch = np.zeros((SIZE, SIZE))
    for _ in range(6):
        d_row, d_column = rng.uniform(-0.045, 0.045, size=2)
        spread = rng.uniform(0.025, 0.04)
        patch += np.exp(-((_ROWS - row - d_row) ** 2 + (_COLUMNS - column - d_column) ** 2) / (2 * spread**2))
    texture = 1.0 + 0.3 * rng.standard_normal((SIZE, SIZE))
    picture += 100.0 * np.minimum(patch, 1.0) * texture
    return _around(row, column, 0.09, 0.09)


def _edema(picture: Canvas, anatomy: Anatomy, rng: np.random.Generator) -> Box:
    strength = rng.uniform(60.0, 75.0)
    for side, centre in enumerate(anatomy.lung_centres):
        hilum = centre + (0.06 if side == 0 else -0.06)
        picture += strength * np.exp(
            -(((_ROWS - anatomy.lung_row) / 0.11) ** 2 + ((_COLUMNS - hilum) / 0.08) ** 2)
        )
    left, right = anatomy.lung_centres
    return _box(left - 0.1, anatomy.lung_row - 0.18, right + 0.1, anatomy.lung_row + 0.18)


def _atelectasis(picture: Canvas, anatomy: Anatomy, rng: np.random.Generator) -> Box:
    side = int(rng.integers(2))
    row = anatomy.lung_row + anatomy.lung_half_height * rng.uniform(0.35, 0.6)
    column, slope = anatomy.lung_centres[side], rng.uniform(-0.25, 0.25)
    band = np.abs(_ROWS - row - slope * (_COLUMNS - column)) < 0.025
    along = np.abs(_COLUMNS - column) < 0.11
    picture += 100.0 * band * along
    return _around(row, column, 0.05, 0.12)


def _lesion(picture: Canvas, anatomy: Anatomy, rng: np.random.Generator) -> Box:
    row, column = _point_in_lung(anatomy, int(rng.integers(2)), rng)
    radius = rng.uniform(0.045, 0.06)
    picture += 110.0 * _soft(_ellipse(row, column, radius, radius), 4.0)
    return _around(row, column, radius * 1.3, radius * 1.3)


def _effusion(picture: Canvas, anatomy: Anatomy, rng: np.random.Generator) -> Box:
    side = int(rng.integers(2))
    centre = anatomy.lung_centres[side]
    level = anatomy.lung_row + anatomy.lung_half_height * rng.uniform(0.25, 0.55)
    lateral = np.abs(_COLUMNS - centre) / anatomy.lung_half_width
    meniscus = level - 0.05 * lateral < _ROWS  # fluid climbs the lateral wall
    field = _soft(_ellipse(anatomy.lung_row, centre, anatomy.lung_half_height, anatomy.lung_half_width * 1.1))
    picture += 90.0 * meniscus * field
    half = anatomy.lung_half_width * 1.1
    return _box(centre - half, level - 0.05, centre + half, anatomy.lung_row + anatomy.lung_half_height)


def pneumothorax_region(anatomy: Anatomy, side: int, collapse: float) -> Canvas:
    """The part of a lung field outside the collapsed lung (shrunk toward the hilum by ``collapse``)."""
    centre = anatomy.lung_centres[side]
    hilum = centre + (0.05 if side == 0 else -0.05)
    field = _ellipse(anatomy.lung_row, centre, anatomy.lung_half_height, anatomy.lung_half_width) < 1.0
    lung = _ellipse(
        anatomy.lung_row + 0.04,
        hilum,
        anatomy.lung_half_height * collapse,
        anatomy.lung_half_width * collapse,
    )
    return np.asarray(field & (lung > 1.0), dtype=np.float64)


def _pneumothorax(picture: Canvas, anatomy: Anatomy, rng: np.random.Generator, markings: Canvas) -> Box:
    side, collapse = int(rng.integers(2)), rng.uniform(0.5, 0.7)
    region = pneumothorax_region(anatomy, side, collapse)
    edge = pneumothorax_region(anatomy, side, collapse * 1.06) - region
    markings *= 1.0 - region  # no lung markings beyond the pleural line
    picture += 90.0 * np.clip(-edge, 0.0, 1.0) - 45.0 * region
    return anatomy.lung_box(side)


def _support_devices(picture: Canvas, anatomy: Anatomy, rng: np.random.Generator) -> Box:
    column, tip = 0.5 + rng.uniform(-0.015, 0.015), rng.uniform(0.3, 0.38)
    picture += 120.0 * ((np.abs(_COLUMNS - column) < 0.006) & (tip > _ROWS))  # endotracheal tube
    box = [column - 0.02, 0.0, column + 0.02, tip]
    if rng.uniform() < 0.5:  # a pacemaker generator with its lead
        row, left = rng.uniform(0.14, 0.2), rng.uniform(0.62, 0.7)
        picture += 140.0 * ((np.abs(_ROWS - row) < 0.025) & (np.abs(_COLUMNS - left) < 0.035))
        lead = np.abs(_COLUMNS - left + (_ROWS - row) * 0.4) < 0.005
        picture += 100.0 * (lead & (row < _ROWS) & (anatomy.heart_row > _ROWS))
        box = [min(box[0], left - 0.14), 0.0, max(box[2], left + 0.04), max(tip, anatomy.heart_row)]
    return _box(*box)


_DRAWERS: dict[str, Callable[[Canvas, Anatomy, np.random.Generator], Box]] = {
    "edema": _edema,
    "consolidation": _consolidation,
    "atelectasis": _atelectasis,
    "lung lesion": _lesion,
    "pleural effusion": _effusion,
    "support devices": _support_devices,
}


def render_radiograph(findings: frozenset[str], seed: int) -> Radiograph:
    """The picture of ``findings`` (names from `DRAWABLE_FINDINGS`) on a chest drawn from ``seed``; the same
    arguments give the same pixels on every machine."""
    unknown = sorted(findings - set(DRAWABLE_FINDINGS))
    if unknown:
        raise ValueError(f"cannot draw {unknown}; drawable findings are {list(DRAWABLE_FINDINGS)}")
    rng = np.random.default_rng(seed)
    anatomy = Anatomy.draw(rng)
    picture, markings = _base(anatomy, rng), _markings(anatomy, rng)
    boxes = []
    heart = _heart(picture, anatomy, "cardiomegaly" in findings)
    mediastinum = _mediastinum(picture, anatomy, "enlarged cardiomediastinum" in findings)
    for finding in DRAWABLE_FINDINGS:
        if finding not in findings:
            continue
        if finding == "cardiomegaly":
            box = heart
        elif finding == "enlarged cardiomediastinum":
            box = mediastinum
        elif finding == "pneumothorax":
            box = _pneumothorax(picture, anatomy, rng, markings)
        else:
            box = _DRAWERS[finding](picture, anatomy, rng)
        boxes.append(FindingBox(finding, box))
    noise = np.random.default_rng([seed, 1]).normal(0.0, 6.0, size=(SIZE, SIZE))  # the same whatever is drawn
    picture += markings + noise
    gray = np.clip(np.rint(picture), 0, 255).astype(np.uint8)
    return Radiograph(Image.fromarray(np.stack([gray] * 3, axis=-1)), tuple(boxes))
