"""Study configurations: the run folder's hash follows the question file's content, not only its path; the
presets' hashes stay what they were; counts and sweep layers are validated and enter the hash."""

import os
from dataclasses import replace
from pathlib import Path

import pandas as pd
import pytest

from experiments.commands.cli_preflight import StudyOverrides
from experiments.commands.preflight_cost import step_costs
from experiments.commands.study import check_before_steps
from experiments.presets import preset
from experiments.question_sources import QuestionsConfig, path_fingerprint
from experiments.steps.study_context import StudyContext
from experiments.study_config import StudyConfig

#: The run folder names that existing runs use (runs/demo-c2c98b3f6749 …): neither the sweep-layer field
#: nor the question fingerprint may change a configuration that uses the shipped demo bank and every layer.
#: (demo and tiny changed when they gained their [uncertainty] and [nota] entries, demo again when its
#: comparison went from 28 to 20 questions per set.)
PRESET_HASHES = {
    "demo": "c2c98b3f6749",
    "demo-text": "1cd72a6828b6",
    "tiny": "ea45cf485753",
    "medgemma-4b": "b41de0db4962",
}


def with_questions(path: Path) -> StudyConfig:
    config = preset("medgemma-4b")
    return replace(config, questions=replace(config.questions, path=path))


@pytest.mark.parametrize("name", sorted(PRESET_HASHES))
def test_the_presets_keep_their_hash(name: str) -> None:
    assert preset(name).content_hash() == PRESET_HASHES[name]


def test_a_question_file_replaced_at_the_same_path_gets_another_run_folder(tmp_path: Path) -> None:
    path = tmp_path / "mimic_test.json"
    path.write_text('{"results": []}\n')
    first = with_questions(path).content_hash()
    path.write_text('{"results": []}\n')  # the same bytes again: the same run folder
    assert with_questions(path).content_hash() == first
    path.write_text('{"results": [ ]}\n')
    assert with_questions(path).content_hash() != first
    assert path_fingerprint(tmp_path / "absent.json") == "missing"


def test_a_dataset_folder_is_fingerprinted_by_names_sizes_and_times(tmp_path: Path) -> None:
    folder = tmp_path / "psf-med"
    (folder / "mimic").mkdir(parents=True)
    data = folder / "mimic" / "test.parquet"
    data.write_bytes(b"rows")
    first = path_fingerprint(folder)
    assert first.startswith("folder-sha256:") and path_fingerprint(folder) == first
    (folder / ".cache").mkdir()
    (folder / ".cache" / "download.lock").write_text("x")  # hidden: left out
    assert path_fingerprint(folder) == first
    os.utime(data, ns=(0, 10**9))
    touched = path_fingerprint(folder)
    assert touched != first
    (folder / "mimic" / "train.parquet").write_bytes(b"more rows")
    assert path_fingerprint(folder) not in (first, touched)


def test_the_demo_bank_has_no_fingerprint_and_a_file_source_has_its_sha256(tmp_path: Path) -> None:
    assert QuestionsConfig(kind="demo", path=tmp_path).fingerprint() is None
    path = tmp_path / "bank.csv"
    path.write_bytes(b"abc")
    source = QuestionsConfig(kind="flipbank-csv", path=path)
    sha256_of_abc = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    assert source.fingerprint() == f"sha256:{sha256_of_abc}"


def test_counts_and_sweep_layers_are_validated_naming_the_field() -> None:
    demo = preset("demo")
    with pytest.raises(ValueError, match=r"StudyConfig\.control_pairs must be a positive integer, not 0"):
        replace(demo, control_pairs=0)
    with pytest.raises(ValueError, match=r"StudyConfig\.sweep_pairs must be a positive integer, not -2"):
        replace(demo, sweep_pairs=-2)
    for layers in ((), (-1,), (3, 3)):
        with pytest.raises(ValueError, match=r"StudyConfig\.sweep_layers must be distinct"):
            replace(demo, sweep_layers=layers)


def test_overrides_reach_the_model_options_and_counts_and_change_the_hash() -> None:
    demo = preset("demo")
    overrides = StudyOverrides(
        device="cpu",
        dtype="bfloat16",
        limit=5,
        control_pairs=3,
        sweep_pairs=2,
        clamp_questions=4,
        sweep_layers=(9, 1, 9),
    )
    config = overrides.apply(demo)
    assert (config.model.device, config.model.dtype, config.model.spec) == ("cpu", "bfloat16", "demo-vlm")
    assert (config.questions.limit, config.control_pairs, config.sweep_pairs, config.clamp_questions) == (
        5,
        3,
        2,
        4,
    )
    assert config.sweep_layers == (1, 9)
    assert StudyOverrides().apply(demo) == demo
    hashes = {demo.content_hash(), config.content_hash(), replace(demo, sweep_layers=(1, 9)).content_hash()}
    assert len(hashes) == 3


def test_the_comparison_cuts_each_evaluation_set_to_a_stratified_sample(tmp_path: Path) -> None:
    demo = preset("demo")
    assert demo.comparison is not None and demo.comparison.questions_per_set == 20
    context = StudyContext(demo, tmp_path)
    sets = context.evaluation_sets(context.comparison_split())
    assert [(s.name, len(s.questions)) for s in sets] == [("evaluation split", 20), ("demo-rephrased", 20)]
    evaluation_ids = {question.question_id for question in context.comparison_split().evaluation}
    assert {question.question_id for question in sets[0].questions} <= evaluation_ids
    assert {question.answer for question in sets[1].questions} == {"yes", "no"}
    uncut = replace(demo, comparison=replace(demo.comparison, questions_per_set=None))
    costs = [step_costs(config, context.questions, ["comparison"], 18)[0] for config in (demo, uncut)]
    assert costs[0].forwards < costs[1].forwards
    with pytest.raises(ValueError, match=r"ComparisonConfig\.questions_per_set must be a positive integer"):
        replace(demo.comparison, questions_per_set=0)


def test_the_studied_feature_can_come_from_attribution_patching(tmp_path: Path) -> None:
    config = replace(preset("tiny"), feature_from="attribution")
    assert config.content_hash() != preset("tiny").content_hash()
    checked = pd.DataFrame({"feature": [5, 9, 2], "real_rank": [2, 1, 3]})
    checked.to_parquet(tmp_path / "attribution.parquet")
    assert StudyContext(config, tmp_path).feature() == 9
    with pytest.raises(ValueError, match="feature_from = 'attribution' picks the feature of clamping"):
        check_before_steps(StudyContext(config, tmp_path / "fresh"), ["clamping"])


def test_attribution_can_use_integrated_gradients() -> None:
    tiny = preset("tiny")
    assert replace(tiny, attribution_steps=4).content_hash() != tiny.content_hash()
    with pytest.raises(ValueError, match=r"StudyConfig\.attribution_steps must be a positive integer, not 0"):
        replace(tiny, attribution_steps=0)
