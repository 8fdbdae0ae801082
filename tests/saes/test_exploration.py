import pytest
import torch

from interp.handle import ModelHandle
from interp.hooks import ResidCapture
from interp.prompts import CHAT_TEMPLATE, FEW_SHOT_TEMPLATE, PromptInput, encode_prompts
from saes.exploration import (
    activation_on_question,
    direct_logit_effect,
    final_norm,
    token_activations,
    top_activating_prompts,
    top_activating_tokens,
)
from saes.features import encode_all
from saes.loading import LoadedSAE
from tests.saes.sae_factories import random_jumprelu

PROMPTS = [PromptInput(q) for q in ("Is there a pleural effusion?", "Any fluid here?", "Is the heart big?")]


def _busiest_feature(handle: ModelHandle, loaded: LoadedSAE) -> int:
    inputs = encode_prompts(handle, PROMPTS, CHAT_TEMPLATE)
    with ResidCapture(handle.layers, [2], positions="all") as capture, torch.no_grad():
        handle.model(**inputs)
    return int((encode_all(loaded.sae, capture.activations[2]) > 0).sum((0, 1)).argmax())


def test_token_table_holds_the_features_activation(tiny_handle: ModelHandle, tiny_sae: LoadedSAE) -> None:
    feature = _busiest_feature(tiny_handle, tiny_sae)
    table = token_activations(tiny_handle, tiny_sae, feature, PROMPTS, CHAT_TEMPLATE, batch_size=2)
    single = encode_prompts(tiny_handle, PROMPTS[1:2], CHAT_TEMPLATE)
    assert (table.prompt_index == 1).sum() == single["input_ids"].shape[1]  # padding is not listed
    with ResidCapture(tiny_handle.layers, [2], positions="all") as capture, torch.no_grad():
        tiny_handle.model(**single)
    expected = encode_all(tiny_sae.sae, capture.activations[2])[0, :, feature]
    got = torch.tensor(table[table.prompt_index == 1].activation.tolist())
    torch.testing.assert_close(got, expected, rtol=1e-4, atol=1e-4)
    first = table[table.position == 0]
    assert (first.token == "<bos>").all() and not first.counted.any()
    top = top_activating_tokens(table, k=4)
    assert top.activation.is_monotonic_decreasing and top.counted.all()
    assert top.context.str.contains(r"\[\[").all()
    prompts = top_activating_prompts(table, k=3)
    assert prompts.prompt_index.is_unique and prompts.activation.iloc[0] == top.activation.iloc[0]


def test_activation_on_a_typed_question(tiny_handle: ModelHandle, tiny_sae: LoadedSAE) -> None:
    table = activation_on_question(tiny_handle, tiny_sae, 3, "Is the heart big?", FEW_SHOT_TEMPLATE)
    assert table.token.iloc[-1] == ":" and list(table.position) == list(range(len(table)))
    assert {"token", "activation", "counted"} <= set(table.columns)


def test_direct_logit_effect_uses_gemmas_final_norm_gain(demo_handle: ModelHandle) -> None:
    sae = random_jumprelu(demo_handle.d_model, 8, seed=4)
    loaded = LoadedSAE(sae=sae, layer=9, hook_point="model.layers.9.output", source="random")
    effect = direct_logit_effect(demo_handle, loaded, 5, FEW_SHOT_TEMPLATE)
    norm_weight = final_norm(demo_handle).weight
    assert isinstance(norm_weight, torch.Tensor)
    gain = 1.0 + norm_weight.detach().float()  # Gemma 3's RMSNorm convention
    tokens = demo_handle.yes_no_tokens(leading_space=True)
    unembedding = demo_handle.model.get_output_embeddings().weight.detach().float()
    direction = gain * sae.W_dec[5].detach()
    expected = float((unembedding[tokens.primary_yes] - unembedding[tokens.primary_no]) @ direction)
    assert effect.norm_scale == 1.0
    assert effect.yes_minus_no == pytest.approx(expected, rel=1e-4)
    scaled = direct_logit_effect(demo_handle, loaded, 5, FEW_SHOT_TEMPLATE, PROMPTS)
    assert 1000 < scaled.norm_scale < 100_000  # the final residual's RMS (README, Gotchas)
    assert scaled.yes_minus_no == pytest.approx(expected / scaled.norm_scale, rel=1e-4)
