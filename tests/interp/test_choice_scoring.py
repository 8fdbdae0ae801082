"""Letter probabilities on the tiny model: a distribution over exactly the item's letters, equal to the
softmax of the letters' logits; option likelihoods equal to teacher forcing each option after the prompt."""

import numpy as np
import pytest
import torch
from PIL import Image

from interp.choice_scoring import letter_probabilities, letter_token_ids, option_log_likelihoods
from interp.forward import last_position_logits
from interp.handle import ModelHandle
from interp.prompts import CHAT_TEMPLATE, PromptInput, encode_prompts


def test_letter_probabilities_are_the_letters_softmax(tiny_handle: ModelHandle) -> None:
    prompts = [PromptInput("Which?\nA. x\nB. y"), PromptInput("Which?\nA. x\nB. y\nC. z")]
    found = letter_probabilities(tiny_handle, prompts, [2, 3], CHAT_TEMPLATE, batch_size=1)
    assert [p.shape for p in found] == [(2,), (3,)] and all(p.sum() == pytest.approx(1.0) for p in found)
    logits = last_position_logits(tiny_handle, encode_prompts(tiny_handle, prompts[1:], CHAT_TEMPLATE))[0]
    ids = letter_token_ids(tiny_handle, 3, CHAT_TEMPLATE.answer_leading_space)
    expected = torch.softmax(logits.double()[ids], dim=-1).numpy()
    np.testing.assert_allclose(found[1], expected, rtol=1e-5)
    with pytest.raises(ValueError, match="2 prompts but 1 option counts"):
        letter_probabilities(tiny_handle, prompts, [2], CHAT_TEMPLATE)


def _teacher_forced_mean(handle: ModelHandle, prompt: PromptInput, option: str) -> float:
    encoded = encode_prompts(handle, [prompt], CHAT_TEMPLATE)
    option_ids = handle.tokenizer.encode(option, add_special_tokens=False)
    ids = torch.cat([encoded["input_ids"], torch.tensor([option_ids])], dim=1)
    with torch.inference_mode():
        logits = handle.model(input_ids=ids).logits[0].float()
    start = encoded["input_ids"].shape[1]
    log_p = torch.log_softmax(logits[start - 1 : -1], dim=-1)
    return float(log_p[torch.arange(len(option_ids)), torch.tensor(option_ids)].mean())


def test_option_likelihoods_are_the_options_mean_token_log_probability(
    tiny_handle: ModelHandle, xray_like_image: Image.Image
) -> None:
    prompt = PromptInput("Which statement fits?\nA. It shows a nodule.\nB. It shows no nodule.")
    options = ["It shows a nodule.", "It shows no nodule at all, none."]  # different lengths: right padding
    (found,) = option_log_likelihoods(tiny_handle, [prompt], [options], CHAT_TEMPLATE)
    expected = [_teacher_forced_mean(tiny_handle, prompt, option) for option in options]
    np.testing.assert_allclose(found, expected, rtol=1e-4, atol=1e-4)
    (with_image,) = option_log_likelihoods(
        tiny_handle, [PromptInput(prompt.question, xray_like_image)], [options], CHAT_TEMPLATE
    )
    assert with_image.shape == (2,) and np.all(with_image < 0)
    other = PromptInput("Is the heart big?", None)  # a shorter prompt with three options, in one batch
    batched = option_log_likelihoods(
        tiny_handle, [prompt, other], [options, ["yes", "no", "maybe so"]], CHAT_TEMPLATE, batch_size=2
    )
    np.testing.assert_allclose(batched[0], found, rtol=1e-4, atol=1e-4)
    expected_other = [
        _teacher_forced_mean(tiny_handle, other, option) for option in ["yes", "no", "maybe so"]
    ]
    np.testing.assert_allclose(batched[1], expected_other, rtol=1e-4, atol=1e-4)
    with pytest.raises(ValueError, match="1 prompts but 2 option lists"):
        option_log_likelihoods(tiny_handle, [prompt], [options, options], CHAT_TEMPLATE)
