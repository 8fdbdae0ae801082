"""The MedGemma-4B rehearsal at tiny scale, end to end through ``scripts/rehearse_medgemma.sh``: the random
stand-in and its SAE under their real ids in a throwaway HF cache, then the real ``study --preset
medgemma-4b`` command offline (any network attempt hits a dead proxy), every step, figures and report."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import torch
from safetensors import safe_open

from experiments.commands.study import STEPS
from experiments.stand_ins.rehearsal_cache import (
    build_rehearsal_cache,
    random_gemma_scope_sae,
    residual_scale,
)
from experiments.stand_ins.rehearsal_model import (
    SHAPES,
    medgemma_config,
    published_name,
    random_tensor,
    rehearsal_shape,
    tensor_specs,
)
from experiments.stand_ins.rehearsal_questions import write_rehearsal_questions
from flipbank.patients import with_patients
from flipbank.readers import read_psf_mimic_json
from interp.loading import load_model

REPO = Path(__file__).resolve().parents[3]
MODEL_REPO = "models--google--medgemma-4b-it"
SAE_REPO = "models--google--gemma-scope-2-4b-it"
N_QUESTIONS, N_PARAPHRASES = 2, 2
DEAD_PROXY = "http://127.0.0.1:9"
PUBLISHED = ("language_model.model.", "vision_tower.vision_model.", "multi_modal_projector.")


def _run_rehearsal(workdir: Path, *study_options: str) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith(("HF_", "TRANSFORMERS_"))}
    env.update(
        HTTP_PROXY=DEAD_PROXY, HTTPS_PROXY=DEAD_PROXY, NO_PROXY="", PSF_REHEARSAL_PYTHON=sys.executable
    )
    command = ["bash", str(REPO / "scripts" / "rehearse_medgemma.sh"), "--scale", "tiny"]
    command += [
        "--questions",
        str(N_QUESTIONS),
        "--paraphrases",
        str(N_PARAPHRASES),
        "--workdir",
        str(workdir),
    ]
    command += ["--", *study_options] if study_options else []
    return subprocess.run(
        command, cwd=REPO, env=env, capture_output=True, text=True, timeout=1200, check=False
    )


#: The options a GPU box would give the preset (bf16) with the step sizes cut to the tiny stand-in.
FULL_SCALE_OPTIONS = (
    "--dtype",
    "bfloat16",
    "--clamp-questions",
    "2",
    "--sweep-layer",
    "2",
    "--sweep-pairs",
    "1",
    "--control-pairs",
    "2",
)


@pytest.fixture(scope="module")
def rehearsal(tmp_path_factory: pytest.TempPathFactory) -> Path:
    workdir = tmp_path_factory.mktemp("rehearsal")
    result = _run_rehearsal(workdir, *FULL_SCALE_OPTIONS)
    assert result.returncode == 0, f"{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
    return workdir


def _snapshot(workdir: Path, repo: str) -> Path:
    folder = workdir / "hf-home" / "hub" / repo
    return folder / "snapshots" / (folder / "refs" / "main").read_text()


def test_every_step_of_the_preset_runs_offline_on_the_cached_stand_ins(rehearsal: Path) -> None:
    summary = json.loads((rehearsal / "summary.json").read_text())
    assert summary["all_steps_finished"] and set(summary["steps"]) == {name for name, _ in STEPS}
    assert summary["study"]["returncode"] == 0 and summary["study"]["peak_rss_mib"] > 0
    assert (
        summary["counts"]["mined_prompts"] == N_QUESTIONS * (1 + N_PARAPHRASES) * 4
    )  # four image conditions
    assert Path(summary["report"]).is_file()
    log = (rehearsal / "study.log").read_text()
    hub = rehearsal / "hf-home" / "hub"
    assert f"google/medgemma-4b-it: 4 layers, d_model 64, multimodal (HF cache: {hub}/{MODEL_REPO}" in log
    assert f"reads model.layers.2.output (layer 2), d_in 64, d_sae 4096 ({hub}/{SAE_REPO}" in log
    assert all(f"[{name}] finished in" in log for name, _ in STEPS)
    figures = list((rehearsal / "figures").glob("medgemma-4b-*/layer_sweep.html"))
    assert len(figures) == 1


def test_the_full_scale_options_reach_every_step_in_bf16_on_the_cpu(rehearsal: Path) -> None:
    folder = Path(json.loads((rehearsal / "summary.json").read_text())["run_folder"])
    provenance = json.loads((folder / "provenance.json").read_text())
    assert (provenance["device"], provenance["dtype"]) == ("cpu", "bfloat16")
    config = json.loads((folder / "study_config.json").read_text())
    assert (config["control_pairs"], config["sweep_pairs"], config["clamp_questions"]) == (2, 1, 2)
    sweep = pd.read_parquet(folder / "layer_sweep.parquet")
    assert set(sweep["layer"]) == {2} and set(sweep["n"]) == {1}


def test_the_cache_has_the_hub_layout_and_the_published_tensor_names(rehearsal: Path) -> None:
    snapshot = _snapshot(rehearsal, MODEL_REPO)
    files = sorted(path for path in snapshot.rglob("*") if not path.is_dir())
    assert files and all(path.is_symlink() and not os.path.isabs(os.readlink(path)) for path in files)
    assert all(path.resolve().parent.name == "blobs" for path in files)
    index = json.loads((snapshot / "model.safetensors.index.json").read_text())
    assert len(set(index["weight_map"].values())) > 1  # sharded, like the published files
    published = {
        prefix for prefix in PUBLISHED if any(name.startswith(prefix) for name in index["weight_map"])
    }
    assert published == set(PUBLISHED) and all(name.startswith(PUBLISHED) for name in index["weight_map"])
    sae = _snapshot(rehearsal, SAE_REPO) / "resid_post" / "layer_17_width_16k_l0_medium"
    assert (sae / "config.json").is_symlink() and (sae / "params.safetensors").is_symlink()


def test_transformers_loads_every_weight_as_written(rehearsal: Path) -> None:
    snapshot = _snapshot(rehearsal, MODEL_REPO)
    handle = load_model(str(snapshot), offline=True)
    written: dict[str, torch.Tensor] = {}
    for shard in snapshot.glob("model-*.safetensors"):
        with safe_open(str(shard), framework="pt") as params:
            written.update({name: params.get_tensor(name) for name in params.keys()})  # noqa: SIM118
    state = {name: value for name, value in handle.model.state_dict().items() if name != "lm_head.weight"}
    assert len(state) == len(written)
    assert all(torch.equal(value, written[published_name(name)].float()) for name, value in state.items())
    text = handle.model.config.get_text_config()
    assert text.layer_types == ["sliding_attention"] * 3 + ["full_attention"]
    assert text.rope_parameters["full_attention"] == {"rope_type": "linear", "factor": 8.0, "rope_theta": 1e6}
    assert handle.processor is not None and handle.tokenizer.chat_template
    assert handle.processor.image_seq_length == 16  # type: ignore[attr-defined]


def test_a_built_cache_is_kept_and_one_of_another_scale_refused(rehearsal: Path) -> None:
    hf_home = rehearsal / "hf-home"
    before = sorted(path.name for path in (hf_home / "hub" / MODEL_REPO / "blobs").iterdir())
    record = build_rehearsal_cache(hf_home, "tiny")
    assert record["scale"] == "tiny" and record["sae_layer"] == 2
    assert sorted(path.name for path in (hf_home / "hub" / MODEL_REPO / "blobs").iterdir()) == before
    with pytest.raises(ValueError, match="holds a tiny rehearsal cache, not full"):
        build_rehearsal_cache(hf_home, "full")


def test_the_full_scale_has_medgemma_4b_shapes_without_building_it() -> None:
    config = medgemma_config(rehearsal_shape("full"))
    specs = dict(tensor_specs(config))
    assert sum(shape.numel() for shape in specs.values()) == 4_300_079_472
    assert specs["model.language_model.layers.33.mlp.up_proj.weight"] == (10240, 2560)
    assert specs["model.vision_tower.embeddings.position_embedding.weight"] == (4096, 1152)  # 64 × 64 patches
    assert specs["model.multi_modal_projector.mm_input_projection_weight"] == (1152, 2560)
    assert config["text_config"]["vocab_size"] == 262208 and config["mm_tokens_per_image"] == 256
    assert all(published_name(name).startswith(PUBLISHED) for name in specs)
    assert (
        2 * sum(shape.numel() for shape in specs.values()) / SHAPES["full"].max_shard_bytes < 2
    )  # two shards


def test_random_tensors_follow_the_initialisation_policy() -> None:
    shape = torch.Size([8, 4])
    norm = random_tensor("model.language_model.layers.0.input_layernorm.weight", torch.Size([4]), 32, 0)
    layer_norm = random_tensor(
        "model.vision_tower.encoder.layers.0.layer_norm1.weight", torch.Size([4]), 32, 0
    )
    bias = random_tensor("model.vision_tower.encoder.layers.0.mlp.fc1.bias", torch.Size([4]), 32, 0)
    weight = random_tensor("model.language_model.layers.0.mlp.up_proj.weight", shape, 32, 0)
    assert (
        norm.dtype == torch.bfloat16 and not norm.any() and not bias.any() and bool((layer_norm == 1).all())
    )
    assert torch.equal(
        weight, random_tensor("model.language_model.layers.0.mlp.up_proj.weight", shape, 32, 0)
    )
    projector = random_tensor(
        "model.multi_modal_projector.mm_input_projection_weight", torch.Size([32, 64]), 32, 0
    )
    assert 0.1 < projector.float().std().item() < 0.25  # N(0, 1/32), not transformers' zeros


def test_the_random_sae_fires_on_a_tenth_of_residuals_of_its_layers_scale() -> None:
    sae = random_gemma_scope_sae(64, 512, layer=2, seed=1)
    sample = residual_scale(2) * torch.randn(512, 64, generator=torch.Generator().manual_seed(9))
    firing = (sae.encode(sample) > 0).float().mean().item()
    assert 0.05 < firing < 0.2 and not sae.cfg.apply_b_dec_to_input


def test_questions_are_psf_med_mimic_records_with_another_patient_to_swap_in(tmp_path: Path) -> None:
    path, root = write_rehearsal_questions(tmp_path, 5, 3)
    records = with_patients(read_psf_mimic_json(path, image_root=root).records)
    assert len(records) == 5 and all(len(record.paraphrases) == 3 for record in records)
    assert len({record.patient for record in records}) == 3  # two questions per study
    assert {record.answer for record in records} == {"yes", "no"}
    assert all(Path(record.image).is_file() and "/files/p10/p1000000" in record.image for record in records)
    with pytest.raises(ValueError, match="at least two questions"):
        write_rehearsal_questions(tmp_path, 1, 1)
