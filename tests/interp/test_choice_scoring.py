"""Letter probabilities on the tiny model: a distribution over exactly the item's letters, equal to the
softmax of the letters' logits."""

import numpy as np
import pytest
import torch

from interp.choice_scoring import letter_probabilities, letter_token_ids
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
