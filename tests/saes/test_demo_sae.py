import json
import os
from dataclasses import asdict, replace
from pathlib import Path

import pytest
import torch

from interp.handle import ModelHandle
from interp.prompts import CHAT_TEMPLATE, FEW_SHOT_TEMPLATE
from interp.provenance import numeric_environment
from saes.activation_corpus import collect_activations, split_questions
from saes.demo_sae import (
    DEMO_VLM_SAE_CONFIG,
    METRICS_FILE,
    SHIPPED_DEMO_SAE,
    SHIPPED_DEMO_VLM_SAE,
    DemoSAEConfig,
    build_demo_sae,
    demo_sae_config,
    demo_sae_folder,
    ensure_demo_sae,
    rebuild_and_compare,
    train_sae,
)
from saes.loading import load_sae
from saes.sae_quality import measure_quality

TINY_CONFIG = DemoSAEConfig(
    model_spec="tiny-mm",
    layer=2,
    d_sae=64,
    target_l0=8.0,
    l0_warm_up_steps=5,
    lr_warm_up_steps=5,
    batch_size=64,
    total_training_samples=64 * 60,
    eval_fraction=0.25,
    prompt_batch_size=8,
)
QUESTIONS = {
    "q1": ["Is there a pleural effusion?", "Any fluid around the lungs here?", "Is there no effusion?"],
    "q2": ["Is the heart enlarged?", "Is there radiographic evidence of cardiomegaly?"],
    "q3": ["Is there a pneumothorax?", "Is a collapsed lung present?"],
    "q4": ["Is there consolidation?", "Any pneumonia on this film?"],
}


def test_training_learns_and_reads_raw_activations(tiny_handle: ModelHandle) -> None:
    texts = [text for group in QUESTIONS.values() for text in group]
    activations = torch.cat(
        [collect_activations(tiny_handle, 2, texts, t) for t in (CHAT_TEMPLATE, FEW_SHOT_TEMPLATE)]
    )
    sae = train_sae(TINY_CONFIG, activations)
    assert sae.cfg.normalize_activations == "none" and not sae.cfg.apply_b_dec_to_input
    assert sae.cfg.jumprelu_sparsity_loss_mode == "quadratic"
    quality = measure_quality(sae, activations)
    assert quality.fvu < 0.5 and 0 < quality.mean_l0 < TINY_CONFIG.d_sae
    untrained = train_sae(replace(TINY_CONFIG, total_training_samples=TINY_CONFIG.batch_size), activations)
    assert quality.fvu < measure_quality(untrained, activations).fvu


def test_built_folder_loads_and_matches_its_metrics(tiny_handle: ModelHandle, tmp_path: Path) -> None:
    report = build_demo_sae(tmp_path / "demo", tiny_handle, TINY_CONFIG, QUESTIONS)
    metrics = json.loads((tmp_path / "demo" / METRICS_FILE).read_text())
    assert metrics["held_out"]["fvu"] == report.held_out.fvu and set(metrics["per_template"]) == {
        "chat",
        "few_shot",
    }
    assert metrics["config"]["lr_end"] == TINY_CONFIG.lr_end and "jumprelu" in metrics["architecture"]
    loaded = load_sae(tmp_path / "demo", tiny_handle)
    assert loaded.layer == 2 and loaded.d_sae == 64 and type(loaded.sae).__name__ == "JumpReLUSAE"
    _, held_out = split_questions(QUESTIONS, TINY_CONFIG.eval_fraction, TINY_CONFIG.seed)
    held = torch.cat(
        [collect_activations(tiny_handle, 2, held_out, t) for t in (CHAT_TEMPLATE, FEW_SHOT_TEMPLATE)]
    )
    again = measure_quality(loaded.sae, held)  # the saved weights are the ones that were measured
    assert again.n_tokens == report.held_out.n_tokens
    # the same weights through sae-lens's inference class: equal up to gates at their threshold (see
    # FeatureSlice.encode), so L0 may differ by a gate or two and FVU by its effect, not more
    assert abs(again.fvu - report.held_out.fvu) <= 1e-3 * report.held_out.fvu + 1e-6
    assert abs(again.mean_l0 - report.held_out.mean_l0) <= 2 / again.n_tokens


