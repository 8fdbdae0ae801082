from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from PIL import Image

from interp.forward import score_prompts
from interp.handle import ModelHandle
from interp.hooks import ResidCapture
from interp.prompt_pair import PromptPair
from interp.prompts import CHAT_TEMPLATE, FEW_SHOT_TEMPLATE, PromptInput, encode_prompts
from saes.feature_table import RankingConfig, feature_table
from saes.features import encode_all
from saes.loading import LoadedSAE
from saes.ranking import collect_pair_activations, rank_features, rank_pairs
from tests.numerics import assert_features_close, assert_same_features


def text_pair(
    pair_id: str,
    question_id: str,
    original: str,
    paraphrase: str,
    phenomenon: str,
    image: Image.Image | None = None,
) -> PromptPair:
    return PromptPair(
        PromptInput(original, image), PromptInput(paraphrase, image), pair_id, question_id, phenomenon
    )


PAIRS = [
    text_pair(
        "q1/0",
        "q1",
        "Is there a pleural effusion?",
        "Any fluid around the lungs here?",
        "specificity_modulation",
    ),
    text_pair(
        "q1/1", "q1", "Is there a pleural effusion?", "Is there no pleural effusion?", "negation_pattern"
    ),
    text_pair(
        "q2/0",
        "q2",
        "Is the heart enlarged?",
        "Is there radiographic evidence of cardiomegaly?",
        "specificity_modulation",
    ),
    text_pair("q2/1", "q2", "Is the heart enlarged?", "Is the heart big?", "lexical_substitution"),
    text_pair(
        "q3/0", "q3", "Is there a pneumothorax?", "Is a collapsed lung present?", "lexical_substitution"
    ),
]


def test_feature_table_recovers_a_planted_feature() -> None:
    rng = np.random.default_rng(1)
    n, d = 60, 12
    delta_margin = rng.normal(size=n)
    delta_f = rng.normal(scale=0.2, size=(n, d))
    delta_f[:, 7] = 3.0 * delta_margin  # largest |Δf| and perfectly correlated
    f_para = np.abs(rng.normal(size=(n, d)))
    flipped = np.arange(n) < 20
    f_para[flipped, 7] += 5.0  # fires harder on flips
    phenomena = ["negation_pattern" if i % 2 else "lexical_substitution" for i in range(n)]
    registers = ["other"] * n
    table = feature_table(
        delta_f, f_para, delta_margin, flipped, phenomena, registers, RankingConfig(n_top=3)
    )
    best = table.iloc[0]
    assert best["feature"] == 7 and best["rank"] == 1 and len(table) == 3
    assert best["pearson_r"] == pytest.approx(1.0) and best["pearson_ci_low"] == pytest.approx(1.0)
    assert best["spearman_r"] == pytest.approx(1.0)
    assert best["mwu_p"] < 1e-6 and best["mean_act_flip"] > best["mean_act_no_flip"] + 4
    assert (best["n_flip"], best["n_no_flip"]) == (20, 40)
    assert abs(table.iloc[1]["pearson_r"]) < 0.5
    expected = f_para[1:20:2, 7].mean()  # over the flip pairs only
    assert best["mean_act[phenomenon=negation_pattern]"] == pytest.approx(expected)
    assert "mean_act[register=other]" in table.columns


def test_a_feature_noisy_only_on_control_pairs_does_not_win() -> None:
    rng = np.random.default_rng(3)
    n_flip, n_control, d = 30, 100, 6
    flipped = np.arange(n_flip + n_control) < n_flip
    delta_margin = rng.normal(size=n_flip + n_control)
    delta_f = rng.normal(scale=0.1, size=(n_flip + n_control, d))
    delta_f[flipped, 2] = 1.0 * delta_margin[flipped]  # moves with the margin on flips
    delta_f[~flipped, 4] = rng.normal(scale=5.0, size=n_control)  # loud noise on controls only
    f_para = np.abs(rng.normal(size=(n_flip + n_control, d)))
    labels = ["lexical_substitution"] * (n_flip + n_control)
    table = feature_table(delta_f, f_para, delta_margin, flipped, labels, labels, RankingConfig(n_top=d))
    assert table.iloc[0]["feature"] == 2
    noisy = table.set_index("feature").loc[4]
    assert noisy["mean_abs_delta_control"] > 3.0 and noisy["mean_abs_delta"] < 0.2
    best = table.iloc[0]
    assert best["pearson_r"] == pytest.approx(1.0)  # over the flips alone; pooled it would be diluted
    expected = np.abs(delta_f[flipped, 2]).mean()
    assert best["mean_abs_delta"] == pytest.approx(expected)
    with pytest.raises(ValueError, match="none of the 130 pairs is flipped"):
        feature_table(delta_f, f_para, delta_margin, np.zeros_like(flipped), labels, labels)


