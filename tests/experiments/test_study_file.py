"""Study files: the shipped presets read back to the same hash, every key is checked and named in errors,
``--set`` overrides any field, the resolved file lands in the run folder and reads back equal."""

import doctest
import json
from dataclasses import replace
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

import experiments.study_file
from experiments.commands.cli import app
from experiments.commands.cli_preflight import study_config
from experiments.presets import preset
from experiments.question_sources import QuestionsConfig
from experiments.run_folder import run_folder
from experiments.study_config import ConfusionConfig, SAEConfig
from experiments.study_file import (
    RESOLVED_FILE,
    StudyFileError,
    read_study_file,
    shipped_study,
    study_from_text,
    study_toml,
)
from flipbank.demo_images import render_synthetic_image
from flipbank.images import ImageCondition
from tests.interp.adapter_builders import write_tiny_adapter

MINIMAL = 'name = "mine"\n[model]\nspec = "tiny-mm"\n'


@pytest.mark.parametrize("name", ["demo", "demo-text", "tiny", "medgemma-4b"])
def test_every_preset_is_a_shipped_file_that_round_trips(name: str) -> None:
    config = preset(name)
    assert study_from_text(study_toml(config), "resolved.toml") == config
    assert shipped_study(name).suffix == ".toml"


COMPARISON = """
[comparison]
eval_fraction = 0.3
[comparison.training]
epochs = 1
[[comparison.arms]]
name = "base"
[[comparison.arms]]
name = "targeted"
train_layers = "targeted"
[[comparison.arms]]
name = "published"
adapter = "adapters/published"
clamp = true
[[comparison.extra_sets]]
kind = "flipbank-csv"
path = "other.csv"
"""


def test_a_comparison_reads_and_round_trips() -> None:
    config = study_from_text(MINIMAL + COMPARISON, "mine.toml")
    assert config.comparison is not None
    assert [arm.name for arm in config.comparison.arms] == ["base", "targeted", "published"]
    assert config.comparison.arms[1].train_layers == "targeted" and config.comparison.training.epochs == 1
    assert config.comparison.extra_sets[0].path == Path("other.csv")
    assert study_from_text(study_toml(config), "resolved.toml") == config
    assert config.content_hash() != study_from_text(MINIMAL, "mine.toml").content_hash()
    with pytest.raises(StudyFileError, match=r"unknown key comparison\.arms\.1\.layers"):
        study_from_text(MINIMAL + COMPARISON.replace("train_layers", "layers"), "mine.toml")
    both = COMPARISON.replace('train_layers = "targeted"', 'train_layers = "full"\nadapter = "a"')
    with pytest.raises(StudyFileError, match="give adapter or train_layers, not both"):
        study_from_text(MINIMAL + both, "mine.toml")


def test_a_full_configuration_round_trips() -> None:
    config = replace(
        preset("medgemma-4b"),
        questions=QuestionsConfig("flipbank-csv", Path("data/bank.csv"), Path("images"), limit=3),
        sae=SAEConfig(kind="folder", path=Path("saes/mine")),
        sweep_layers=(1, 5),
        reliance_condition=ImageCondition.SWAPPED,
        model=replace(preset("medgemma-4b").model, adapter=Path("adapters/targeted"), dtype="bfloat16"),
    )
    assert study_from_text(study_toml(config), "resolved.toml") == config


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (MINIMAL + "batch = 3\n", r"mine\.toml: unknown key model\.batch \(keys of model: spec, device"),
        (MINIMAL.replace("[model]", "seeds = 2\n[model]"), r"unknown key seeds \(keys of a study: name"),
        (MINIMAL + "batch_size = 'eight'\n", r"model\.batch_size: Input should be a valid integer"),
        (MINIMAL.replace("[model]", "image_conditions = ['purple']\n[model]"), r"image_conditions\.0: Input"),
        (MINIMAL.replace("[model]", "control_pairs = 0\n[model]"), r"control_pairs must be a positive"),
        (MINIMAL + "prompt_style = 'haiku'\n", r"model\.prompt_style: Input should be 'chat' or 'few_shot'"),
        ("[model]\nspec = 'tiny-mm'\n", r"mine\.toml: name: Field required"),
        (MINIMAL + "spec = 'again'\n", r"mine\.toml: not valid TOML"),
    ],
)
def test_invalid_files_name_the_key(text: str, message: str) -> None:
    with pytest.raises(StudyFileError, match=message):
        study_from_text(text, "mine.toml")


def test_overrides_set_any_field_and_unset_with_nothing() -> None:
    config = study_from_text(
        MINIMAL + "dtype = 'bfloat16'\n",
        "mine.toml",
        [
            "model.batch_size=4",
            "image_conditions=['real', 'blank']",
            "questions.kind=flipbank-csv",  # a bare word is a string
            "questions.path=bank.csv",
            "sweep_layers=[3, 1]",
            "model.dtype=",
            "sae.kind=folder",
        ],
    )
    assert config.model.batch_size == 4 and config.model.dtype is None
    assert config.image_conditions == (ImageCondition.REAL, ImageCondition.BLANK)
    assert config.questions.kind == "flipbank-csv" and config.questions.path == Path("bank.csv")
    assert config.sweep_layers == (3, 1) and config.sae.kind == "folder"
    with pytest.raises(StudyFileError, match=r"unknown key model\.size"):
        study_from_text(MINIMAL, "mine.toml", ["model.size=4"])
    with pytest.raises(StudyFileError, match=r"expected key=value"):
        study_from_text(MINIMAL, "mine.toml", ["model.batch_size"])
    with pytest.raises(StudyFileError, match=r"--set name\.first: name is a value, not a table"):
        study_from_text(MINIMAL, "mine.toml", ["name.first=3"])


