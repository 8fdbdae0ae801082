import pytest
import torch
from PIL import Image

from interp.handle import ModelHandle
from interp.hooks import ResidCapture, ResidEdit
from interp.prompts import CHAT_TEMPLATE, FEW_SHOT_TEMPLATE, PromptInput, encode_prompts

QUESTIONS = ["Is there a pleural effusion?", "Any fluid around the lungs here at all?"]


def _hidden_states(handle: ModelHandle, inputs: dict[str, torch.Tensor]) -> tuple[torch.Tensor, ...]:
    with torch.no_grad():
        return handle.model(**inputs, output_hidden_states=True, logits_to_keep=1).hidden_states


def _inputs(handle: ModelHandle, image: Image.Image | None) -> dict[str, torch.Tensor]:
    template = CHAT_TEMPLATE if image is not None else FEW_SHOT_TEMPLATE
    return encode_prompts(handle, [PromptInput(q, image) for q in QUESTIONS], template)


@pytest.mark.parametrize("model", ["tiny_handle", "demo_handle"])
def test_capture_equals_output_hidden_states(
    model: str, request: pytest.FixtureRequest, xray_like_image: Image.Image
) -> None:
    handle: ModelHandle = request.getfixturevalue(model)
    inputs = _inputs(handle, xray_like_image if handle.accepts_images else None)
    expected = _hidden_states(handle, inputs)
    middle = handle.n_layers // 2
    with ResidCapture(handle.layers, [0, middle], positions="all") as capture, torch.no_grad():
        handle.model(**inputs, logits_to_keep=1)
    # hidden_states[i + 1] is the output of layer i (the last entry is after the final norm instead).
    assert torch.equal(capture.activations[0], expected[1])
    assert torch.equal(capture.activations[middle], expected[middle + 1])


def test_early_stop_equals_the_full_run(demo_handle: ModelHandle) -> None:
    inputs = _inputs(demo_handle, None)
    with ResidCapture(demo_handle.layers, [3, 9]) as full, torch.no_grad():
        output = demo_handle.model(**inputs, logits_to_keep=1)
    assert output is not None
    with ResidCapture(demo_handle.layers, [3, 9], stop_early=True) as early, torch.no_grad():
        stopped = demo_handle.model(**inputs, logits_to_keep=1)
        pytest.fail(f"the forward pass should have stopped, returned {type(stopped)}")
    assert early.activations.keys() == {3, 9}
    assert torch.equal(early.activations[9], full.activations[9])
    assert early.activations[9].shape == (len(QUESTIONS), demo_handle.d_model)


def test_early_stop_skips_the_later_layers(demo_handle: ModelHandle) -> None:
    inputs = _inputs(demo_handle, None)
    with (
        ResidCapture(demo_handle.layers, [2], stop_early=True),
        ResidCapture(demo_handle.layers, [10]) as later,
        torch.no_grad(),
    ):
        demo_handle.model(**inputs, logits_to_keep=1)
    assert later.activations == {}


def test_hooks_are_removed_when_the_body_raises(tiny_handle: ModelHandle) -> None:
    layer = tiny_handle.layers[1]
    before = dict(layer._forward_hooks)  # transformers keeps hooks of its own on decoder layers
    with pytest.raises(RuntimeError, match="boom"), ResidCapture(tiny_handle.layers, [1]):
        assert len(layer._forward_hooks) == len(before) + 1
        raise RuntimeError("boom")
    with pytest.raises(RuntimeError, match="boom"), ResidEdit(tiny_handle.layers, {1: lambda x: x}):
        raise RuntimeError("boom")
    assert dict(layer._forward_hooks) == before


def test_capture_can_move_to_cpu_and_rejects_bad_layers(tiny_handle: ModelHandle) -> None:
    with pytest.raises(IndexError, match="layer 4 does not exist; the model has 4 layers"):
        ResidCapture(tiny_handle.layers, [4])
    inputs = _inputs(tiny_handle, None)
    with ResidCapture(tiny_handle.layers, [1], to_cpu=True) as capture, torch.no_grad():
        tiny_handle.model(**inputs, logits_to_keep=1)
    assert capture.activations[1].device == torch.device("cpu")


def test_identity_edit_changes_nothing_and_a_real_edit_does(demo_handle: ModelHandle) -> None:
    inputs = _inputs(demo_handle, None)
    with torch.no_grad():
        plain = demo_handle.model(**inputs, logits_to_keep=1).logits
        with ResidEdit(demo_handle.layers, {9: lambda x: x}):
            same = demo_handle.model(**inputs, logits_to_keep=1).logits
        with ResidEdit(demo_handle.layers, {9: lambda x: x * 0.5}):
            edited = demo_handle.model(**inputs, logits_to_keep=1).logits
    assert torch.equal(plain, same)
    assert (plain - edited).abs().max() > 1e-2


def test_edit_is_seen_by_a_later_capture(demo_handle: ModelHandle) -> None:
    inputs = _inputs(demo_handle, None)

    def zero_last(x: torch.Tensor) -> torch.Tensor:
        x = x.clone()
        x[:, -1] = 0
        return x

    with (
        ResidEdit(demo_handle.layers, {5: zero_last}),
        ResidCapture(demo_handle.layers, [5]) as capture,
        torch.no_grad(),
    ):
        demo_handle.model(**inputs, logits_to_keep=1)
    assert capture.activations[5].abs().max() == 0


def test_shape_changing_edit_is_refused(tiny_handle: ModelHandle) -> None:
    inputs = _inputs(tiny_handle, None)
    before = dict(tiny_handle.layers[0]._forward_hooks)
    with (
        pytest.raises(ValueError, match="edit changed resid shape"),
        ResidEdit(tiny_handle.layers, {0: lambda x: x[:, :1]}),
        torch.no_grad(),
    ):
        tiny_handle.model(**inputs, logits_to_keep=1)
    assert dict(tiny_handle.layers[0]._forward_hooks) == before
