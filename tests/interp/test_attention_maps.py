"""Image attention on the tiny multimodal model: weights are a share of each query's attention, the eager
kernel is used only inside the block, and the heat map upsamples the token grid."""

import pytest
import torch

from flipbank.demo_images import render_synthetic_image
from flipbank.images import blank_image
from interp.attention_maps import attention_heatmap, eager_attention, grounding_layers, image_attention
from interp.forward import last_position_logits
from interp.handle import ModelHandle
from interp.prompts import CHAT_TEMPLATE, PromptInput, encode_prompts


def test_image_attention_is_a_share_of_attention_and_sdpa_comes_back(tiny_handle: ModelHandle) -> None:
    picture = render_synthetic_image("t/p10/p1/s1.png", frozenset({"pleural effusion"})).image
    prompts = [
        PromptInput("Is there an effusion?", picture),
        PromptInput("Any fluid at all here?", blank_image()),
    ]
    before = tiny_handle.model.config._attn_implementation
    weights = image_attention(tiny_handle, prompts, CHAT_TEMPLATE, layers=[1, 2], last_queries=2)
    assert weights.shape == (2, 16) and (weights >= 0).all() and (weights.sum(dim=1) <= 1 + 1e-5).all()
    assert tiny_handle.model.config._attn_implementation == before == "sdpa"
    inputs = encode_prompts(tiny_handle, prompts, CHAT_TEMPLATE)
    plain = last_position_logits(tiny_handle, inputs)
    with eager_attention(tiny_handle.model):
        eager = last_position_logits(tiny_handle, inputs)
    torch.testing.assert_close(eager, plain, atol=1e-4, rtol=1e-4)  # the kernel changes nothing else


def test_the_heatmap_upsamples_the_grid_and_the_layers_scale_by_depth() -> None:
    weights = torch.zeros(16)
    weights[15] = 1.0  # the bottom-right token of a 4 × 4 grid
    heat = attention_heatmap(weights, image_size=64)
    assert heat.shape == (64, 64) and heat[63, 63] == pytest.approx(heat.max()) and heat[0, 0] == 0
    assert grounding_layers(34) == tuple(range(10, 21)) and grounding_layers(18) == (5, 6, 7, 8, 9, 10, 11)
    with pytest.raises(ValueError, match="square grid"):
        attention_heatmap(torch.ones(15), 64)
