"""``psf-workbench train-lora`` on the tiny model: a PEFT adapter folder with its log and a patient-disjoint
split, a finished run not repeated, and the adapter loadable onto a handle."""

import json
from pathlib import Path

from typer.testing import CliRunner

from experiments.commands.cli import app
from experiments.steps.lora_run import SPLIT_FILE, TRAINING_LOG_FILE
from flipbank.demo_bank import load_demo_bank
from interp.adapters import with_adapter
from interp.loading import load_model


def test_train_lora_writes_an_adapter_its_log_and_a_patient_disjoint_split(tmp_path: Path) -> None:
    output = tmp_path / "targeted"
    arguments = ["train-lora", "--model", "tiny-mm", "--limit", "8", "--epochs", "1"]
    arguments += ["--micro-batch-size", "4"]
    result = CliRunner().invoke(app, [*arguments, "--output", str(output)])
    assert result.exit_code == 0, result.output
    assert {p.name for p in output.iterdir()} == {
        "adapter_config.json",
        "adapter_model.safetensors",
        "README.md",
        TRAINING_LOG_FILE,
        SPLIT_FILE,
    }  # PEFT's files, the log and the split; the checkpoint is gone once the run finished
    log = json.loads((output / TRAINING_LOG_FILE).read_text())
    assert log["adapted_layers"] == [2] and log["n_layers"] == 4  # 15–19 of 34, scaled to 4 layers
    assert log["n_steps"] == len(log["losses"]) == -(-log["n_training_pairs"] // 8)
    split = json.loads((output / SPLIT_FILE).read_text())
    patients = {q.question_id: q.patient for q in load_demo_bank()}
    assert len(split["train"]) + len(split["evaluation"]) == 8
    assert not {patients[q] for q in split["train"]} & {patients[q] for q in split["evaluation"]}
    again = CliRunner().invoke(app, [*arguments, "--output", str(output)])
    assert again.exit_code == 0 and "finished adapter" in again.output
    handle = with_adapter(load_model("tiny-mm", device="cpu", dtype="float32"), output)
    assert handle.adapter == str(output)


def test_train_lora_refuses_a_bad_layer_choice(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["train-lora", "--model", "tiny-mm", "--layers", "middle"])
    flat = " ".join(result.output.replace("│", " ").split())
    assert result.exit_code == 2 and "use targeted, full, early or layer indices" in flat
