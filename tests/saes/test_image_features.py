"""SAE features on image tokens (tiny model, random SAE): the values equal the feature encode of the image
positions' residuals captured by hand, and the top pictures are sorted by their peak."""

import torch
from PIL import Image

from flipbank.demo_images import render_synthetic_image
from flipbank.images import blank_image
from interp.handle import ModelHandle
from interp.hooks import ResidCapture
from interp.prompts import CHAT_TEMPLATE, PromptInput, encode_prompts
from saes.features import encode_all
from saes.image_features import image_token_features, top_activating_images
from saes.loading import LoadedSAE


def _picture(index: int, finding: str) -> Image.Image:
    return render_synthetic_image(f"t/p10/p{index}/s{index}.png", frozenset({finding})).image


def test_values_are_the_image_positions_encodes(tiny_handle: ModelHandle, tiny_sae: LoadedSAE) -> None:
    pictures = [
        render_synthetic_image(f"t/p10/p{i}/s{i}.png", frozenset({"cardiomegaly"})).image for i in (1, 2)
    ]
    prompts = [PromptInput("Is the heart enlarged?", picture) for picture in pictures]
    features = [0, 5, 17]
    values = image_token_features(tiny_handle, tiny_sae, prompts, CHAT_TEMPLATE, features)
    assert values.shape == (2, 3, 16)
    inputs = encode_prompts(tiny_handle, prompts, CHAT_TEMPLATE)
    with torch.no_grad(), ResidCapture(tiny_handle.layers, [tiny_sae.layer], positions="all") as capture:
        tiny_handle.model(**inputs)
    image = inputs["input_ids"][1] == tiny_handle.image_token_id
    expected = encode_all(tiny_sae.sae, capture.activations[tiny_sae.layer][1][image])[:, features].float()
    torch.testing.assert_close(values[1], expected.T, atol=1e-4, rtol=1e-4)


def test_top_images_are_sorted_by_peak(tiny_handle: ModelHandle, tiny_sae: LoadedSAE) -> None:
    pictures = [("blank", blank_image())] + [
        (f"p{i}", render_synthetic_image(f"t/p10/p{i}/s{i}.png", frozenset({"pneumothorax"})).image)
        for i in range(3)
    ]
    values = image_token_features(
        tiny_handle, tiny_sae, [PromptInput("Any air?", p) for _, p in pictures], CHAT_TEMPLATE, [7]
    )[:, 0]
    feature = 7
    top = top_activating_images(
        tiny_handle, tiny_sae, feature, pictures, "Any air?", CHAT_TEMPLATE, k=2, batch_size=3
    )
    peaks = sorted(
        ((name, float(v.max())) for (name, _), v in zip(pictures, values, strict=True)), key=lambda x: -x[1]
    )
    assert [name for name, _ in top] == [name for name, _ in peaks[:2]]
    assert top[0][1] >= top[1][1]
