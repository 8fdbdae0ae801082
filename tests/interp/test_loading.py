from pathlib import Path

import pytest
import torch

from flipbank.atomic_folder import build_folder_atomically, is_complete
from interp.handle import ModelHandle
from interp.loading import ModelWeightsMissingError, load_model


def test_tiny_model_is_multimodal(tiny_handle: ModelHandle) -> None:
    assert tiny_handle.accepts_images and tiny_handle.processor is not None
    assert tiny_handle.n_layers == len(tiny_handle.layers) == 4
    assert tiny_handle.d_model == 64
    assert tiny_handle.layers is tiny_handle.model.model.language_model.layers
    assert tiny_handle.image_token_id == tiny_handle.tokenizer.convert_tokens_to_ids("<image_soft_token>")
    projector = tiny_handle.model.model.multi_modal_projector.mm_input_projection_weight
    assert projector.abs().sum() > 0


def test_demo_model_is_the_real_270m(demo_handle: ModelHandle) -> None:
    assert not demo_handle.accepts_images and demo_handle.processor is None
    assert demo_handle.n_layers == 18 and demo_handle.d_model == 640
    assert demo_handle.layers is demo_handle.model.model.layers
    assert demo_handle.model.config.vocab_size == 262144
    assert demo_handle.dtype == (torch.bfloat16 if torch.cuda.is_available() else torch.float32)
    assert demo_handle.tokenizer.padding_side == "left"


def test_yes_no_ids_are_resolved_from_the_tokenizer(demo_handle: ModelHandle) -> None:
    spaced = demo_handle.yes_no_tokens(leading_space=True)
    plain = demo_handle.yes_no_tokens(leading_space=False)
    decode = demo_handle.tokenizer.decode
    assert decode([spaced.primary_yes]) == " Yes" and decode([spaced.primary_no]) == " No"
    assert decode([plain.primary_yes]) == "Yes" and decode([plain.primary_no]) == "No"
    assert set(spaced.yes) == set(plain.yes)


def test_missing_weights_say_how_to_obtain_them(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ModelWeightsMissingError) as raised:
        load_model("google/medgemma-4b-it-not-cached", offline=True)
    message = str(raised.value)
    assert "hf auth login" in message and "licence" in message and "HF_HUB_OFFLINE=1" in message


def test_a_non_gemma_folder_is_refused(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text('{"model_type": "gpt2"}')
    with pytest.raises(ValueError, match="not a Gemma 3 model"):
        load_model(str(tmp_path), offline=True)


def test_interrupted_build_leaves_no_folder(tmp_path: Path) -> None:
    target = tmp_path / "model"

    def failing_build(staging: Path) -> None:
        (staging / "half.bin").write_bytes(b"x")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        build_folder_atomically(target, failing_build)
    left = [path.name for path in tmp_path.iterdir()]
    assert not target.exists() and left == [".model.lock"]  # only the (released) build lock stays
    build_folder_atomically(target, lambda staging: (staging / "ok.bin").write_bytes(b"y"))
    assert is_complete(target) and (target / "ok.bin").read_bytes() == b"y"
