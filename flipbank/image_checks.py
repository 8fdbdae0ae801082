"""Checks that an image file will load when a run shows it: the file exists, is not empty, is an image in a
supported mode, and decodes completely through `flipbank.images.load_image` (the loader mining uses), so a
missing, empty, truncated or mislabelled file is found before any model runs, not in the middle of a run."""

from __future__ import annotations

from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from functools import cache
from pathlib import Path

from PIL import Image

from flipbank.images import load_image

#: Image modes the loader turns into RGB faithfully: bilevel, grayscale (8-bit, 16-bit, 32-bit, float),
#: palette, RGB(A) and CMYK/YCbCr. Others (LAB, HSV, raw BGR) would convert channel by channel into wrong
#: colours, so they are refused.
SUPPORTED_MODES = frozenset(
    {
        "1",
        "L",
        "LA",
        "La",
        "P",
        "PA",
        "RGB",
        "RGBA",
        "RGBa",
        "RGBX",
        "CMYK",
        "YCbCr",
        "I",
        "I;16",
        "I;16B",
        "I;16L",
        "I;16N",
        "F",
    }
)
#: Threads that decode images at once (decoding releases the GIL).
DEFAULT_IMAGE_WORKERS = 4


def image_problem(path: str | Path) -> str | None:
    """Why the image at ``path`` cannot be shown to a model, or None when it loads. A file is decoded once
    per process for a given size and modification time."""
    file = Path(path)
    if not file.is_file():
        return f"image not found: {file}"
    stat = file.stat()
    if stat.st_size == 0:
        return f"empty image file (zero bytes): {file}"
    return _decode_problem(str(file), stat.st_size, stat.st_mtime_ns)


@cache
def _decode_problem(path: str, size: int, mtime_ns: int) -> str | None:
    try:
        with Image.open(path) as opened:
            mode = opened.mode
    except Exception as error:  # PIL raises UnidentifiedImageError, OSError, SyntaxError … for non-images
        return f"not an image: {path} ({type(error).__name__}: {error})"
    if mode not in SUPPORTED_MODES:
        return f"unsupported image mode {mode!r}: {path} (expected grayscale, palette, RGB(A) or CMYK)"
    try:
        load_image(path)  # decodes every pixel, exactly as mining will
    except Exception as error:  # a decoder may raise OSError, SyntaxError, ValueError …: each stops a run
        return f"cannot decode image ({type(error).__name__}: {error})"
    return None


def image_problems(paths: Iterable[str], workers: int = DEFAULT_IMAGE_WORKERS) -> dict[str, str]:
    """The problem of every distinct path in ``paths`` that will not load (paths that load are absent)."""
    distinct = sorted(set(paths))
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        found = list(pool.map(image_problem, distinct))
    return {path: problem for path, problem in zip(distinct, found, strict=True) if problem is not None}
