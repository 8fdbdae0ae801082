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


def test_the_shipped_demo_vlm_loads_and_answers_from_the_picture() -> None:
    from flipbank.demo_images import render_synthetic_image
    from interp.demo_vlm import SHIPPED_DEMO_VLM, training_log
    from interp.forward import score_prompts
    from interp.loading import load_model
    from interp.prompts import CHAT_TEMPLATE, PromptInput

    held_out = training_log(SHIPPED_DEMO_VLM)["held_out"]
    assert isinstance(held_out, dict)
    assert held_out["accuracy_real"]["value"] > held_out["accuracy_blank"]["value"] + 0.2
    handle = load_model("demo-vlm", device="cpu", dtype="float32")
    assert handle.accepts_images and handle.n_layers == 18
    questions = {
        "pneumothorax": "Is there a pneumothorax?",
        "pleural effusion": "Is there a pleural effusion?",
        "cardiomegaly": "Is the heart enlarged?",
        "edema": "Is there pulmonary edema?",
    }
    prompts = []
    for index, (finding, question) in enumerate(questions.items()):
        image_id = f"t/p99/p9900000{index}/s1.png"  # the same chest drawn with and without the finding
        for drawn in (frozenset({finding}), frozenset()):
            prompts.append(PromptInput(question, render_synthetic_image(image_id, drawn).image))
    margins = [score.margin for score in score_prompts(handle, prompts, CHAT_TEMPLATE, progress=False)]
    gaps = [shown - absent for shown, absent in zip(margins[0::2], margins[1::2], strict=True)]
    assert sum(gap > 0 for gap in gaps) >= 3 and sum(gaps) > 0
