import pytest
import torch

from interp.handle import ModelHandle
from interp.patching import margins_of, patched_margins
from interp.prompt_pair import PromptPair
from interp.prompts import FEW_SHOT_TEMPLATE, PromptInput
from interp.resid_cache import final_token_resid
from tests.interp.feature_builders import direction_features

PAIRS = [
    PromptPair(PromptInput("Is there a pleural effusion?"), PromptInput("Is there no pleural effusion?")),
    PromptPair(PromptInput("Is the heart enlarged?"), PromptInput("Any cardiomegaly at all here?")),
]


@pytest.fixture(scope="module")
def last_layer_setup(demo_handle: ModelHandle) -> tuple[int, torch.Tensor, torch.Tensor]:
    layer = demo_handle.n_layers - 1
    originals = final_token_resid(demo_handle, [p.original for p in PAIRS], FEW_SHOT_TEMPLATE, [layer])[:, 0]
    paraphrases = final_token_resid(demo_handle, [p.paraphrase for p in PAIRS], FEW_SHOT_TEMPLATE, [layer])[
        :, 0
    ]
    return layer, originals, paraphrases


def test_a_feature_that_carries_the_whole_difference_recovers_everything(
    demo_handle: ModelHandle, last_layer_setup: tuple[int, torch.Tensor, torch.Tensor]
) -> None:
    layer, originals, paraphrases = last_layer_setup
    pair = PAIRS[:1]
    difference = originals[0] - paraphrases[0]
    offset = (
        float(-torch.minimum(originals[0] @ difference, paraphrases[0] @ difference) / difference.norm()) + 1
    )
    carrier = direction_features(difference[None], bias=offset)
    original_margin = margins_of(demo_handle, [pair[0].original], FEW_SHOT_TEMPLATE)
    paraphrase_margin = margins_of(demo_handle, [pair[0].paraphrase], FEW_SHOT_TEMPLATE)
    patched = patched_margins(demo_handle, pair, layer, carrier, FEW_SHOT_TEMPLATE, progress=False)
    assert abs(original_margin - paraphrase_margin).item() > 0.05
    recovery = (patched - paraphrase_margin) / (original_margin - paraphrase_margin)
    assert abs(recovery.item() - 1.0) < 0.02


def test_an_orthogonal_feature_recovers_nothing(
    demo_handle: ModelHandle, last_layer_setup: tuple[int, torch.Tensor, torch.Tensor]
) -> None:
    layer, originals, paraphrases = last_layer_setup
    difference = originals[0] - paraphrases[0]
    other = torch.randn(demo_handle.d_model, generator=torch.Generator().manual_seed(0))
    other = other - (other @ difference) / (difference @ difference) * difference
    bystander = direction_features(other[None], bias=1e5)
    paraphrase_margin = margins_of(demo_handle, [PAIRS[0].paraphrase], FEW_SHOT_TEMPLATE)
    patched = patched_margins(demo_handle, PAIRS[:1], layer, bystander, FEW_SHOT_TEMPLATE, progress=False)
    assert abs((patched - paraphrase_margin).item()) < 1e-3


def test_identical_prompts_are_a_zero_control(demo_handle: ModelHandle) -> None:
    same = [PromptPair(p.original, p.original) for p in PAIRS]
    features = direction_features(
        torch.randn(3, demo_handle.d_model, generator=torch.Generator().manual_seed(1))
    )
    clean = margins_of(demo_handle, [p.paraphrase for p in same], FEW_SHOT_TEMPLATE)
    for positions in ("final", "all"):
        patched = patched_margins(
            demo_handle, same, 9, features, FEW_SHOT_TEMPLATE, positions=positions, progress=False
        )
        assert torch.allclose(patched, clean, atol=1e-3)


def test_batching_and_cached_originals_do_not_change_the_result(demo_handle: ModelHandle) -> None:
    features = direction_features(
        torch.randn(2, demo_handle.d_model, generator=torch.Generator().manual_seed(2))
    )
    together = patched_margins(
        demo_handle, PAIRS, 9, features, FEW_SHOT_TEMPLATE, batch_size=2, progress=False
    )
    cached = final_token_resid(demo_handle, [p.original for p in PAIRS], FEW_SHOT_TEMPLATE, [9])[:, 0]
    alone = patched_margins(
        demo_handle,
        PAIRS,
        9,
        features,
        FEW_SHOT_TEMPLATE,
        original_resid=cached,
        batch_size=1,
        progress=False,
    )
    assert torch.allclose(together, alone, atol=1e-3)


def test_all_positions_differs_from_final_only(demo_handle: ModelHandle) -> None:
    directions = torch.randn(2, demo_handle.d_model, generator=torch.Generator().manual_seed(3))
    features = direction_features(directions, bias=1e4)  # active everywhere, so Δf ≠ 0
    final = patched_margins(demo_handle, PAIRS, 5, features, FEW_SHOT_TEMPLATE, progress=False)
    every = patched_margins(
        demo_handle, PAIRS, 5, features, FEW_SHOT_TEMPLATE, positions="all", progress=False
    )
    assert (final - every).abs().max() > 1e-4


def test_the_shared_prefix_does_not_change_patched_margins(demo_handle: ModelHandle) -> None:
    directions = torch.randn(2, demo_handle.d_model, generator=torch.Generator().manual_seed(4))
    features = direction_features(directions, bias=1e4)
    shared = patched_margins(demo_handle, PAIRS, 7, features, FEW_SHOT_TEMPLATE, progress=False)
    whole = patched_margins(
        demo_handle, PAIRS, 7, features, FEW_SHOT_TEMPLATE, progress=False, share_prefix=False
    )
    clean = margins_of(demo_handle, [p.paraphrase for p in PAIRS], FEW_SHOT_TEMPLATE, share_prefix=False)
    assert (whole - clean).abs().max() > 1e-2  # the patch moves the margins
    assert torch.allclose(shared, whole, atol=1e-3)


def test_a_repeated_original_is_run_once_and_read_for_each_pair(demo_handle: ModelHandle) -> None:
    prompts = [PAIRS[0].original, PAIRS[1].original, PAIRS[0].original]
    resid = final_token_resid(demo_handle, prompts, FEW_SHOT_TEMPLATE, [4])
    alone = final_token_resid(demo_handle, prompts[1:2], FEW_SHOT_TEMPLATE, [4])
    assert resid.shape == (3, 1, demo_handle.d_model)
    assert torch.equal(resid[0], resid[2])
    assert torch.allclose(resid[1], alone[0], atol=1e-3, rtol=1e-4)
