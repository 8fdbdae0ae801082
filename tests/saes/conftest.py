"""Fixtures for the saes tests: a calibrated random SAE on tiny-mm's layer 2, in Gemma Scope 2 format."""

from __future__ import annotations

from pathlib import Path

import pytest

from interp.handle import ModelHandle
from saes.loading import LoadedSAE, load_sae
from tests.saes.sae_factories import random_jumprelu, resid_sample, write_gemma_scope

TINY_LAYER = 2
TINY_D_SAE = 256


@pytest.fixture(scope="session")
def tiny_sae_folder(tiny_handle: ModelHandle, tmp_path_factory: pytest.TempPathFactory) -> Path:
    sample = resid_sample(tiny_handle, TINY_LAYER)
    sae = random_jumprelu(tiny_handle.d_model, TINY_D_SAE, seed=3, sample=sample)
    folder = tmp_path_factory.mktemp("gemma-scope") / "layer_2_width_256"
    return write_gemma_scope(folder, sae, TINY_LAYER, "google/gemma-3-4b-it")


@pytest.fixture(scope="session")
def tiny_sae(tiny_handle: ModelHandle, tiny_sae_folder: Path) -> LoadedSAE:
    return load_sae(tiny_sae_folder, tiny_handle)
