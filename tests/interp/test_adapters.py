"""Tests of PEFT adapters on a loaded model: injected in place, captures and margins equal to the merged
weights, hooks and clamping still run, and a readable error for a missing adapter."""

from pathlib import Path

import pytest
import torch
from peft import PeftModel

from interp.adapters import AdapterMissingError, with_adapter
from interp.clamping import clamp_features
from interp.forward import score_prompts
from interp.handle import ModelHandle
from interp.loading import load_model
from interp.prompts import CHAT_TEMPLATE, PromptInput
from interp.resid_cache import final_token_resid
from tests.interp.adapter_builders import write_tiny_adapter
from tests.interp.feature_builders import direction_features

PROMPTS = [PromptInput("Is there a pleural effusion?"), PromptInput("Any fluid around the lung?")]
LAYERS = [0, 2, 3]


def _tiny() -> ModelHandle:
    return load_model("tiny-mm", device="cpu", dtype="float32")


@pytest.fixture(scope="module")
def adapter_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_tiny_adapter(tmp_path_factory.mktemp("adapter"), layers=[1, 2, 3])


def test_captures_on_the_adapted_model_equal_captures_on_the_merged_weights(adapter_folder: Path) -> None:
    base = final_token_resid(_tiny(), PROMPTS, CHAT_TEMPLATE, LAYERS)
    adapted = with_adapter(_tiny(), adapter_folder)
    assert adapted.adapter == str(adapter_folder)
    captured = final_token_resid(adapted, PROMPTS, CHAT_TEMPLATE, LAYERS)
    merged = _tiny()
    PeftModel.from_pretrained(merged.model, str(adapter_folder)).merge_and_unload()  # into the weights
    expected = final_token_resid(merged, PROMPTS, CHAT_TEMPLATE, LAYERS)
    torch.testing.assert_close(captured, expected, atol=1e-4, rtol=1e-4)
    assert torch.allclose(captured[:, 0], base[:, 0], atol=1e-5)  # layer 0 carries no adapter
    assert (captured[:, 2] - base[:, 2]).abs().max() > 1e-2  # layers 1–3 do


def test_clamping_runs_on_the_adapted_model(adapter_folder: Path) -> None:
    handle = with_adapter(_tiny(), adapter_folder)
    plain = score_prompts(handle, PROMPTS, CHAT_TEMPLATE, progress=False)
    rows = torch.randn(1, handle.d_model, generator=torch.Generator().manual_seed(1))
    with clamp_features(handle.layers, 2, direction_features(rows, bias=1e5), 5.0):
        clamped = score_prompts(handle, PROMPTS, CHAT_TEMPLATE, progress=False)
    assert any(abs(a.margin - b.margin) > 1e-4 for a, b in zip(plain, clamped, strict=True))


def test_a_missing_adapter_says_what_to_pass(tmp_path: Path) -> None:
    with pytest.raises(AdapterMissingError, match="not a PEFT adapter folder"):
        with_adapter(_tiny(), tmp_path)
    with pytest.raises(AdapterMissingError, match="hf download someone/absent-adapter"):
        with_adapter(_tiny(), "someone/absent-adapter", offline=True)
