"""Readable errors: an expected error prints its message alone to stderr and exits with status 2, --debug
shows its traceback, and an unexpected exception keeps its traceback."""

import os
import subprocess
import sys
from pathlib import Path

import huggingface_hub.constants
import pytest
import typer
from typer.testing import CliRunner

import experiments.commands.cli_mining
from experiments.commands.cli import app
from experiments.commands.cli_errors import EXIT_KNOWN_ERROR, ReadableErrorsGroup, debug_option
from experiments.commands.preflight import PreflightError
from experiments.steps.mining import NonFiniteMarginError
from experiments.steps.study_context import EmptyFlipBankError, SweepLayerError
from flipbank.errors import RecordError
from flipbank.mining_store import ConfigMismatchError
from flipbank.record_checks import CheckProblem
from interp.loading import ModelWeightsMissingError
from saes.loading import SAELoadError
from tests.flipbank.broken_inputs import build_broken_inputs

REPOSITORY = Path(__file__).resolve().parents[3]
KNOWN = [
    RecordError("data.json", "row 3", "answer", "missing field"),
    ModelWeightsMissingError("Could not load model 'x'.\nTo obtain the weights: …"),
    ConfigMismatchError("runs/x/config.json: results were made with a different configuration"),
    PreflightError([CheckProblem("disk", "runs", "run folder", None, "0.10 GiB free")]),
    NonFiniteMarginError("non-finite margin nan for question 'q-1'"),
    SAELoadError("SAE x has d_in 64, but 'tiny-mm' has d_model 32"),
    EmptyFlipBankError("runs/x: the FlipBank is empty, so step features cannot run (…)"),
    SweepLayerError("sweep_layers (--sweep-layer) 40: 'tiny-mm' has 4 decoder layers, numbered 0 to 3"),
]


def _app_raising(error: Exception) -> typer.Typer:
    small = typer.Typer(cls=ReadableErrorsGroup)

    @small.callback()
    def main(debug: bool = debug_option()) -> None:
        """A group with the workbench's error handling."""

    @small.command()
    def fail() -> None:
        raise error

    return small


@pytest.mark.parametrize("error", KNOWN, ids=lambda error: type(error).__name__)
def test_every_known_error_prints_its_message_alone_with_status_2(error: Exception) -> None:
    result = CliRunner().invoke(_app_raising(error), ["fail"])
    assert result.exit_code == EXIT_KNOWN_ERROR
    assert result.stderr == f"{error}\n"
    assert result.stdout == ""
    debug = CliRunner().invoke(_app_raising(error), ["--debug", "fail"])
    assert debug.exception is error


def test_an_unexpected_error_keeps_its_traceback(monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(*args: object, **kwargs: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(experiments.commands.cli_mining, "load_questions", boom)
    result = CliRunner().invoke(app, ["mine", "--no-preflight", "--source", "demo", "--limit", "1"])
    assert isinstance(result.exception, RuntimeError)
    assert result.exit_code == 1
    assert result.exc_info is not None and result.exc_info[2] is not None


def test_a_missing_model_gives_the_advice_without_a_traceback(tmp_path: Path) -> None:
    empty = tmp_path / "no-model-here"
    empty.mkdir()
    arguments = ["mine", "--no-preflight", "--model", str(empty), "--source", "demo", "--limit", "1"]
    result = CliRunner().invoke(app, [*arguments, "--output", str(tmp_path / "out")])
    assert result.exit_code == 2
    assert "To obtain the weights" in result.stderr and "hf download" in result.stderr
    assert "Traceback" not in result.output
    debug = CliRunner().invoke(app, ["--debug", *arguments, "--output", str(tmp_path / "out")])
    assert isinstance(debug.exception, ModelWeightsMissingError)


def test_study_on_medgemma_without_the_weights_fails_in_the_preflight_with_the_advice(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path / "empty-hf-cache"))
    broken = build_broken_inputs(tmp_path / "inputs")
    arguments = ["study", "--preset", "medgemma-4b", "--questions", str(broken.path("records.json"))]
    arguments += ["--image-root", str(broken.images), "--output", str(tmp_path / "runs"), "--skip-invalid"]
    result = CliRunner().invoke(app, arguments)
    assert result.exit_code == 2, result.output
    assert "[MODEL] google/medgemma-4b-it" in result.stderr
    assert "hf download google/medgemma-4b-it" in result.stderr
    assert "hf download google/gemma-scope-2-4b-it" in result.stderr
    assert "Traceback" not in result.output
    assert not (tmp_path / "runs").exists()  # refused before the run folder was made


def test_bad_input_without_preflight_is_one_readable_line(tmp_path: Path) -> None:
    broken = build_broken_inputs(tmp_path / "inputs")
    arguments = ["mine", "--no-preflight", "--source", "psf-mimic-json"]
    result = CliRunner().invoke(app, [*arguments, "--questions", str(broken.path("malformed.json"))])
    assert result.exit_code == 2
    message = result.stderr.strip()
    assert message.startswith(str(broken.path("malformed.json")))
    assert message.endswith(
        "line 2, column 25: malformed JSON: Expecting property name enclosed in double quotes"
    )


@pytest.mark.parametrize("debug", [False, True])
def test_the_installed_command_line_shows_a_traceback_only_with_debug(tmp_path: Path, debug: bool) -> None:
    empty = tmp_path / "no-model-here"
    empty.mkdir()
    command = [sys.executable, "-m", "experiments.commands.cli", *(["--debug"] if debug else [])]
    command += ["mine", "--no-preflight", "--model", str(empty), "--source", "demo", "--limit", "1"]
    command += ["--output", str(tmp_path / "out")]
    environment = {**os.environ, "PYTHONPATH": str(REPOSITORY), "HF_HUB_OFFLINE": "1"}
    done = subprocess.run(
        command, capture_output=True, text=True, cwd=REPOSITORY, env=environment, timeout=300, check=False
    )
    assert "To obtain the weights" in done.stderr
    assert ("Traceback" in done.stderr) is debug
    assert done.returncode == (1 if debug else 2)
