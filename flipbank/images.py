"""Image conditions for grounding checks: the real image, a blank (gray, white or noise) image, another
patient's image, or none; every image is 224×224 RGB before the processor."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from enum import StrEnum
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

IMAGE_SIZE = 224


class ImageCondition(StrEnum):
    """Which image a prompt is shown with."""

    REAL = "real"
    BLANK = "blank"
    SWAPPED = "swapped"
    NONE = "none"


class BlankKind(StrEnum):
    """The blank image used for text-only agreement: gray is the default."""

    GRAY = "gray"
    WHITE = "white"
    NOISE = "noise"


def blank_image(kind: BlankKind = BlankKind.GRAY, seed: int = 0) -> Image.Image:
    """A 224×224 RGB blank: uniform gray (128), white (255), or N(128, 64) noise clipped to [0, 255]."""
    shape = (IMAGE_SIZE, IMAGE_SIZE, 3)
    if kind == BlankKind.GRAY:
        pixels = np.full(shape, 128, dtype=np.uint8)
    elif kind == BlankKind.WHITE:
        pixels = np.full(shape, 255, dtype=np.uint8)
    else:
        noise = np.random.default_rng(seed).normal(128.0, 64.0, size=shape)
        pixels = np.clip(np.rint(noise), 0, 255).astype(np.uint8)
    return Image.fromarray(pixels, mode="RGB")


def _to_rgb(image: Image.Image) -> Image.Image:
    """RGB with 8 bits per channel; high-bit-depth grayscale (16-bit PNGs as PadChest ships them) is
    min–max windowed to 0–255 instead of being clipped at 255."""
    if image.mode not in ("I", "I;16", "I;16B", "I;16L", "F"):
        return image.convert("RGB")
    pixels = np.asarray(image, dtype=np.float64)
    low, high = float(pixels.min()), float(pixels.max())
    scaled = (pixels - low) / (high - low) * 255.0 if high > low else np.zeros_like(pixels)
    return Image.fromarray(np.rint(scaled).astype(np.uint8), mode="L").convert("RGB")


def load_image(path: str | Path) -> Image.Image:
    """Open an image file as 224×224 RGB; a file that is missing or not an image gets a clear error."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"image not found: {path}")
    try:
        with Image.open(path) as opened:
            image = _to_rgb(opened)
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError) as error:
        raise ValueError(f"{path}: not a readable image ({error})") from error
    if image.size != (IMAGE_SIZE, IMAGE_SIZE):
        image = image.resize((IMAGE_SIZE, IMAGE_SIZE), Image.Resampling.BICUBIC)
    return image


#: Random draws tried before listing every candidate partner of a sample.
_QUICK_DRAWS = 16


def _swappable(index: int, other: int, image_ids: list[str], patients: Sequence[str | None]) -> bool:
    if image_ids[other] == image_ids[index]:
        return False
    mine, theirs = patients[index], patients[other]
    return mine is None or theirs is None or mine != theirs


def swap_partners(
    image_ids: list[str], patients: Sequence[str | None] | None = None, seed: int = 0
) -> list[int]:
    """For each position, the index of another sample whose image differs and, where both patients are
    known, whose patient differs ("another patient's image"), chosen at random with ``seed``. Samples with
    no patient only get a different image, with a warning. Raises when a sample has no possible partner."""
    known: list[str | None] = list(patients) if patients is not None else [None] * len(image_ids)
    if len(known) != len(image_ids):
        raise ValueError(f"{len(known)} patients for {len(image_ids)} images")
    if len(set(image_ids)) < 2:
        raise ValueError("swapped-image condition needs at least two distinct images")
    unknown = sum(patient is None for patient in known)
    if unknown:
        warnings.warn(
            f"{unknown} of {len(known)} samples name no patient: their swapped image is only a different "
            "image, possibly of the same patient",
            stacklevel=2,
        )
    rng = np.random.default_rng(seed)
    return [_draw_partner(index, image_ids, known, rng) for index in range(len(image_ids))]


def _draw_partner(
    index: int, image_ids: list[str], patients: list[str | None], rng: np.random.Generator
) -> int:
    """A uniformly random swappable partner: a few cheap draws first (most samples are swappable with most
    others), then the full list of candidates, so a large question set is not quadratic."""
    for other in rng.integers(len(image_ids), size=_QUICK_DRAWS):
        if _swappable(index, int(other), image_ids, patients):
            return int(other)
    candidates = [other for other in range(len(image_ids)) if _swappable(index, other, image_ids, patients)]
    if not candidates:
        raise ValueError(
            f"no other patient's image to swap in for {image_ids[index]!r} (patient {patients[index]})"
        )
    return int(candidates[rng.integers(len(candidates))])
