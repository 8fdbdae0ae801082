"""The model, SAE, disk and cost checks of the preflight, read from files only (no model is loaded)."""

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from safetensors.numpy import save_file
from transformers import Gemma3Config, Gemma3TextConfig

from experiments.commands.preflight import PreflightConfig, RunPlan, run_preflight
from experiments.commands.preflight_cost import CLAMP_CONFIGURATIONS, step_costs
from experiments.commands.preflight_model import BUILT_IN_SHAPES, ModelFacts, check_model
from experiments.commands.preflight_sae import (
    SAEPreflightError,
    feature_problems,
    fit_problems,
    folder_facts,
    sae_facts,
)
from experiments.commands.study import STEPS
from experiments.presets import preset
from experiments.steps.study_context import question_subset
from experiments.study_config import ConfusionConfig, NotaConfig, SAEConfig
from flipbank.demo_bank import load_demo_bank
from flipbank.demo_choices import write_choice_set
from flipbank.demo_confusion import write_confusion_set
from flipbank.images import ImageCondition
from flipbank.mining_plan import MiningConfig, plan_jobs
from interp.demo_model import demo_model_folder
from interp.prompts import PromptStyle
from interp.tiny_model import _tiny_config
from tests.saes.sae_factories import write_hf_cache_entry

TINY = ModelFacts("tiny", "test", n_layers=4, d_model=64, accepts_images=True)


def text_model_folder(folder: Path, layers: int = 3, width: int = 48) -> Path:
    config = Gemma3TextConfig(hidden_size=width, num_hidden_layers=layers, vocab_size=100, head_dim=16)
    config.save_pretrained(folder)
    save_file({"weight": np.zeros(2, dtype=np.float32)}, str(folder / "model.safetensors"))
    (folder / "tokenizer.json").write_text("{}")
    return folder


def gemma_scope_folder(folder: Path, d_in: int, hook_point: str = "model.layers.2.output") -> Path:
    folder.mkdir(parents=True)
    save_file({"w_enc": np.zeros((d_in, 8), dtype=np.float32)}, str(folder / "params.safetensors"))
    config = {
        "architecture": "jump_relu",
        "model_name": "google/gemma-3-4b-it",
        "hf_hook_point_in": hook_point,
    }
    (folder / "config.json").write_text(json.dumps(config))
    return folder


def test_a_local_model_folder_is_read_from_its_config(tmp_path: Path) -> None:
    check = check_model(str(text_model_folder(tmp_path / "model")), PromptStyle.FEW_SHOT)
    assert check.problems == []
    assert check.facts is not None
    assert (check.facts.n_layers, check.facts.d_model, check.facts.accepts_images) == (3, 48, False)


def test_missing_weights_tokenizer_and_processor_are_each_named(tmp_path: Path) -> None:
    folder = tmp_path / "mm"
    text = {"hidden_size": 32, "num_hidden_layers": 2, "vocab_size": 100, "head_dim": 16}
    Gemma3Config(text_config=text).save_pretrained(folder)
    check = check_model(str(folder), PromptStyle.CHAT)
    assert [problem.field for problem in check.problems] == ["weights", "tokenizer", "processor"]
    assert any("no chat template" in note for note in check.notes)
    shards = {
        "weight_map": {"a": "model-00001-of-00002.safetensors", "b": "model-00002-of-00002.safetensors"}
    }
    (folder / "model.safetensors.index.json").write_text(json.dumps(shards))
    save_file({"a": np.zeros(1, dtype=np.float32)}, str(folder / "model-00001-of-00002.safetensors"))
    check = check_model(str(folder), PromptStyle.CHAT)
    assert "missing weight shards (incomplete download?): model-00002-of-00002" in check.problems[0].reason


def test_an_hf_id_resolves_through_the_local_cache_only(tmp_path: Path) -> None:
    missing = check_model("google/medgemma-4b-it", PromptStyle.CHAT, hf_cache_dir=tmp_path)
    assert missing.facts is None
    assert "hf download google/medgemma-4b-it" in missing.problems[0].reason
    repo = tmp_path / "models--org--small"
    text_model_folder(repo / "snapshots" / "abc123")
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text("abc123")
    cached = check_model("org/small", PromptStyle.FEW_SHOT, hf_cache_dir=tmp_path)
    assert cached.problems == [] and cached.facts is not None and cached.facts.n_layers == 3
    assert (
        check_model(str(tmp_path / "not" / "there"), PromptStyle.CHAT).problems[0].reason
        == "no such model folder"
    )


