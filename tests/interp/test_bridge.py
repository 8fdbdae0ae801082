"""The TransformerLens bridge over a copy of tiny-mm: ``blocks.L.hook_resid_post`` equals the workbench's
``resid_post`` capture on text prompts, and on image prompts up to the image block (transformer-lens 3.9
does not reproduce Gemma 3's attention from the image on; the gap is measured, so a fix shows up here);
booting leaves the handle untouched; a Gemma Scope SAE from ``load_sae`` runs through sae-lens's bridge."""

from __future__ import annotations

import pytest
import torch
from PIL import Image

from interp.bridge import BridgeSourceError, bridge_source, resid_post_hook, to_transformer_bridge
from interp.forward import last_position_logits, run_model
from interp.handle import ModelHandle
from interp.hooks import ResidCapture
from interp.prompts import CHAT_TEMPLATE, PromptInput, encode_prompts
from saes.loading import LoadedSAE
from tests.saes.conftest import TINY_LAYER, tiny_sae, tiny_sae_folder  # noqa: F401 (fixtures)

QUESTIONS = ["Is the heart enlarged?", "Any fluid around the lungs on this film?"]


def _ours(handle: ModelHandle, inputs: dict[str, torch.Tensor]) -> torch.Tensor:
    with ResidCapture(handle.layers, [TINY_LAYER], positions="all") as capture:
        run_model(handle, inputs)
    return capture.activations[TINY_LAYER]


def _bridged(bridge: object, inputs: dict[str, torch.Tensor]) -> torch.Tensor:
    name = resid_post_hook(TINY_LAYER)
    rest = {key: value for key, value in inputs.items() if key != "input_ids"}
    _, cache = bridge.run_with_cache(  # type: ignore[attr-defined]
        inputs["input_ids"], names_filter=lambda hook: hook == name, **rest
    )
    return cache[name]


@pytest.fixture(scope="module")
def bridge(tiny_handle: ModelHandle) -> object:
    return to_transformer_bridge(tiny_handle)


def test_text_prompts_match_the_workbench_capture(tiny_handle: ModelHandle, bridge: object) -> None:
    inputs = encode_prompts(tiny_handle, [PromptInput(q) for q in QUESTIONS], CHAT_TEMPLATE)
    real = inputs["attention_mask"].bool()
    torch.testing.assert_close(
        _bridged(bridge, inputs)[real], _ours(tiny_handle, inputs)[real], atol=1e-4, rtol=1e-4
    )


def test_image_prompts_match_up_to_the_image_block(
    tiny_handle: ModelHandle, bridge: object, xray_like_image: Image.Image
) -> None:
    inputs = encode_prompts(tiny_handle, [PromptInput(q, xray_like_image) for q in QUESTIONS], CHAT_TEMPLATE)
    ours, bridged = _ours(tiny_handle, inputs), _bridged(bridge, inputs)
    before_image = (inputs["token_type_ids"].cumsum(dim=1) == 0) & inputs["attention_mask"].bool()
    torch.testing.assert_close(bridged[before_image], ours[before_image], atol=1e-4, rtol=1e-4)
    gap = float((bridged[:, -1] - ours[:, -1]).abs().max())
    assert gap > 1e-2, f"the bridge now matches image prompts (gap {gap:.1e}): update the docs and this test"


def test_booting_leaves_the_handle_untouched(
    tiny_handle: ModelHandle, bridge: object, xray_like_image: Image.Image
) -> None:
    assert tiny_handle.model.config._attn_implementation == "sdpa"
    assert type(tiny_handle.layers[TINY_LAYER]).__name__ == "Gemma3DecoderLayer"
    assert bridge.original_model is not tiny_handle.model  # type: ignore[attr-defined]


def test_a_workbench_sae_runs_with_sae_lens_bridge_hooks(
    tiny_handle: ModelHandle,
    tiny_sae: LoadedSAE,  # noqa: F811 (the fixture imported above)
) -> None:
    sae_bridge = to_transformer_bridge(tiny_handle, with_saes=True)
    assert tiny_sae.sae.cfg.metadata.hook_name == resid_post_hook(TINY_LAYER)
    inputs = encode_prompts(tiny_handle, [PromptInput(q) for q in QUESTIONS], CHAT_TEMPLATE)
    plain = last_position_logits(tiny_handle, inputs)
    mask = inputs["attention_mask"]
    with torch.no_grad():
        exact = sae_bridge.run_with_saes(
            inputs["input_ids"], saes=[tiny_sae.sae], use_error_term=True, attention_mask=mask
        )
        spliced = sae_bridge.run_with_saes(inputs["input_ids"], saes=[tiny_sae.sae], attention_mask=mask)
    torch.testing.assert_close(exact[:, -1], plain, atol=1e-3, rtol=1e-3)
    assert float((spliced[:, -1] - plain).abs().max()) > 1e-3  # the reconstruction alone moves the logits


def test_a_model_that_is_nowhere_local_is_refused_before_booting() -> None:
    with pytest.raises(BridgeSourceError, match="not a local folder nor in the HF cache"):
        bridge_source("nobody/no-such-model")
