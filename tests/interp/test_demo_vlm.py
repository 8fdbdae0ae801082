"""Tests of the demo VLM's architecture: MedGemma's class, module paths and token ids around the real 270M."""

from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from interp.demo_model import ensure_demo_model
from interp.demo_vlm import DemoVLMNotTrainedError, ensure_demo_vlm, missing_trained_parts
from interp.demo_vlm_architecture import DEMO_VLM_SHAPE, VisionShape, untrained_demo_vlm


def test_the_architecture_is_medgemmas_around_the_real_270m() -> None:
    text_folder = ensure_demo_model()
    model, processor = untrained_demo_vlm(text_folder)
    tokenizer = processor.tokenizer
    assert type(model).__name__ == "Gemma3ForConditionalGeneration"
    assert len(model.model.language_model.layers) == 18
    assert (tokenizer.image_token_id, tokenizer.boi_token_id, tokenizer.eoi_token_id) == (
        262144,
        255999,
        256000,
    )
    assert processor.image_seq_length == DEMO_VLM_SHAPE.image_tokens
    embedding = load_file(str(text_folder / "model.safetensors"))["model.embed_tokens.weight"]
    assert torch.equal(model.model.language_model.embed_tokens.weight, embedding)
    assert model.model.multi_modal_projector.mm_input_projection_weight.abs().sum() > 0


def test_vision_shapes_must_pool_evenly() -> None:
    with pytest.raises(ValueError, match="multiple of sqrt"):
        VisionShape(image_size=224, patch_size=16, image_tokens=36)


def test_missing_trained_parts_say_how_to_train_them(tmp_path: Path) -> None:
    assert "demo_vlm_build --ship" in (missing_trained_parts(tmp_path) or "")
    with pytest.raises(DemoVLMNotTrainedError, match=r"adapter_model\.safetensors"):
        ensure_demo_vlm(tmp_path / "cache", trained=tmp_path)