def test_the_run_folder_holds_the_resolved_file_which_reruns_the_same_study(tmp_path: Path) -> None:
    config = study_from_text(MINIMAL, "mine.toml", ["seed=3", "control_pairs=5"])
    folder = run_folder(tmp_path, config)
    again = read_study_file(folder / RESOLVED_FILE)
    assert again == config and again.content_hash() == config.content_hash()
    assert folder.name == f"mine-{config.content_hash()}"


def test_the_command_line_reads_a_study_file_with_overrides(tmp_path: Path) -> None:
    path = tmp_path / "mine.toml"
    path.write_text(MINIMAL)
    config = study_config(path, None, None, None, False, sets=["questions.limit=2"])
    assert config.model.spec == "tiny-mm" and config.questions.limit == 2
    with pytest.raises(
        StudyFileError, match="unknown preset 'nope'; choose one of demo, demo-text, medgemma-4b, tiny"
    ):
        study_config("nope", None, None, None, False)
    path.write_text(MINIMAL + "colour = 'red'\n")
    result = CliRunner().invoke(app, ["study", str(path), "--output", str(tmp_path / "runs")])
    assert result.exit_code == 2
    assert f"{path}: unknown key model.colour" in result.output and "Traceback" not in result.output
    missing = CliRunner().invoke(app, ["check", str(tmp_path / "absent.toml")])
    assert missing.exit_code == 2 and "cannot read the study file" in missing.output


def test_the_docstring_example_runs() -> None:
    assert doctest.testmod(experiments.study_file).failed == 0


def _psf_mimic_file(folder: Path) -> Path:
    """Three PSF-Med MIMIC records on rendered pictures of three patients."""
    rows = []
    for index, finding in enumerate(("pleural effusion", "cardiomegaly", "pneumothorax")):
        image = f"p10/p1000000{index}/s5000000{index}.png"
        (folder / image).parent.mkdir(parents=True, exist_ok=True)
        render_synthetic_image(image, frozenset({finding})).image.save(folder / image)
        rows.append(
            {
                "question_id": f"q-{index}",
                "question_type": "presence",
                "answer": "yes",
                "filename": image,
                "original_question": f"Is there {finding}?",
                "paraphrases": [
                    {"text": f"Does the film show {finding}?", "phenomenon": "lexical_substitution"},
                    {"text": f"Any sign of {finding}?", "phenomenon": "specificity_modulation"},
                ],
            }
        )
    path = folder / "psf_mimic.json"
    path.write_text(json.dumps({"results": rows}))
    return path


def test_a_study_file_with_another_model_an_adapter_and_a_psf_med_file_runs(tmp_path: Path) -> None:
    questions = _psf_mimic_file(tmp_path)
    adapter = write_tiny_adapter(tmp_path / "adapter", layers=[2])
    path = tmp_path / "mine.toml"
    path.write_text(
        f'name = "mine"\nimage_conditions = ["real", "none"]\nanswer_source = "forced_choice"\n'
        f'[model]\nspec = "tiny-mm"\nprompt_style = "chat"\nadapter = "{adapter}"\n'
        f'[questions]\nkind = "psf-mimic-json"\npath = "{questions}"\nimage_root = "{tmp_path}"\n'
    )
    arguments = ["study", str(path), "--only", "flip_study", "--output", str(tmp_path / "runs")]
    result = CliRunner().invoke(app, [*arguments, "--set", "model.batch_size=4"])
    assert result.exit_code == 0, result.output
    (folder,) = (tmp_path / "runs").iterdir()
    resolved = read_study_file(folder / RESOLVED_FILE)
    assert resolved.model.adapter == adapter and resolved.model.batch_size == 4
    rows = pd.read_parquet(folder / "flip_study" / "mining" / "rows.parquet")
    assert sorted(rows["question_id"].unique()) == ["q-0", "q-1", "q-2"]
    assert set(rows["image_condition"]) == {"real", "none"}
    assert json.loads((folder / "provenance.json").read_text())["settings"]["adapter"] == str(adapter)


def test_a_mediconfusion_entry_can_be_added_from_the_command_line() -> None:
    sets = ["mediconfusion.dataset=/data/mc/dataset.json", "mediconfusion.images=/data/mc/images"]
    config = study_config("medgemma-4b", None, None, None, False, sets=sets)
    assert config.mediconfusion == ConfusionConfig(Path("/data/mc/dataset.json"), Path("/data/mc/images"))
    assert preset("demo").mediconfusion == ConfusionConfig(n_pairs=36)
    with pytest.raises(StudyFileError, match="mediconfusion"):
        study_config("medgemma-4b", None, None, None, False, sets=["mediconfusion.dataset=/data/mc.json"])
