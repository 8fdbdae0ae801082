"""A run folder remembers which weights made its results, and a rerun with other weights is refused."""

from __future__ import annotations

import doctest
import json
from pathlib import Path

import pytest

from experiments.commands import run_weights
from experiments.commands.run_weights import (
    WEIGHTS_FILE,
    RunWeights,
    RunWeightsError,
    check_run_weights,
    current_weights,
    weights_digest,
)
from experiments.presets import preset


def test_docstring_example() -> None:
    assert doctest.testmod(run_weights).failed == 0


def test_differences_compare_the_sae_only_where_both_know_it() -> None:
    recorded = RunWeights("cache/demo-vlm-aaa", "sae1")
    assert recorded.differences(RunWeights("cache/demo-vlm-aaa", "sae1")) == []
    assert recorded.differences(RunWeights("cache/demo-vlm-aaa", None)) == []
    assert recorded.differences(RunWeights("cache/demo-vlm-aaa", "sae2")) == [
        "sae: sae1 when the folder was made, sae2 now"
    ]
    both = recorded.differences(RunWeights("cache/demo-vlm-bbb", "sae2"))
    assert [line.split(":")[0] for line in both] == ["model", "sae"]


def test_weights_digest_reads_weight_files_only(tmp_path: Path) -> None:
    assert weights_digest(tmp_path) is None
    (tmp_path / "params.safetensors").write_bytes(b"\x00" * 10)
    first = weights_digest(tmp_path)
    (tmp_path / "training_metrics.json").write_text("{}")  # not a weight file
    assert weights_digest(tmp_path) == first
    (tmp_path / "params.safetensors").write_bytes(b"\x00" * 9 + b"\x01")
    assert weights_digest(tmp_path) not in (None, first)


def test_first_run_records_and_same_weights_pass(tmp_path: Path) -> None:
    check_run_weights(tmp_path, RunWeights("model-a", None))
    assert json.loads((tmp_path / WEIGHTS_FILE).read_text()) == {"model": "model-a", "sae": None}
    check_run_weights(tmp_path, RunWeights("model-a", "sae1"))  # an SAE built since is filled in
    assert json.loads((tmp_path / WEIGHTS_FILE).read_text()) == {"model": "model-a", "sae": "sae1"}
    check_run_weights(tmp_path, RunWeights("model-a", "sae1"))


def test_other_weights_are_refused_naming_the_file_and_field(tmp_path: Path) -> None:
    check_run_weights(tmp_path, RunWeights("cache/demo-vlm-aaa", "sae1"))
    with pytest.raises(RunWeightsError, match=r"weights\.json.*model: cache/demo-vlm-aaa when .* now"):
        check_run_weights(tmp_path, RunWeights("cache/demo-vlm-bbb", "sae1"))
    with pytest.raises(RunWeightsError, match="sae: sae1 when the folder was made, sae2 now"):
        check_run_weights(tmp_path, RunWeights("cache/demo-vlm-aaa", "sae2"))
    assert json.loads((tmp_path / WEIGHTS_FILE).read_text())["model"] == "cache/demo-vlm-aaa"


def test_the_demo_names_the_content_addressed_demo_vlm_and_hashes_the_shipped_sae() -> None:
    weights = current_weights(preset("demo"))
    assert weights.model.startswith("demo-vlm @ demo-vlm-")
    assert weights.sae is not None and len(weights.sae) == 16
