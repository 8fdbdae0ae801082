"""`psf-workbench check` on a folder of broken inputs: every problem is refused before any model loads, named
by file, row or line, and field; with --skip-invalid the valid records are kept, the others listed, and
mining gets past them."""

from dataclasses import replace
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from experiments.commands.cli import app
from experiments.presets import preset
from experiments.question_sources import QuestionsConfig, load_questions
from flipbank.errors import format_problem
from flipbank.record_checks import RecordScreen
from tests.experiments.commands.test_preflight import gemma_scope_folder
from tests.flipbank.broken_inputs import (
    EXPECTED,
    RECORDS,
    ROWS_CSV,
    VALID_IDS,
    BrokenInputs,
    build_broken_inputs,
)


@pytest.fixture
def broken(tmp_path: Path) -> BrokenInputs:
    return build_broken_inputs(tmp_path / "broken")


def check_args(broken: BrokenInputs, name: str, *extra: str) -> list[str]:
    source = "flipbank-csv" if name.endswith(".csv") else "psf-mimic-json"
    return [
        "check",
        "--preset",
        "medgemma-4b",
        "--model",
        "tiny-mm",
        "--source",
        source,
        "--questions",
        str(broken.path(name)),
        "--image-root",
        str(broken.images),
        "--only",
        "flip_study",
        "--output",
        str(broken.folder / "runs"),
        *extra,
    ]


@pytest.mark.parametrize("name", sorted(EXPECTED))
@pytest.mark.usefixtures("no_model_loads")
def test_check_refuses_every_broken_input_naming_file_location_and_field(
    broken: BrokenInputs, name: str
) -> None:
    result = CliRunner().invoke(app, check_args(broken, name))
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.stderr
    assert f"preflight found {len(EXPECTED[name])} problem(s)" in result.stderr
    for location, field, reason in EXPECTED[name]:
        assert format_problem(str(broken.path(name)), location, field, "") in result.stderr
        assert reason in result.stderr
    assert "preflight FAILED" in result.stdout


@pytest.mark.usefixtures("no_model_loads")
def test_check_with_skip_invalid_keeps_the_valid_records_and_lists_the_others(broken: BrokenInputs) -> None:
    result = CliRunner().invoke(app, check_args(broken, RECORDS, "--skip-invalid"))
    assert result.exit_code == 0, result.output
    assert f"{len(EXPECTED[RECORDS])} record problem(s), {len(VALID_IDS)} question(s) to run" in result.stdout
    for location, field, _ in EXPECTED[RECORDS]:
        assert format_problem(str(broken.path(RECORDS)), location, field, "") in result.stdout
    assert "[OUT OF SCOPE]" in result.stdout and "[BAD IMAGE]" in result.stdout
    assert "preflight passed" in result.stdout


def test_load_questions_with_skip_invalid_filters_before_mining(
    broken: BrokenInputs, capsys: pytest.CaptureFixture[str]
) -> None:
    source = QuestionsConfig("psf-mimic-json", broken.path(RECORDS), broken.images, skip_invalid=True)
    questions = load_questions(source, with_images=True, screen=RecordScreen(check_images=True))
    assert [question.question_id for question in questions] == VALID_IDS
    assert capsys.readouterr().out.count("skipped ") == len(EXPECTED[RECORDS])
    strict = QuestionsConfig("psf-mimic-json", broken.path(RECORDS), broken.images)
    with pytest.raises(ValueError, match="missing field"):
        load_questions(strict, with_images=True)


def test_mining_with_skip_invalid_gets_past_every_bad_record(broken: BrokenInputs) -> None:
    output = broken.folder / "mining"
    arguments = ["mine", "--model", "tiny-mm", "--prompt-style", "chat", "--answer-source", "forced_choice"]
    arguments += ["--source", "psf-mimic-json", "--questions", str(broken.path(RECORDS))]
    arguments += ["--image-root", str(broken.images), "--condition", "real", "--condition", "swapped"]
    arguments += ["--skip-invalid", "--output", str(output)]
    result = CliRunner().invoke(app, arguments)
    assert result.exit_code == 0, result.output
    rows = pd.read_parquet(output / "rows.parquet")
    assert sorted(rows["question_id"].unique()) == sorted(VALID_IDS)
    assert len(rows) == len(VALID_IDS) * 3 * 2  # original + 2 paraphrases, two image conditions


