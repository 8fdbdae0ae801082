"""Shared fixtures: the tiny multimodal test model and the real Gemma 3 270M demo model (both cached)."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from interp.handle import ModelHandle
from interp.loading import load_model


@pytest.fixture(scope="session")
def tiny_handle() -> ModelHandle:
    return load_model("tiny-mm")


@pytest.fixture(scope="session")
def demo_handle() -> ModelHandle:
    return load_model("gemma3-270m")


@pytest.fixture(scope="session")
def xray_like_image() -> Image.Image:
    rng = np.random.default_rng(7)
    pixels = rng.integers(0, 256, size=(224, 224, 3), dtype=np.uint8)
    return Image.fromarray(pixels, mode="RGB")