def test_built_in_shapes_match_the_built_models() -> None:
    tiny = _tiny_config(300, 1, 2, 3).get_text_config()
    assert BUILT_IN_SHAPES["tiny-mm"][:2] == (tiny.num_hidden_layers, tiny.hidden_size)
    demo = demo_model_folder()
    if not (demo / "config.json").is_file():
        pytest.skip("the demo model is not converted on this machine")
    config = json.loads((demo / "config.json").read_text())
    assert BUILT_IN_SHAPES["gemma3-270m"][:2] == (config["num_hidden_layers"], config["hidden_size"])


def test_the_sae_must_fit_the_model(tmp_path: Path) -> None:
    fitting = folder_facts(gemma_scope_folder(tmp_path / "fits", 64))
    assert (fitting.layer, fitting.d_in) == (2, 64)
    assert fit_problems(fitting, TINY) == []
    wide = folder_facts(gemma_scope_folder(tmp_path / "wide", 2560, "model.layers.17.output"))
    assert [(p.field, p.reason) for p in fit_problems(wide, TINY)] == [
        ("layer", "reads layer 17, but 'tiny' has 4 decoder layers"),
        ("d_in", "d_in 2560, but 'tiny' has d_model 64"),
    ]
    mlp = folder_facts(gemma_scope_folder(tmp_path / "mlp", 64, "model.layers.2.mlp.output"))
    assert fit_problems(mlp, TINY)[0].field == "hook point"
    with pytest.raises(SAEPreflightError, match="SAE folder not found"):
        sae_facts(SAEConfig(kind="folder", path=tmp_path / "absent"))


def test_the_studied_feature_must_be_below_the_sae_width(tmp_path: Path) -> None:
    facts = folder_facts(gemma_scope_folder(tmp_path / "narrow", 64))  # w_enc is d_in × 8
    assert facts.d_sae == 8 and "d_in 64, d_sae 8" in facts.describe()
    assert feature_problems(facts, 7) == [] and feature_problems(facts, None) == []
    (problem,) = feature_problems(facts, 3818)
    assert (problem.kind, problem.file, problem.location, problem.field) == (
        "sae",
        str(tmp_path / "narrow"),
        "SAE",
        "feature",
    )
    assert "feature 3818 does not exist: the SAE has d_sae 8 features, numbered 0 to 7" in problem.reason


def test_an_sae_release_is_found_in_the_hf_cache_or_named_with_its_download(tmp_path: Path) -> None:
    source = SAEConfig(
        kind="release", release="gemma-scope-2-4b-it-res", sae_id="layer_17_width_16k_l0_medium"
    )
    with pytest.raises(SAEPreflightError) as missing:
        sae_facts(source, hf_cache_dir=tmp_path)
    assert "hf download google/gemma-scope-2-4b-it --include" in missing.value.problem.reason
    files = gemma_scope_folder(tmp_path / "files", 2560, "model.layers.17.output")
    folder = "resid_post/layer_17_width_16k_l0_medium"
    write_hf_cache_entry(tmp_path / "hub", "google/gemma-scope-2-4b-it", folder, files)
    facts = sae_facts(source, hf_cache_dir=tmp_path / "hub")
    assert (facts.layer, facts.d_in) == (17, 2560)


def test_mining_costs_count_every_prompt_of_every_condition() -> None:
    config = preset("demo-text")
    bank = load_demo_bank()
    costs = {cost.step: cost for cost in step_costs(config, bank, ["flip_study", "clamping"], 18)}
    assert costs["flip_study"].forwards == len(plan_jobs(bank, MiningConfig())) == 1438
    clamped = question_subset(bank, config.clamp_questions, config.seed)
    assert costs["clamping"].forwards == CLAMP_CONFIGURATIONS * len(plan_jobs(clamped, MiningConfig()))
    greedy = replace(config, image_conditions=(ImageCondition.NONE, ImageCondition.BLANK), max_new_tokens=24)
    (cost,) = step_costs(greedy, bank, ["flip_study"], 18)
    assert (cost.forwards, cost.decode_steps) == (2 * 1438, 2 * 1438 * 23)
    shards = [step_costs(config, bank, ["flip_study"], 18, (i, 3))[0].forwards for i in range(3)]
    assert sum(shards) == 1438 and min(shards) > 0


