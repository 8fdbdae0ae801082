"""Fixtures for the device-safety tests: the tiny model and its SAE (float32, and a float64 copy as a dtype
proxy) placed on pretend accelerators in every layout a GPU box can produce."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
import torch

from interp.handle import ModelHandle
from saes.loading import LoadedSAE, load_sae
from tests.devices.pretend_device import Placement, PretendDevices, pretend_placement
from tests.saes.conftest import TINY_LAYER, tiny_sae, tiny_sae_folder  # noqa: F401 (fixtures)


@dataclass(frozen=True)
class Case:
    """A placement, and the dtype the SAE is loaded in (float64 against the float32 model: every
    SAE-model meeting without an explicit cast fails in matmul)."""

    placement: Placement
    sae_dtype: torch.dtype = torch.float32


CASES = [
    # a single GPU: captures that come back to the CPU must be moved again before they meet the SAE
    Case(Placement("one accelerator", model="fpga:0", saes="fpga:0")),
    # device_map="auto": the SAE's layer and the SAE on a second GPU, and the SAE in float64
    Case(
        Placement("SAE and its layer on a second accelerator", "fpga:0", {TINY_LAYER: "fpga:1"}, "fpga:1"),
        torch.float64,
    ),
    # the SAE (and the feature directions cut from it) on another device than any layer it edits
    Case(Placement("SAE apart from the model", model="fpga:0", saes="fpga:1")),
]


@dataclass(frozen=True)
class Placed:
    """The placed handle and SAE, and the mode that watches them. Run code on them inside ``checks()``;
    ``plain`` is the same model unplaced, for reference runs outside it."""

    handle: ModelHandle
    plain: ModelHandle
    sae: LoadedSAE
    mode: PretendDevices

    @contextmanager
    def checks(self) -> Iterator[None]:
        """Turn the pretend devices on; also fail on a crossing that the code under test swallowed."""
        with self.mode:
            yield
        assert self.mode.mixes == [], self.mode.mixes


@pytest.fixture(scope="session")
def tiny_sae_float64(tiny_handle: ModelHandle, tiny_sae_folder: Path) -> LoadedSAE:  # noqa: F811
    return load_sae(tiny_sae_folder, tiny_handle, dtype=torch.float64)


@pytest.fixture(params=CASES, ids=[case.placement.name for case in CASES])
def placed(
    request: pytest.FixtureRequest,
    tiny_handle: ModelHandle,
    tiny_sae: LoadedSAE,  # noqa: F811
    tiny_sae_float64: LoadedSAE,
) -> Iterator[Placed]:
    case: Case = request.param
    loaded = tiny_sae_float64 if case.sae_dtype == torch.float64 else tiny_sae
    with pretend_placement(tiny_handle, case.placement, [loaded.sae], strict_dtypes=True) as (handle, mode):
        yield Placed(handle, tiny_handle, loaded, mode)
