"""Attribution patching on the tiny model: the feature and error nodes add up to the whole final-token
difference (exactly, by the SAE's decomposition), each feature's estimate matches a finite difference of
a small real patch, and with integrated gradients the nodes add up to the real margin change of replacing
the paraphrase's final-token residual by the original's."""

import pytest
import torch

from interp.forward import last_position_logits
from interp.handle import ModelHandle
from interp.hooks import ResidEdit
from interp.margin import yes_minus_no_margin
from interp.patching import pairs_prefix
from interp.prompt_pair import PromptPair
from interp.prompts import (
    CHAT_TEMPLATE,
    PromptInput,
    encode_prompts,
)
from interp.resid_cache import final_token_resid
from saes.attribution import attribution_patching, path_gradient, path_points
from saes.features import encode_all
from saes.loading import LoadedSAE
from tests.templates import TWO_SHOT

PAIRS = [
    PromptPair(PromptInput("Is there a pleural effusion?"), PromptInput("Any fluid around the lungs?")),
    PromptPair(PromptInput("Is the heart enlarged?"), PromptInput("Is there cardiomegaly on this film?")),
    PromptPair(PromptInput("Is there a pneumothorax?"), PromptInput("Is air in the pleural space?")),
]


def test_the_nodes_add_up_to_the_whole_difference(tiny_handle: ModelHandle, tiny_sae: LoadedSAE) -> None:
    attribution = attribution_patching(tiny_handle, tiny_sae, PAIRS, CHAT_TEMPLATE, batch_size=2)
    assert attribution.features.shape == (3, tiny_sae.sae.cfg.d_sae)
    layer = tiny_sae.layer
    x_o = final_token_resid(tiny_handle, [p.original for p in PAIRS], CHAT_TEMPLATE, [layer])[:, 0]
    path = path_gradient(tiny_handle, PAIRS, layer, CHAT_TEMPLATE, x_o)
    whole = -((path.paraphrase_resid - x_o) * path.gradient).sum(dim=-1)
    total = attribution.features.sum(dim=1) + attribution.error
    torch.testing.assert_close(total, whole.float(), atol=1e-4, rtol=1e-3)
    assert attribution.ranking()[0] == int(attribution.mean_effect().abs().argmax())


def test_each_estimate_matches_a_finite_difference(tiny_handle: ModelHandle, tiny_sae: LoadedSAE) -> None:
    pairs, layer, sae = PAIRS[:1], tiny_sae.layer, tiny_sae.sae
    attribution = attribution_patching(tiny_handle, tiny_sae, pairs, CHAT_TEMPLATE)
    x_o = final_token_resid(tiny_handle, [pairs[0].original], CHAT_TEMPLATE, [layer])[:, 0]
    x_p = final_token_resid(tiny_handle, [pairs[0].paraphrase], CHAT_TEMPLATE, [layer])[:, 0]
    delta = (encode_all(sae, x_p) - encode_all(sae, x_o)).float()[0]
    inputs = encode_prompts(tiny_handle, [pairs[0].paraphrase], CHAT_TEMPLATE)
    tokens = tiny_handle.yes_no_tokens(CHAT_TEMPLATE.answer_leading_space)
    clean = yes_minus_no_margin(last_position_logits(tiny_handle, inputs), tokens)[0]
    checked = 0
    for feature in torch.argsort(delta.abs(), descending=True)[:3].tolist():
        epsilon = 1e-2
        shift = epsilon * delta[feature] * sae.W_dec[feature].detach()

        def patch(hidden: torch.Tensor, shift: torch.Tensor = shift) -> torch.Tensor:
            hidden = hidden.clone()
            hidden[:, -1] -= shift
            return hidden

        with ResidEdit(tiny_handle.layers, {layer: patch}):
            patched = yes_minus_no_margin(last_position_logits(tiny_handle, inputs), tokens)[0]
        estimate = float(attribution.features[0, feature])
        assert float(patched - clean) / epsilon == pytest.approx(estimate, rel=0.05, abs=1e-3)
        checked += 1
    assert checked == 3


def test_path_points_are_midpoints() -> None:
    assert path_points(0) == [0.0]
    assert path_points(4) == [0.125, 0.375, 0.625, 0.875]
    with pytest.raises(ValueError, match="steps"):
        path_points(-1)


def test_integrated_gradients_add_up_to_the_real_replacement(
    tiny_handle: ModelHandle, tiny_sae: LoadedSAE
) -> None:
    layer = tiny_sae.layer
    attribution = attribution_patching(tiny_handle, tiny_sae, PAIRS, CHAT_TEMPLATE, steps=12)
    x_o = final_token_resid(tiny_handle, [p.original for p in PAIRS], CHAT_TEMPLATE, [layer])[:, 0]
    inputs = encode_prompts(tiny_handle, [p.paraphrase for p in PAIRS], CHAT_TEMPLATE)
    tokens = tiny_handle.yes_no_tokens(CHAT_TEMPLATE.answer_leading_space)

    def replace(hidden: torch.Tensor) -> torch.Tensor:
        hidden = hidden.clone()
        hidden[:, -1] = x_o.to(hidden)
        return hidden

    with ResidEdit(tiny_handle.layers, {layer: replace}):
        replaced = yes_minus_no_margin(last_position_logits(tiny_handle, inputs), tokens).float()
    clean = yes_minus_no_margin(last_position_logits(tiny_handle, inputs), tokens).float()
    torch.testing.assert_close(attribution.paraphrase_margins, clean, atol=1e-4, rtol=1e-4)
    total = attribution.features.sum(dim=1) + attribution.error
    real = replaced - clean
    assert float(real.abs().max()) > 1e-3  # the replacement moves the margin, so the check has teeth
    torch.testing.assert_close(total, real, atol=2e-3, rtol=2e-2)


def test_the_shared_few_shot_prefix_gives_the_same_gradient(
    tiny_handle: ModelHandle, tiny_sae: LoadedSAE
) -> None:
    layer = tiny_sae.layer
    prefix = pairs_prefix(tiny_handle, PAIRS, TWO_SHOT)
    assert prefix is not None
    x_o = final_token_resid(tiny_handle, [p.original for p in PAIRS], TWO_SHOT, [layer])[:, 0]
    whole = path_gradient(tiny_handle, PAIRS, layer, TWO_SHOT, x_o, steps=2)
    shared = path_gradient(tiny_handle, PAIRS, layer, TWO_SHOT, x_o, steps=2, prefix=prefix)
    for ours, reference in zip(
        (shared.paraphrase_resid, shared.gradient, shared.margins),
        (whole.paraphrase_resid, whole.gradient, whole.margins),
        strict=True,
    ):
        torch.testing.assert_close(ours, reference, atol=1e-4, rtol=1e-3)