def test_pair_features_match_single_prompt_encodes(tiny_handle: ModelHandle, tiny_sae: LoadedSAE) -> None:
    activations = collect_pair_activations(tiny_handle, tiny_sae, PAIRS, FEW_SHOT_TEMPLATE, batch_size=2)
    assert activations.f_original.shape == (5, tiny_sae.d_sae)
    assert torch.equal(activations.f_original[0], activations.f_original[1])  # one original, run once
    single = encode_prompts(tiny_handle, [PAIRS[2].paraphrase], FEW_SHOT_TEMPLATE)
    with ResidCapture(tiny_handle.layers, [2]) as capture, torch.no_grad():
        tiny_handle.model(**single)
    expected = encode_all(tiny_sae.sae, capture.activations[2])[0]
    resid = capture.activations[2][0]
    assert_features_close(activations.f_paraphrase[2], expected, tiny_sae.sae, resid, rtol=1e-4, atol=1e-4)
    scores = score_prompts(tiny_handle, [p.paraphrase for p in PAIRS], FEW_SHOT_TEMPLATE, progress=False)
    torch.testing.assert_close(
        activations.paraphrase_margin, torch.tensor([s.margin for s in scores]), atol=1e-4, rtol=0
    )


def test_known_margins_skip_the_logits_and_agree(tiny_handle: ModelHandle, tiny_sae: LoadedSAE) -> None:
    measured = collect_pair_activations(tiny_handle, tiny_sae, PAIRS, FEW_SHOT_TEMPLATE)
    known = [
        replace(p, original_margin=float(mo), paraphrase_margin=float(mp), flipped=i == 0)
        for i, (p, mo, mp) in enumerate(
            zip(PAIRS, measured.original_margin, measured.paraphrase_margin, strict=True)
        )
    ]
    early = collect_pair_activations(tiny_handle, tiny_sae, known, FEW_SHOT_TEMPLATE)
    torch.testing.assert_close(early.f_paraphrase, measured.f_paraphrase)
    torch.testing.assert_close(early.paraphrase_margin, measured.paraphrase_margin)
    ranking = rank_features(known, early, RankingConfig(n_top=4, n_resamples=50))
    assert ranking.pairs["flipped"].tolist() == [True, False, False, False, False]
    assert set(ranking.pairs["flip_source"]) == {"parsed_answer"}


def test_rank_pairs_writes_parquet_and_summary(
    tiny_handle: ModelHandle, tiny_sae: LoadedSAE, tmp_path: Path
) -> None:
    labelled = [replace(pair, flipped=index in (1, 3)) for index, pair in enumerate(PAIRS)]
    ranking = rank_pairs(
        tiny_handle, tiny_sae, labelled, FEW_SHOT_TEMPLATE, RankingConfig(n_top=5, n_resamples=100)
    )
    features_path, pairs_path = ranking.write(tmp_path)
    features = pd.read_parquet(features_path)
    assert features["mean_abs_delta"].is_monotonic_decreasing and len(features) == 5
    pairs = pd.read_parquet(pairs_path)
    assert pairs["register"].tolist() == ["casual", "other", "formal", "other", "other"]
    np.testing.assert_allclose(pairs["delta_margin"], pairs["paraphrase_margin"] - pairs["original_margin"])
    top = int(features.iloc[0]["feature"])
    assert f"delta_f[{top}]" in pairs.columns
    assert pairs["flipped"].tolist() == [False, True, False, True, False]
    flip_deltas = pairs.loc[pairs["flipped"], f"delta_f[{top}]"].abs().mean()
    assert features.iloc[0]["mean_abs_delta"] == pytest.approx(flip_deltas, rel=1e-6)
    assert ranking.summary(k=2).count("\n#") == 2
    assert "over 2 flip pairs (3 non-flip pairs as control)" in ranking.summary()
    assert f"#1 feature {top}:" in ranking.summary()


def test_image_and_text_pairs_are_batched_apart_and_kept_in_order(
    tiny_handle: ModelHandle, tiny_sae: LoadedSAE, xray_like_image: Image.Image
) -> None:
    with_image = text_pair(
        "i/0", "i", "Is there an effusion?", "Any fluid here?", "lexical_substitution", xray_like_image
    )
    mixed = [PAIRS[0], with_image, PAIRS[3]]
    activations = collect_pair_activations(tiny_handle, tiny_sae, mixed, CHAT_TEMPLATE, batch_size=4)
    text_only = collect_pair_activations(tiny_handle, tiny_sae, [PAIRS[0], PAIRS[3]], CHAT_TEMPLATE)
    threshold = tiny_sae.sae.threshold.detach()
    edge = 1e-2 * float(threshold.abs().max())
    tolerance = {"rtol": 1e-4, "atol": 1e-4, "edge": edge}
    assert_same_features(activations.f_paraphrase[[0, 2]], text_only.f_paraphrase, threshold, **tolerance)
    alone = collect_pair_activations(tiny_handle, tiny_sae, [with_image], CHAT_TEMPLATE)
    assert_same_features(activations.f_paraphrase[1], alone.f_paraphrase[0], threshold, **tolerance)
    assert not torch.allclose(activations.f_paraphrase[1], activations.f_paraphrase[0])
