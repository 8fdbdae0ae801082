import pytest
import torch
from PIL import Image

from interp.forward import last_position_logits
from interp.handle import ModelHandle
from interp.prompts import (
    CHAT_TEMPLATE,
    FEW_SHOT_TEMPLATE,
    PromptInput,
    PromptStyle,
    PromptTemplate,
)
from interp.resid_cache import final_token_resid
from interp.shared_prefix import (
    MIN_PROMPTS_TO_SHARE,
    MIN_SHARED_TOKENS,
    SharedPrefix,
    build_shared_prefix,
    encode_after_prefix,
    encode_batch,
    forward_inputs,
    prefix_for_prompts,
    runs_after_prefix,
    with_prefix_cache,
)
from tests.templates import TWO_SHOT

QUESTIONS = [
    "Is there a pleural effusion?",
    "Any cardiomegaly?",
    "Does the chest radiograph demonstrate an opacity in the right lower lobe consistent with pneumonia?",
    "Is it true that the lungs are clear and there is no pneumothorax on this film?",
]


SHORT_QUESTIONS = ["Is there a pleural effusion?", "Any cardiomegaly?", "Is the left lung collapsed here?"]


def _logits(
    handle: ModelHandle, questions: list[str], template: PromptTemplate, prefix: SharedPrefix | None
) -> torch.Tensor:
    inputs = encode_batch(handle, [PromptInput(question) for question in questions], template, prefix)
    assert runs_after_prefix(inputs) == (prefix is not None)
    return last_position_logits(handle, with_prefix_cache(inputs, prefix))


@pytest.mark.parametrize(
    ("model", "questions", "template", "tolerance"),
    [
        ("demo_handle", QUESTIONS, FEW_SHOT_TEMPLATE, 1e-3),  # real 270M weights, logits up to ~30
        ("tiny_handle", SHORT_QUESTIONS, TWO_SHOT, 1e-5),  # multimodal architecture, its window is 64
    ],
)
def test_running_after_the_shared_prefix_gives_the_whole_prompt_logits(
    model: str,
    questions: list[str],
    template: PromptTemplate,
    tolerance: float,
    request: pytest.FixtureRequest,
) -> None:
    handle: ModelHandle = request.getfixturevalue(model)
    prefix = build_shared_prefix(handle, template)
    assert prefix is not None
    whole = _logits(handle, questions, template, None)
    shared = _logits(handle, questions, template, prefix)
    assert torch.allclose(whole, shared, atol=tolerance, rtol=1e-4)


def test_a_batch_wider_than_the_sliding_window_runs_whole(tiny_handle: ModelHandle) -> None:
    prefix = build_shared_prefix(tiny_handle, TWO_SHOT)
    assert prefix is not None and prefix.window is not None
    long_question = "Is there " + "a small " * prefix.window + "effusion?"
    inputs = encode_batch(
        tiny_handle, [PromptInput(long_question), PromptInput("Any edema?")], TWO_SHOT, prefix
    )
    assert not runs_after_prefix(inputs)
    assert "past_key_values" not in with_prefix_cache(inputs, prefix)
    assert build_shared_prefix(tiny_handle, FEW_SHOT_TEMPLATE) is None  # six shots exceed its 64-token window


def test_the_few_shot_prefix_is_the_examples_and_the_chat_opening_is_too_short(
    demo_handle: ModelHandle,
) -> None:
    prefix = build_shared_prefix(demo_handle, FEW_SHOT_TEMPLATE)
    assert prefix is not None and len(prefix.token_ids) > 80
    assert prefix.token_ids[0] == demo_handle.tokenizer.bos_token_id
    assert build_shared_prefix(demo_handle, CHAT_TEMPLATE) is None
    assert len(demo_handle.tokenizer(["<start_of_turn>user\n"])["input_ids"][0]) < MIN_SHARED_TOKENS


def test_forward_passes_leave_the_shared_cache_as_it_was(demo_handle: ModelHandle) -> None:
    prefix = build_shared_prefix(demo_handle, FEW_SHOT_TEMPLATE)
    assert prefix is not None
    before = prefix.cache.get_seq_length()
    first = last_position_logits(
        demo_handle, forward_inputs(demo_handle, [PromptInput(QUESTIONS[0])], FEW_SHOT_TEMPLATE, prefix)
    )
    again = last_position_logits(
        demo_handle, forward_inputs(demo_handle, [PromptInput(QUESTIONS[0])], FEW_SHOT_TEMPLATE, prefix)
    )
    assert prefix.cache.get_seq_length() == before == len(prefix.token_ids)
    assert torch.equal(first, again)


def test_final_token_resid_is_the_same_after_the_shared_prefix(demo_handle: ModelHandle) -> None:
    prompts = [PromptInput(question) for question in QUESTIONS]
    prefix = build_shared_prefix(demo_handle, FEW_SHOT_TEMPLATE)
    whole = final_token_resid(demo_handle, prompts, FEW_SHOT_TEMPLATE, [3, 9])
    shared = final_token_resid(demo_handle, prompts, FEW_SHOT_TEMPLATE, [3, 9], prefix=prefix)
    scale = whole.abs().amax(dim=-1, keepdim=True)
    assert ((whole - shared).abs() / scale).max() < 1e-4


def test_a_prompt_of_another_template_is_refused_by_name(demo_handle: ModelHandle) -> None:
    prefix = build_shared_prefix(demo_handle, FEW_SHOT_TEMPLATE)
    assert prefix is not None
    other = PromptTemplate(PromptStyle.FEW_SHOT, (("Is the sky green?", "No"),) * 6)
    with pytest.raises(ValueError, match="Any cardiomegaly"):
        encode_after_prefix(demo_handle, [PromptInput("Any cardiomegaly?")], other, prefix)


def test_image_prompts_and_too_few_prompts_run_whole(
    tiny_handle: ModelHandle, xray_like_image: Image.Image
) -> None:
    text = [PromptInput(question) for question in SHORT_QUESTIONS * 2]
    image = PromptInput(QUESTIONS[0], xray_like_image)
    assert prefix_for_prompts(tiny_handle, TWO_SHOT, [image, *text]) is None
    assert prefix_for_prompts(tiny_handle, TWO_SHOT, text[: MIN_PROMPTS_TO_SHARE - 1]) is None
    prefix = prefix_for_prompts(tiny_handle, TWO_SHOT, text[:MIN_PROMPTS_TO_SHARE])
    assert prefix is not None
    assert encode_after_prefix(tiny_handle, [image], TWO_SHOT, prefix) is None
    inputs = encode_batch(tiny_handle, [image], TWO_SHOT, prefix)  # an image batch runs whole
    assert not runs_after_prefix(inputs) and "pixel_values" in inputs
    whole = last_position_logits(tiny_handle, forward_inputs(tiny_handle, [image], TWO_SHOT, None))
    assert torch.equal(last_position_logits(tiny_handle, with_prefix_cache(inputs, prefix)), whole)
