"""Attention from chosen query positions to the image tokens, averaged over heads and a layer range, and its
heat map over the picture (PSF-Med Table 4's grounding). Attention weights need the eager kernel, so it is
switched on only inside `eager_attention` and restored after: ordinary forwards stay on SDPA.

>>> from interp import load_model                                             # doctest: +SKIP
>>> handle = load_model("demo-vlm")                                           # doctest: +SKIP
>>> prompts = [PromptInput("Is there an effusion?", picture)]                 # doctest: +SKIP
>>> weights = image_attention(handle, prompts, CHAT_TEMPLATE)                 # doctest: +SKIP
>>> heat = attention_heatmap(weights[0], image_size=224)                      # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import numpy as np
import torch
from jaxtyping import Float
from numpy.typing import NDArray
from torch import Tensor
from transformers import PreTrainedModel

from interp.handle import ModelHandle
from interp.lora_layers import scaled_range
from interp.prompts import PromptInput, PromptTemplate, encode_prompts
from interp.vocab_positions import no_positions

#: The paper's layer range for attention to pathology boxes, on MedGemma-4B's 34 layers.
PAPER_GROUNDING_LAYERS = (10, 20)


def grounding_layers(n_layers: int) -> tuple[int, ...]:
    """Layers 10–20 of 34 scaled by depth to a model with ``n_layers`` decoder layers."""
    return scaled_range(*PAPER_GROUNDING_LAYERS, n_layers)


@contextmanager
def eager_attention(model: PreTrainedModel) -> Iterator[None]:
    """Run ``model`` with the eager attention kernel (which returns weights) inside the block only."""
    previous = model.config._attn_implementation
    model.set_attn_implementation("eager")
    try:
        yield
    finally:
        model.set_attn_implementation(previous)


def image_attention(
    handle: ModelHandle,
    prompts: Sequence[PromptInput],
    template: PromptTemplate,
    layers: Sequence[int] | None = None,
    last_queries: int = 1,
) -> Float[Tensor, "prompt image_token"]:
    """Per prompt (each with an image), the attention of its last ``last_queries`` positions to each image
    token, averaged over heads, those queries and ``layers`` (default `grounding_layers`); float32, CPU."""
    if handle.image_token_id is None or any(prompt.image is None for prompt in prompts):
        raise ValueError("image attention needs a model that takes images and a picture in every prompt")
    chosen = list(layers if layers is not None else grounding_layers(handle.n_layers))
    inputs = encode_prompts(handle, prompts, template)
    with eager_attention(handle.model), torch.no_grad():
        output = handle.model(
            **inputs, output_attentions=True, logits_to_keep=no_positions(), use_cache=False
        )
    stacked = torch.stack(
        [output.attentions[layer].float() for layer in chosen]
    )  # (layer, batch, head, q, k)
    per_key = stacked[:, :, :, -last_queries:, :].mean(dim=(0, 2, 3))  # (batch, key)
    image = inputs["input_ids"] == handle.image_token_id  # (batch, key)
    n_tokens = int(image[0].sum())
    return per_key[image].reshape(len(prompts), n_tokens).cpu()


def attention_heatmap(weights: Float[Tensor, " image_token"], image_size: int) -> NDArray[np.float64]:
    """The image-token weights on their √n × √n grid, upsampled bilinearly to ``image_size`` pixels."""
    side = round(weights.numel() ** 0.5)
    if side * side != weights.numel():
        raise ValueError(f"{weights.numel()} image tokens do not form a square grid")
    grid = weights.float().reshape(1, 1, side, side)
    upsampled = torch.nn.functional.interpolate(grid, size=(image_size, image_size), mode="bilinear")
    return upsampled[0, 0].clamp_min(0.0).double().numpy()
