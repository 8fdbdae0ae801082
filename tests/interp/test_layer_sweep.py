import torch

from interp.handle import ModelHandle
from interp.layer_sweep import feature_patch_sweep, resid_patch_sweep
from interp.patching import margins_of, patched_margins
from interp.prompt_pair import PromptPair
from interp.prompts import FEW_SHOT_TEMPLATE, PromptInput
from tests.interp.feature_builders import direction_features

PAIRS = [
    PromptPair(PromptInput("Is there a pleural effusion?"), PromptInput("Is there no pleural effusion?")),
    PromptPair(PromptInput("Is a pneumothorax present?"), PromptInput("Is there a collapsed lung?")),
]


def test_patching_the_last_layer_restores_the_original_margin(demo_handle: ModelHandle) -> None:
    last = demo_handle.n_layers - 1
    sweep = resid_patch_sweep(demo_handle, PAIRS, FEW_SHOT_TEMPLATE, layers=[0, last], progress=False)
    originals = margins_of(demo_handle, [p.original for p in PAIRS], FEW_SHOT_TEMPLATE)
    paraphrases = margins_of(demo_handle, [p.paraphrase for p in PAIRS], FEW_SHOT_TEMPLATE)
    assert torch.allclose(sweep[last], originals, atol=1e-3)
    assert not torch.allclose(sweep[0], originals, atol=1e-3)
    assert not torch.allclose(sweep[0], paraphrases, atol=1e-6)  # an early patch moves the margin a little


def test_feature_sweep_equals_direct_patching_at_each_layer(demo_handle: ModelHandle) -> None:
    generator = torch.Generator().manual_seed(5)
    features = {
        layer: direction_features(torch.randn(2, demo_handle.d_model, generator=generator), bias=50.0)
        for layer in (4, 9)
    }
    sweep = feature_patch_sweep(demo_handle, PAIRS, FEW_SHOT_TEMPLATE, features, progress=False)
    whole = feature_patch_sweep(
        demo_handle, PAIRS, FEW_SHOT_TEMPLATE, features, progress=False, share_prefix=False
    )
    for layer, feature in features.items():
        direct = patched_margins(demo_handle, PAIRS, layer, feature, FEW_SHOT_TEMPLATE, progress=False)
        assert torch.allclose(sweep[layer], direct, atol=1e-4)
        assert torch.allclose(sweep[layer], whole[layer], atol=1e-3)
