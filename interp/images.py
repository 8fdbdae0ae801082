"""Image conditions for grounding checks: the real image, a blank (gray, white or noise) image, another
patient's image, or none; every image is 224×224 RGB before the processor."""

from __future__ import annotations

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
    """The blank image used for text-only agreement (DESIGN §2): gray is the default."""

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


def swap_partners(image_ids: list[str], seed: int = 0) -> list[int]:
    """For each position, the index of another sample whose image differs ("another patient's image"),
    chosen at random with ``seed``. Raises when all images are the same."""
    if len(set(image_ids)) < 2:
        raise ValueError("swapped-image condition needs at least two distinct images")
    rng = np.random.default_rng(seed)
    partners: list[int] = []
    for index, image_id in enumerate(image_ids):
        candidates = [other for other, value in enumerate(image_ids) if value != image_id]
        partners.append(int(candidates[rng.integers(len(candidates))]) if candidates else index)
    return partners