def test_the_sweep_costs_one_forward_per_chosen_layer_and_pair() -> None:
    config = replace(preset("demo-text"), sweep_pairs=4)
    bank = load_demo_bank()
    (every,) = step_costs(config, bank, ["layer_sweep"], 18)
    (chosen,) = step_costs(replace(config, sweep_layers=(3, 9)), bank, ["layer_sweep"], 18)
    assert (every.forwards, chosen.forwards) == ((18 + 1) * 4, (2 + 1) * 4)  # + the SAE feature component


@pytest.mark.usefixtures("no_model_loads")
def test_the_demo_preflight_passes_without_loading_a_model(tmp_path: Path) -> None:
    steps = tuple(name for name, _ in STEPS)
    report = run_preflight(RunPlan(preset("demo"), steps, tmp_path / "runs" / "demo"))
    assert report.passed, report.summary()
    assert len(report.questions) == 240
    assert any("SAE" in line and "(layer 9), d_in 640" in line for line in report.lines)


@pytest.mark.usefixtures("no_model_loads")
def test_disk_and_image_conditions_are_checked(tmp_path: Path) -> None:
    plan = RunPlan(preset("demo-text"), ("flip_study",), tmp_path / "runs" / "demo")
    report = run_preflight(plan, PreflightConfig(min_free_mb=10**12))
    assert [(problem.kind, problem.location) for problem in report.problems] == [("disk", "run folder")]
    with_images = replace(preset("demo-text"), image_conditions=(ImageCondition.BLANK,))
    report = run_preflight(replace(plan, config=with_images))
    assert [(problem.kind, problem.field) for problem in report.problems] == [("model", "--condition")]
    assert "text-only; image conditions blank need a multimodal model" in report.problems[0].reason


@pytest.mark.usefixtures("no_model_loads")
def test_a_bad_box_file_is_refused_before_any_step_naming_its_row(tmp_path: Path) -> None:
    boxes = tmp_path / "boxes.csv"
    boxes.write_text("image,finding,x1,y1,x2,y2\na.png,nodule,10,10,30,40\nb.png,nodule,10,10,5,40\n")
    config = replace(preset("demo-text"), boxes=boxes)
    plan = RunPlan(config, ("flip_study", "grounding"), tmp_path / "runs" / "demo")
    problems = run_preflight(plan).problems
    assert [(p.file, p.location, p.field) for p in problems] == [("boxes.csv", "row 3", "x2")]
    reports = tmp_path / "grounded_reports.json"
    reports.write_text(json.dumps([{"StudyID": "s", "ImageID": "a.png", "findings": []}]))
    report = run_preflight(replace(plan, config=replace(config, boxes=reports)))
    assert report.passed and any(line.startswith("boxes      0 box(es)") for line in report.lines)
    missing = run_preflight(replace(plan, config=replace(config, boxes=tmp_path / "absent.csv"))).problems
    assert [(p.kind, p.field) for p in missing] == [("setup", "boxes")]
    assert not run_preflight(replace(plan, steps=("flip_study",))).problems  # no grounding: not read


@pytest.mark.usefixtures("no_model_loads")
def test_a_mediconfusion_dataset_without_readable_pairs_is_refused(tmp_path: Path) -> None:
    dataset = write_confusion_set(tmp_path / "set", n_pairs=2, seed=0)
    config = replace(preset("tiny"), mediconfusion=ConfusionConfig(dataset, tmp_path / "set"))
    plan = RunPlan(config, ("mediconfusion",), tmp_path / "runs" / "tiny")
    report = run_preflight(plan)
    assert report.passed and "MediConf.  2 pair(s) readable, 0 skipped" in report.lines
    elsewhere = replace(config, mediconfusion=ConfusionConfig(dataset, tmp_path))
    (problem,) = run_preflight(replace(plan, config=elsewhere)).problems
    assert problem.reason.startswith("no readable pair under") and "(2 skipped)" in problem.reason
    with pytest.raises(ValueError, match="needs both `dataset` and `images`"):
        ConfusionConfig(dataset=dataset)


def test_a_nota_items_file_with_a_bad_item_is_refused_before_any_step(tmp_path: Path) -> None:
    items = write_choice_set(tmp_path / "set", n_items=2, seed=0)
    config = replace(preset("tiny"), nota=NotaConfig(items=items))
    plan = RunPlan(config, ("flip_study", "nota"), tmp_path / "runs" / "tiny")
    assert f"NOTA       2 multiple-choice item(s) readable in {items}" in run_preflight(plan).lines
    (tmp_path / "set" / "images" / "choice-002.png").unlink()
    (problem,) = run_preflight(plan).problems
    assert problem.field == "image" and "row 2" in problem.location and "not found" in problem.reason
