"""The one final-token capture path: image and text prompts in one call are batched apart and come back in
the caller's order, equal to each prompt run alone; margins likewise."""

import numpy as np
import torch
from PIL import Image

from interp.handle import ModelHandle
from interp.patching import margins_of
from interp.prompts import CHAT_TEMPLATE, PromptInput
from interp.resid_cache import final_token_resid


def _mixed_prompts() -> list[PromptInput]:
    rng = np.random.default_rng(3)
    image = Image.fromarray(rng.integers(0, 256, (224, 224, 3), dtype=np.uint8), mode="RGB")
    questions = ("Is there an effusion?", "Is the heart enlarged?", "Any pneumothorax?", "Is there a mass?")
    return [PromptInput(q, image if i % 2 else None) for i, q in enumerate(questions)]


def test_mixed_image_and_text_prompts_match_each_prompt_alone(tiny_handle: ModelHandle) -> None:
    prompts = _mixed_prompts()
    together = final_token_resid(tiny_handle, prompts, CHAT_TEMPLATE, [1, 3], batch_size=4)
    alone = torch.cat([final_token_resid(tiny_handle, [p], CHAT_TEMPLATE, [1, 3]) for p in prompts])
    assert together.shape == (4, 2, tiny_handle.d_model) and together.device.type == "cpu"
    torch.testing.assert_close(together, alone, atol=1e-4, rtol=1e-4)
    assert not torch.allclose(together[0], together[1], atol=1e-3)  # the image changes the residual


def test_mixed_prompts_get_their_own_margins(tiny_handle: ModelHandle) -> None:
    prompts = _mixed_prompts()
    together = margins_of(tiny_handle, prompts, CHAT_TEMPLATE, batch_size=4)
    alone = torch.cat([margins_of(tiny_handle, [p], CHAT_TEMPLATE) for p in prompts])
    torch.testing.assert_close(together, alone, atol=1e-4, rtol=1e-4)
