"""The synthetic images of the demo bank: which demo questions share an image (with answers that
agree clinically), and deterministic rendering of 224x224 RGB PNGs from their image ids."""

from __future__ import annotations

import hashlib
import random
from collections.abc import Iterable
from pathlib import Path, PurePosixPath

import numpy as np
from PIL import Image

from flipbank.records import Answer
from interp.atomic_folder import atomic_path

IMAGE_SIZE = 224

#: CheXpert's label hierarchy: a positive child implies a positive parent on the same image.
PARENT_FINDING = {
    "atelectasis": "lung opacity",
    "consolidation": "lung opacity",
    "edema": "lung opacity",
    "lung lesion": "lung opacity",
    "pneumonia": "lung opacity",
    "cardiomegaly": "enlarged cardiomediastinum",
}

#: How many questions an image gets, drawn per image.
GROUP_SIZES = (1, 2, 2, 3, 3, 4)


def labels_agree(labels: dict[str, Answer]) -> bool:
    """Whether one image's answers are clinically coherent: "no finding" excludes every positive
    finding, and a positive child finding needs its parent positive when the parent is asked."""
    positives = {finding for finding, answer in labels.items() if answer == "yes"}
    if "no finding" in positives and len(positives) > 1:
        return False
    return not any(
        child in positives and labels.get(parent) == "no" for child, parent in PARENT_FINDING.items()
    )


def assign_images(items: list[tuple[str, Answer]], rng: random.Random) -> list[list[int]]:
    """Groups (finding, answer) items into images, in order: each image takes the next item, then
    later items with a different finding whose answers stay coherent, up to a drawn group size."""
    remaining = list(range(len(items)))
    groups: list[list[int]] = []
    while remaining:
        size = rng.choice(GROUP_SIZES)
        first = remaining.pop(0)
        group, labels = [first], {items[first][0]: items[first][1]}
        for index in list(remaining):
            finding, answer = items[index]
            trial = {**labels, finding: answer}
            if len(group) < size and finding not in labels and labels_agree(trial):
                group.append(index)
                remaining.remove(index)
                labels = trial
        groups.append(group)
    return groups


def _seed(image_id: str) -> int:
    return int.from_bytes(hashlib.sha256(image_id.encode("utf-8")).digest()[:8], "little")


def render_synthetic_image(image_id: str, size: int = IMAGE_SIZE) -> Image.Image:
    """A deterministic chest-radiograph-like picture for an image id: a bright body with two darker
    lung fields, a soft bright blob at a seeded place, and seeded noise."""
    rng = np.random.default_rng(_seed(image_id))
    rows, columns = np.mgrid[0:size, 0:size] / (size - 1)
    picture = 150.0 + 20.0 * rows
    for centre in (0.3, 0.7):
        lung = ((columns - centre) / 0.17) ** 2 + ((rows - 0.48) / 0.32) ** 2
        picture -= 85.0 * np.exp(-(lung**3))
    blob_row, blob_column = rng.uniform(0.3, 0.7), rng.uniform(0.2, 0.8)
    width = rng.uniform(0.03, 0.09)
    distance = (rows - blob_row) ** 2 + (columns - blob_column) ** 2
    picture += rng.uniform(40.0, 100.0) * np.exp(-distance / (2 * width**2))
    picture += rng.normal(0.0, 8.0, size=(size, size))
    gray = np.clip(np.rint(picture), 0, 255).astype(np.uint8)
    return Image.fromarray(np.stack([gray, gray, gray], axis=-1))


def image_path(folder: Path, image_id: str) -> Path:
    """Where an image id lives under `folder`; ids must be relative and must not climb out."""
    relative = PurePosixPath(image_id)
    if relative.is_absolute() or ".." in relative.parts or not relative.parts:
        raise ValueError(f"image id must be a relative path inside the folder: {image_id!r}")
    return folder.joinpath(*relative.parts)


def write_synthetic_images(image_ids: Iterable[str], folder: str | Path) -> list[Path]:
    """Renders each distinct image id to `folder/<image id>` as PNG (atomically); returns the paths
    in order of first appearance. Image paths of the demo bank then resolve against `folder`."""
    root = Path(folder)
    written: list[Path] = []
    for image_id in dict.fromkeys(image_ids):
        target = image_path(root, image_id)
        with atomic_path(target) as temporary:
            render_synthetic_image(image_id).save(temporary, format="PNG")
        written.append(target)
    return written
