"""The whole study on the tiny multimodal model, images included, with a small random SAE."""

import json
import re
import shutil
from dataclasses import replace
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from experiments.commands.cli import app
from experiments.commands.run_weights import WEIGHTS_FILE, RunWeightsError
from experiments.commands.study import STEPS, attribution_step, layer_sweep_step, run_study
from experiments.presets import preset
from experiments.question_sources import QuestionsConfig
from experiments.reporting.figure_inputs import load_run
from experiments.run_folder import run_folder, step_done
from experiments.steps.study_context import EmptyFlipBankError, StudyContext, SweepLayerError
from experiments.study_config import ArmConfig, ComparisonConfig, SAEConfig, StudyConfig
from flipbank.demo_bank import load_demo_bank
from interp.handle import ModelHandle
from interp.lora_training import LoraTrainingConfig
from tests.saes.sae_factories import random_jumprelu, resid_sample, write_gemma_scope


@pytest.fixture(scope="module")
def tiny_study(tiny_handle: ModelHandle, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("study")
    sae = random_jumprelu(tiny_handle.d_model, 128, seed=4, sample=resid_sample(tiny_handle, 2))
    sae_folder = write_gemma_scope(root / "sae", sae, 2, "google/gemma-3-4b-it")
    return run_study(tiny_config(sae_folder), root / "runs", figures_root=root / "figures"), root


def tiny_config(sae_folder: Path) -> StudyConfig:
    return replace(
        preset("tiny"),
        questions=QuestionsConfig(kind="demo", limit=6),
        sae=SAEConfig(kind="folder", path=sae_folder),
    )


def test_every_step_finishes_and_writes_its_tables(tiny_study: tuple[Path, Path]) -> None:
    folder, _ = tiny_study
    assert all(step_done(folder, name) for name, _ in STEPS)
    robustness = pd.read_parquet(folder / "flip_study" / "robustness.parquet")
    metrics = set(robustness["metric"])
    assert {"flip_rate", "text_only_agreement", "swap_sensitivity", "quadrant_fraction"} <= metrics
    assert (folder / "flip_study" / "flipbank.jsonl").stat().st_size > 0
    features = pd.read_parquet(folder / "features" / "features.parquet")
    assert features["rank"].iloc[0] == 1
    patching = pd.read_parquet(folder / "patching" / "summary.parquet")
    assert set(patching["arm"]) == {"feature on flips", "feature on non-flips", "random feature on flips"}
    sweep = pd.read_parquet(folder / "layer_sweep.parquet")
    last = sweep[(sweep["patch"] == "resid_post (final token)") & (sweep["layer"] == sweep["layer"].max())]
    assert last["mean_recovery"].iloc[0] == pytest.approx(
        1.0, abs=1e-3
    )  # the last layer restores the original
    maps = pd.read_parquet(folder / "features" / "image_maps.parquet")
    side = round(len(maps) / maps[["feature", "question_id"]].drop_duplicates().shape[0]) ** 0.5
    assert maps["feature"].tolist()[0] == features["feature"].iloc[0] and side == int(side)
    attribution = pd.read_parquet(folder / "attribution.parquet")
    assert len(attribution) > 0 and {"estimated_effect", "real_effect"} <= set(attribution.columns)
    assert json.loads((folder / "attribution" / "summary.json").read_text())["steps"] == 0
    grounding = pd.read_parquet(folder / "grounding.parquet")
    assert set(grounding["metric"]) == {"coverage", "precision", "mass_in_box", "pointing_hit"}
    assert set(grounding["group"]) == {"flip", "no flip"} and grounding["n"].sum() > 0
    clamping = pd.read_parquet(folder / "clamping.parquet")
    assert clamping["configuration"].nunique() == 5
    assert (folder / "provenance.json").is_file()
    assert (folder / "latency.parquet").is_file()
    confusion = pd.read_parquet(folder / "mediconfusion.parquet").set_index(["mode", "metric"])
    assert set(confusion.index.get_level_values("mode")) == {"greedy", "mc", "prefix"}
    greedy = confusion.loc["greedy"]
    assert greedy.loc["set accuracy", "random"] == 0.25 and int(greedy["n_pairs"].iloc[0]) == 3
    assert 0 <= greedy.loc["confusion", "value"] <= 1 and greedy.loc["invalid rate", "value"] == 0
    assert 0 <= confusion.loc[("mc", "invalid rate"), "value"] <= 1  # a random model's text rarely parses
    generated = pd.read_parquet(folder / "uncertainty" / "generated.parquet")
    assert len(generated) == 4 and generated["samples"].map(len).eq(3).all()
    assert generated["sampling_entropy_bits"].between(0, 1.59).all()  # at most log2(3 outcomes)
    nota = pd.read_parquet(folder / "nota.parquet")
    assert len(nota) == 3 and (nota["n_items"] == 3).all()
    assert nota["accuracy_clean"].nunique() == 1  # one clean scoring for every variant
    assert len(pd.read_parquet(folder / "mediconfusion" / "delta_f.parquet")) == 20
    patches = pd.read_parquet(folder / "mediconfusion" / "patching.parquet")
    assert sorted(set(patches["n_features"])) == [1, 10] and len(patches) == 6
    report = (folder / "report.html").read_text()
    assert "provenance" in report.lower() and "layer" in report.lower()
    assert "Where the model looks" in report and "mass_in_box" in report
    assert "does it warn of a flip" in report and "paraphrase flip" in report
    assert "MediConfusion metrics" in report and "individual accuracy" in report
    assert "Image-to-image delta-only patch" in report
    assert "Uncertainty by quadrant" in report and "sampling entropy bits" in report
    assert "None of the above" in report and "anticipation AUROC" in report
    figures = sorted(path.name for path in (folder.parent.parent / "figures" / folder.name).glob("*.html"))
    assert "layer_sweep.html" in figures and "patching_by_arm.html" in figures
    assert "feature_image_maps.html" in figures
    assert "reliability.html" in figures and "nota.html" in figures


def test_a_rerun_skips_every_step(tiny_study: tuple[Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    folder, root = tiny_study
    config_path = folder / "study_config.json"
    before = config_path.read_text()
    assert run_study(tiny_config(root / "sae"), root / "runs") == folder
    output = capsys.readouterr().out
    assert output.count("done already, skipped") == len(STEPS)
    assert config_path.read_text() == before
    weights = json.loads((folder / WEIGHTS_FILE).read_text())
    assert weights["sae"] is not None and weights["model"] == "tiny-mm @ tiny-mm"


def test_a_run_folder_of_other_weights_is_refused_before_any_step(tmp_path: Path) -> None:
    config = replace(preset("tiny"), questions=QuestionsConfig(kind="demo", limit=6))
    folder = run_folder(tmp_path / "runs", config)
    (folder / WEIGHTS_FILE).write_text(json.dumps({"model": "another/model-folder", "sae": None}))
    with pytest.raises(RunWeightsError, match="model: another/model-folder when the folder was made"):
        run_study(config, tmp_path / "runs")
    assert not any(step_done(folder, name) for name, _ in STEPS)


def test_sharded_mining_from_the_command_line_merges_to_the_unsharded_rows(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from experiments.commands.cli import app

    runner = CliRunner()
    common = ["mine", "--model", "tiny-mm", "--prompt-style", "chat", "--condition", "blank"]
    common += ["--answer-source", "forced_choice", "--limit", "5"]
    whole = runner.invoke(app, [*common, "--output", str(tmp_path / "whole"), "--shard-count", "1"])
    assert whole.exit_code == 0, whole.output
    for index in (0, 1):
        result = runner.invoke(
            app,
            [
                *common,
                "--output",
                str(tmp_path / "sharded"),
                "--shard-index",
                str(index),
                "--shard-count",
                "2",
            ],
        )
        assert result.exit_code == 0, result.output
    merged = runner.invoke(app, ["merge-shards", str(tmp_path / "sharded")])
    assert merged.exit_code == 0, merged.output
    pd.testing.assert_frame_equal(
        pd.read_parquet(tmp_path / "whole" / "rows.parquet"),
        pd.read_parquet(tmp_path / "sharded" / "rows.parquet"),
        check_exact=False,
        atol=1e-4,
    )


def test_an_unminable_clamping_subset_is_refused_before_any_step(tmp_path: Path) -> None:
    config = replace(preset("tiny"), questions=QuestionsConfig(kind="demo", limit=6), clamp_questions=1)
    with pytest.raises(ValueError, match=r"step clamping \(1 questions, clamp_questions=1\).*two distinct"):
        run_study(config, tmp_path / "runs")
    (folder,) = (tmp_path / "runs").iterdir()
    assert not any(step_done(folder, name) for name, _ in STEPS)


def _emptied_copy(tiny_study: tuple[Path, Path], root: Path) -> Path:
    """A copy of the finished tiny run folder, under ``root``, whose FlipBank is empty."""
    folder, _ = tiny_study
    copy = root / folder.name
    shutil.copytree(folder, copy)
    (copy / "flip_study" / "flipbank.jsonl").write_text("")
    return copy


@pytest.mark.usefixtures("no_model_loads")
def test_an_empty_flipbank_stops_the_steps_that_need_it_with_the_curation_counts(
    tiny_study: tuple[Path, Path], tmp_path: Path
) -> None:
    folder, root = tiny_study
    _emptied_copy(tiny_study, tmp_path)
    kept = sum(1 for line in (folder / "flip_study" / "flipbank.jsonl").read_text().splitlines() if line)
    for step in ("features", "patching", "layer_sweep", "clamping"):
        with pytest.raises(EmptyFlipBankError, match=f"so step {step} cannot run") as error:
            run_study(tiny_config(root / "sae"), tmp_path, only={step}, force=True)
        message = str(error.value)
        found = re.search(
            r"of (\d+) paraphrase pair\(s\) considered under the 'real' image condition, (\d+) had an "
            r"excluded answer, (\d+) did not flip and (\d+) flipped but were removed by the similarity bar "
            r"\(similarity > 0\.5\)",
            message,
        )
        assert found is not None, message
        considered, excluded, same, flipped = map(int, found.groups())
        assert considered == sum(len(q.paraphrases) for q in load_demo_bank()[:6])
        assert excluded + same + flipped == considered and flipped >= kept > 0
        assert "similarity_threshold" in message and "--limit" in message


@pytest.mark.usefixtures("no_model_loads")
def test_the_study_command_prints_the_empty_flipbank_message_and_exits_2(
    tiny_study: tuple[Path, Path], tmp_path: Path
) -> None:
    _, root = tiny_study
    copy = _emptied_copy(tiny_study, tmp_path)
    arguments = ["study", "--preset", "tiny", "--sae-path", str(root / "sae"), "--limit", "6"]
    arguments += ["--output", str(tmp_path), "--only", "clamping", "--force", "--no-preflight"]
    result = CliRunner().invoke(app, arguments)
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith(f"{copy}: the FlipBank is empty, so step clamping cannot run")
    assert "Traceback" not in result.output


def test_the_attribution_step_can_use_integrated_gradients(
    tiny_study: tuple[Path, Path], tmp_path: Path
) -> None:
    folder, root = tiny_study
    copy = tmp_path / folder.name
    shutil.copytree(folder, copy)
    attribution_step(StudyContext(replace(tiny_config(root / "sae"), attribution_steps=2), copy))
    summary = json.loads((copy / "attribution" / "summary.json").read_text())
    assert summary["steps"] == 2 and summary["n_pairs"] > 0
    assert len(pd.read_parquet(copy / "attribution.parquet")) > 0


def test_the_sweep_patches_only_the_chosen_layers(tiny_study: tuple[Path, Path], tmp_path: Path) -> None:
    folder, root = tiny_study
    config = replace(tiny_config(root / "sae"), sweep_layers=(0, 3), sweep_pairs=2)
    copy = tmp_path / folder.name
    shutil.copytree(folder, copy)
    layer_sweep_step(StudyContext(config, copy))
    sweep = pd.read_parquet(copy / "layer_sweep.parquet")
    assert list(zip(sweep["patch"], sweep["layer"], strict=True)) == [
        ("resid_post (final token)", 0),
        ("resid_post (final token)", 3),
        ("SAE feature component", 2),
    ]
    assert set(sweep["n"]) == {2}
    resid = sweep[sweep["patch"] == "resid_post (final token)"]
    assert resid["mean_recovery"].iloc[-1] == pytest.approx(1.0, abs=1e-3)  # the last layer restores it


def test_a_sweep_layer_the_model_lacks_is_refused_before_any_step(tmp_path: Path) -> None:
    config = replace(preset("tiny"), questions=QuestionsConfig(kind="demo", limit=6), sweep_layers=(1, 4))
    with pytest.raises(SweepLayerError, match=r"sweep_layers \(--sweep-layer\) 4: 'tiny-mm' has 4 decoder"):
        run_study(config, tmp_path / "runs")
    (folder,) = (tmp_path / "runs").iterdir()
    assert not any(step_done(folder, name) for name, _ in STEPS)


def test_the_comparison_trains_adapters_and_judges_every_configuration(
    tiny_study: tuple[Path, Path],
) -> None:
    _, root = tiny_study
    arms = (
        ArmConfig("base"),
        ArmConfig("targeted", train_layers="targeted"),
        ArmConfig("full", train_layers="full"),
        ArmConfig("clamp", clamp=True),
        ArmConfig("normalisation", normalise=True),
    )
    comparison = ComparisonConfig(
        arms,
        extra_sets=(QuestionsConfig(kind="demo", limit=4),),
        eval_fraction=0.5,
        training=LoraTrainingConfig(rank=4, epochs=1, warm_up_steps=1, micro_batch_size=4),
        max_training_pairs=8,
    )
    config = replace(
        tiny_config(root / "sae"), questions=QuestionsConfig(kind="demo", limit=12), comparison=comparison
    )
    folder = run_study(config, root / "runs", only={"flip_study", "features", "comparison"})
    table = pd.read_parquet(folder / "comparison.parquet")
    assert list(table["configuration"].unique()) == [arm.name for arm in arms]
    assert table["set"].nunique() == 2
    metrics = set(table["metric"])
    assert {"flip_rate", "mean_margin_difference", "text_only_agreement", "quadrant_fraction"} <= metrics
    base = table[table["configuration"] == "base"]
    assert (base["flip_rate_difference"] == 0).all()
    for name in ("targeted", "full"):
        log = json.loads((folder / "comparison" / "adapters" / name / "training_log.json").read_text())
        assert log["arm"] == name and log["n_training_pairs"] <= 8
    assert json.loads((folder / "comparison" / "correlation.json").read_text())["n"] == 2 * len(arms)
    view = pd.read_parquet(folder / "comparison" / "sae_view.parquet")
    assert list(view["configuration"]) == ["base", "targeted", "full"]  # clamp and normalisation left out
    assert view["fvu"].notna().all() and (view["n_pairs"] > 0).all()
    points = load_run(folder).frame("configurations")  # the flip vs Dangerous figure's points
    assert len(points) == 2 * len(arms) and "targeted (evaluation split)" in set(points["configuration"])