def test_the_shipped_demo_sae_is_the_default_and_loads(demo_handle: ModelHandle, tmp_path: Path) -> None:
    assert ensure_demo_sae(tmp_path) == SHIPPED_DEMO_SAE  # no training, whatever the cache holds
    size = sum(path.stat().st_size for path in SHIPPED_DEMO_SAE.iterdir())
    assert size <= 20 * 2**20
    metrics = json.loads((SHIPPED_DEMO_SAE / METRICS_FILE).read_text())
    expected = json.loads(json.dumps(asdict(DemoSAEConfig())))
    assert metrics["config"] == expected, (
        "DemoSAEConfig changed: rebuild with `python -m saes.demo_sae --rebuild --ship`"
    )
    loaded = load_sae(SHIPPED_DEMO_SAE, demo_handle)
    assert (loaded.layer, loaded.d_sae, loaded.d_in) == (9, 2048, 640)
    assert metrics["held_out"]["fvu"] < 0.01 and 20 < metrics["held_out"]["mean_l0"] < 60
    other = replace(DemoSAEConfig(), d_sae=1024)
    built = demo_sae_folder(tmp_path, other)
    built.mkdir()
    (built / ".complete").write_text("ok")  # as if trained before: any other configuration lives in the cache
    assert ensure_demo_sae(tmp_path, other) == built


def test_an_image_corpus_counts_each_pictures_tokens_once(
    tiny_handle: ModelHandle, xray_like_image, tmp_path: Path
) -> None:
    config = replace(TINY_CONFIG, templates=("chat",), images=True, total_training_samples=64 * 10)
    pictures = {text: xray_like_image for group in QUESTIONS.values() for text in group}
    report = build_demo_sae(tmp_path / "images", tiny_handle, config, QUESTIONS, pictures)
    train, _ = split_questions(QUESTIONS, config.eval_fraction, config.seed)
    text_positions = collect_activations(
        tiny_handle, config.layer, train, CHAT_TEMPLATE, images=[xray_like_image] * len(train)
    )
    # one picture: its soft tokens enter the training corpus once, beside every prompt's text positions
    n_image_tokens = tiny_handle.model.config.mm_tokens_per_image
    assert report.n_train_tokens == text_positions.shape[0] + n_image_tokens
    assert report.config["images"] and report.config["templates"] == ("chat",)


def test_the_demo_vlm_has_its_own_shipped_sae(tmp_path: Path) -> None:
    assert demo_sae_config("demo-vlm") == DEMO_VLM_SAE_CONFIG
    assert demo_sae_config("gemma3-270m") == demo_sae_config("some/other-640-model") == DemoSAEConfig()
    assert ensure_demo_sae(tmp_path, DEMO_VLM_SAE_CONFIG) == SHIPPED_DEMO_VLM_SAE
    metrics = json.loads((SHIPPED_DEMO_VLM_SAE / METRICS_FILE).read_text())
    assert metrics["config"] == json.loads(json.dumps(asdict(DEMO_VLM_SAE_CONFIG)))
    assert metrics["held_out"]["fvu"] < 0.05 and 20 < metrics["held_out"]["mean_l0"] < 60
    size = sum(path.stat().st_size for path in SHIPPED_DEMO_VLM_SAE.iterdir())
    assert size <= 12 * 2**20


#: The demo study's top features (ranked over the FlipBank) with the shipped SAE.
DEMO_TOP_FEATURES = [1656, 1717, 800, 1243, 2008]


@pytest.mark.skipif(
    not os.environ.get("PSF_REBUILD_DEMO_SAE"),
    reason="retrains the demo SAE (about 8 minutes on 2 cores); set PSF_REBUILD_DEMO_SAE=1 to run",
)
def test_a_rebuilt_demo_sae_agrees_with_the_shipped_one_in_its_top_features(tmp_path: Path) -> None:
    shipped = json.loads((SHIPPED_DEMO_SAE / METRICS_FILE).read_text())["environment"]
    agreement = rebuild_and_compare(DEMO_TOP_FEATURES, ship=False, cache_dir=tmp_path)
    assert agreement is not None  # None only when the shipped folder held no SAE to compare with
    here = numeric_environment()
    if (here["cpu_capability"], here["blas"]) != (shipped["cpu_capability"], shipped["blas"]):
        # measured with AVX2 kernels: same-index cosines 0.06-0.89 for the top five, median best match 0.74
        pytest.xfail(f"another CPU kernel ({here}) trains another dictionary: {agreement.summary()}")
    assert agreement.agrees(0.9), agreement.summary()  # measured on the shipped kernel: bit-identical