@pytest.mark.usefixtures("no_model_loads")
def test_check_of_a_csv_with_skip_invalid_keeps_the_valid_rows(broken: BrokenInputs) -> None:
    result = CliRunner().invoke(app, check_args(broken, ROWS_CSV, "--skip-invalid"))
    assert result.exit_code == 0, result.output
    assert "1 record problem(s), 2 question(s) to run" in result.stdout


@pytest.mark.usefixtures("no_model_loads")
def test_check_applies_the_study_options_to_the_configuration_and_its_cost(tmp_path: Path) -> None:
    options = ["--device", "cpu", "--dtype", "bf16", "--limit", "5", "--control-pairs", "3"]
    options += ["--sweep-pairs", "2", "--clamp-questions", "4", "--sweep-layer", "9", "--sweep-layer", "1"]
    result = CliRunner().invoke(app, ["check", "--preset", "demo", "--output", str(tmp_path), *options])
    assert result.exit_code == 0, result.output
    expected = replace(
        preset("demo"),
        model=replace(preset("demo").model, device="cpu", dtype="bfloat16"),
        questions=QuestionsConfig(kind="demo", limit=5),
        control_pairs=3,
        sweep_pairs=2,
        clamp_questions=4,
        sweep_layers=(1, 9),
    )
    assert f"→ {tmp_path / ('demo-' + expected.content_hash())}" in result.stdout
    assert "5 question(s) to run" in result.stdout
    assert "layer_sweep  ≤ 6 forwards" in result.stdout  # (2 layers + the feature component) × 2 pairs


@pytest.mark.parametrize(
    ("option", "value"),
    [("--dtype", "float8"), ("--device", "gpu"), ("--sweep-layer", "-1"), ("--control-pairs", "0")],
)
def test_check_refuses_a_bad_study_option_naming_it(option: str, value: str) -> None:
    result = CliRunner().invoke(app, ["check", "--preset", "demo", option, value])
    assert result.exit_code == 2
    assert f"Invalid value for '{option}'" in result.output


@pytest.mark.usefixtures("no_model_loads")
def test_check_refuses_a_sweep_layer_the_model_lacks(tmp_path: Path) -> None:
    arguments = ["check", "--preset", "demo", "--limit", "4", "--sweep-layer", "18", "--sweep-layer", "3"]
    result = CliRunner().invoke(app, [*arguments, "--output", str(tmp_path)])
    assert result.exit_code == 2, result.output
    where = format_problem("demo-vlm", "layer sweep", "--sweep-layer", "")
    assert f"{where}layer(s) 18: the model has 18 decoder layers, numbered 0 to 17" in result.stderr
    assert "preflight found 1 problem(s)" in result.stderr and "Traceback" not in result.output


@pytest.mark.usefixtures("no_model_loads")
def test_check_refuses_a_feature_beyond_the_sae_width(tmp_path: Path) -> None:
    sae = gemma_scope_folder(tmp_path / "sae", 64)  # 8 features; the medgemma-4b preset studies 3818
    arguments = ["check", "--preset", "medgemma-4b", "--model", "tiny-mm", "--source", "demo", "--limit", "4"]
    result = CliRunner().invoke(app, [*arguments, "--sae-path", str(sae), "--output", str(tmp_path / "runs")])
    assert result.exit_code == 2, result.output
    assert "preflight found 1 problem(s)" in result.stderr
    assert format_problem(str(sae), "SAE", "feature", "") in result.stderr
    assert "feature 3818 does not exist: the SAE has d_sae 8 features" in result.stderr
