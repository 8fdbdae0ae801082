"""SAE features on image tokens: a feature's activation at each image soft token of a prompt (its map over
the picture, via `interp.attention_maps.attention_heatmap`'s grid upsampling), and the pictures that drive
it hardest.

>>> prompts = [PromptInput("Any effusion?", picture)]                               # doctest: +SKIP
>>> values = image_token_features(handle, loaded, prompts, CHAT_TEMPLATE, [3818])    # doctest: +SKIP
>>> heat = attention_heatmap(values[0, 0], image_size=896)  # the map over the picture  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from jaxtyping import Float
from PIL import Image
from torch import Tensor

from interp.handle import ModelHandle
from interp.hooks import ResidCapture
from interp.prompts import PromptInput, PromptTemplate, encode_prompts
from saes.features import feature_slice
from saes.loading import LoadedSAE


def image_token_features(
    handle: ModelHandle,
    loaded: LoadedSAE,
    prompts: Sequence[PromptInput],
    template: PromptTemplate,
    features: Sequence[int],
) -> Float[Tensor, "prompt feature image_token"]:
    """Activations of ``features`` at every image token of each prompt (all prompts show a picture), at
    the SAE's layer; float32, CPU, image tokens in grid order."""
    if handle.image_token_id is None or any(prompt.image is None for prompt in prompts):
        raise ValueError("image-token features need a model that takes images and a picture in every prompt")
    inputs = encode_prompts(handle, prompts, template)
    with (
        torch.no_grad(),
        ResidCapture(handle.layers, [loaded.layer], positions="all", stop_early=True) as capture,
    ):
        handle.model(**inputs)
    resid = capture.activations[loaded.layer]  # (prompt, position, d_model)
    image = (inputs["input_ids"] == handle.image_token_id).to(resid.device)  # (prompt, position)
    n_tokens = int(image[0].sum())
    tokens = resid[image].reshape(len(prompts), n_tokens, -1)  # (prompt, image_token, d_model)
    values = feature_slice(loaded.sae, features).encode(tokens)  # (prompt, image_token, feature)
    return values.float().cpu().transpose(1, 2)


def top_activating_images(
    handle: ModelHandle,
    loaded: LoadedSAE,
    feature: int,
    pictures: Sequence[tuple[str, Image.Image]],
    question: str,
    template: PromptTemplate,
    k: int = 8,
    batch_size: int = 8,
) -> list[tuple[str, float]]:
    """The ``k`` pictures (id, peak activation) on which ``feature`` peaks highest over the image tokens,
    each shown with ``question``."""
    peaks: list[tuple[str, float]] = []
    for start in range(0, len(pictures), batch_size):
        chunk = pictures[start : start + batch_size]
        prompts = [PromptInput(question, picture) for _, picture in chunk]
        values = image_token_features(handle, loaded, prompts, template, [feature])[:, 0]  # (prompt, token)
        peaks += [(name, float(row.max())) for (name, _), row in zip(chunk, values, strict=True)]
    return sorted(peaks, key=lambda item: item[1], reverse=True)[:k]
