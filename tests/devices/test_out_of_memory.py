"""Every batched loop backs off when the accelerator runs out of memory: with an out-of-memory error injected
into every forward pass of more than two prompts, a run asked for batch 4 gives exactly what a run at batch 2
gives, warns about it, and a failure at batch 1 is raised."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import torch
from torch import nn

from experiments.steps.mining import mine
from flipbank.demo_bank import load_demo_bank
from flipbank.images import ImageCondition
from flipbank.mining_plan import MiningConfig
from interp.batching import BatchSizeReduced
from interp.handle import ModelHandle
from interp.layer_sweep import feature_patch_sweep, resid_patch_sweep
from interp.patching import patched_margins
from interp.prompts import FEW_SHOT_TEMPLATE
from interp.resid_cache import final_token_resid
from saes.features import feature_slice
from saes.loading import LoadedSAE
from saes.ranking import collect_pair_activations
from tests.devices.test_interventions_on_devices import FEATURES, TEXT_PAIRS
from tests.devices.test_studies_on_devices import PROMPT_PAIRS
from tests.saes.conftest import TINY_LAYER

LIMIT = 2
PAIRS = TEXT_PAIRS + TEXT_PAIRS[:1]  # five pairs: batches of 4 + 1, or 2 + 2 + 1


@contextmanager
def out_of_memory_above(handle: ModelHandle, limit: int) -> Iterator[list[int]]:
    """Raise ``torch.OutOfMemoryError`` in the first decoder layer on every batch larger than ``limit``;
    yields the batch sizes seen."""
    seen: list[int] = []

    def hook(module: nn.Module, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        batch = int((args[0] if args else kwargs["hidden_states"]).shape[0])
        seen.append(batch)
        if batch > limit:
            raise torch.OutOfMemoryError(f"injected: batch of {batch} > {limit}")

    handle_ = handle.layers[0].register_forward_pre_hook(hook, with_kwargs=True)
    try:
        yield seen
    finally:
        handle_.remove()


def _backs_off(run: Callable[[int], object], handle: ModelHandle) -> tuple[object, object, list[int]]:
    """``run(4)`` under the injected limit, ``run(2)`` without it, and the batch sizes tried under it."""
    with (
        out_of_memory_above(handle, LIMIT) as seen,
        pytest.warns(BatchSizeReduced, match="batch size 4; retrying with batch size 2"),
    ):
        backed_off = run(4)
    return backed_off, run(LIMIT), seen


def _assert_same(got: object, expected: object) -> None:
    if isinstance(got, dict) and isinstance(expected, dict):
        assert got.keys() == expected.keys()
        for key in got:
            _assert_same(got[key], expected[key])
    else:
        assert isinstance(got, torch.Tensor) and isinstance(expected, torch.Tensor)
        assert torch.equal(got, expected)


def test_resid_cache(tiny_handle: ModelHandle) -> None:
    prompts = [pair.paraphrase for pair in PAIRS]
    got, expected, seen = _backs_off(
        lambda size: final_token_resid(tiny_handle, prompts, FEW_SHOT_TEMPLATE, [1, TINY_LAYER], size),
        tiny_handle,
    )
    _assert_same(got, expected)
    assert 4 in seen and max(size for size in seen if size != 4) <= LIMIT


@pytest.mark.parametrize("positions", ["final", "all"])
def test_patching(tiny_handle: ModelHandle, tiny_sae: LoadedSAE, positions: str) -> None:
    features = feature_slice(tiny_sae.sae, FEATURES)
    got, expected, _ = _backs_off(
        lambda size: patched_margins(
            tiny_handle,
            PAIRS,
            TINY_LAYER,
            features,
            FEW_SHOT_TEMPLATE,
            positions=positions,  # type: ignore[arg-type]
            batch_size=size,
            progress=False,
        ),
        tiny_handle,
    )
    _assert_same(got, expected)


def test_layer_sweeps(tiny_handle: ModelHandle, tiny_sae: LoadedSAE) -> None:
    features = {TINY_LAYER: feature_slice(tiny_sae.sae, FEATURES)}
    for sweep in (
        lambda size: resid_patch_sweep(
            tiny_handle, PAIRS, FEW_SHOT_TEMPLATE, batch_size=size, progress=False
        ),
        lambda size: feature_patch_sweep(
            tiny_handle, PAIRS, FEW_SHOT_TEMPLATE, features, batch_size=size, progress=False
        ),
    ):
        got, expected, _ = _backs_off(sweep, tiny_handle)
        _assert_same(got, expected)


def test_feature_collection(tiny_handle: ModelHandle, tiny_sae: LoadedSAE) -> None:
    pairs = PROMPT_PAIRS + PROMPT_PAIRS[:1]

    def run(size: int) -> dict[str, torch.Tensor]:
        activations = collect_pair_activations(tiny_handle, tiny_sae, pairs, FEW_SHOT_TEMPLATE, size)
        return dict(vars(activations))

    got, expected, _ = _backs_off(run, tiny_handle)
    _assert_same(got, expected)


def test_mining(tiny_handle: ModelHandle, tmp_path: Path) -> None:
    questions = load_demo_bank()[:2]
    conditions = (ImageCondition.NONE, ImageCondition.BLANK)

    def run(size: int) -> pd.DataFrame:
        settings = MiningConfig(image_conditions=conditions, batch_size=size)
        result = mine(
            tiny_handle, questions, FEW_SHOT_TEMPLATE, settings, tmp_path / str(size), progress=False
        )
        rows = pd.read_parquet(result.rows_path)
        return rows.sort_values(["image_condition", "question_id", "variant_index"]).reset_index(drop=True)

    got, expected, _ = _backs_off(run, tiny_handle)
    assert isinstance(got, pd.DataFrame) and isinstance(expected, pd.DataFrame)
    columns = ["image_condition", "question_id", "variant_index", "answer_text", "margin", "p_yes", "p_no"]
    pd.testing.assert_frame_equal(got[columns], expected[columns], check_exact=True)
    assert len(got) == 2 * sum(len(q.paraphrases) + 1 for q in questions)


def test_a_failure_at_batch_one_is_raised(tiny_handle: ModelHandle) -> None:
    prompts = [pair.paraphrase for pair in PAIRS[:2]]
    with (
        out_of_memory_above(tiny_handle, 0) as seen,
        pytest.warns(BatchSizeReduced),
        pytest.raises(torch.OutOfMemoryError, match="batch of 1"),
    ):
        final_token_resid(tiny_handle, prompts, FEW_SHOT_TEMPLATE, [TINY_LAYER], batch_size=2)
    assert seen == [2, 1]
