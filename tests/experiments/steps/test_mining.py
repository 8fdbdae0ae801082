import json
import re
from pathlib import Path

import pandas as pd
import pytest
from PIL import Image

from experiments.steps.mining import NonFiniteMarginError, default_image_loader, mine
from flipbank.demo_bank import load_demo_bank
from flipbank.demo_images import write_synthetic_images
from flipbank.images import BlankKind, ImageCondition
from flipbank.mining_plan import MiningConfig, plan_jobs
from flipbank.mining_store import ConfigMismatchError, merge_shards
from flipbank.records import QuestionRecord
from interp.forward import score_prompts
from interp.handle import ModelHandle
from interp.prompts import (
    CHAT_TEMPLATE,
    DEFAULT_FEW_SHOT_EXAMPLES,
    FEW_SHOT_TEMPLATE,
    PromptInput,
    PromptStyle,
    PromptTemplate,
)

ALL_CONDITIONS = (ImageCondition.REAL, ImageCondition.BLANK, ImageCondition.SWAPPED, ImageCondition.NONE)


@pytest.fixture(scope="module")
def image_questions(tmp_path_factory: pytest.TempPathFactory) -> list[QuestionRecord]:
    root = tmp_path_factory.mktemp("images")
    write_synthetic_images(load_demo_bank(), root)
    questions = load_demo_bank(image_root=root)
    patients = list(dict.fromkeys(question.patient for question in questions))[:2]
    return [q for q in questions if q.patient == patients[0]][:3] + [
        q for q in questions if q.patient == patients[1]
    ][:3]  # two patients, so that a swapped image is another patient's


def _rows(path: Path) -> pd.DataFrame:
    return pd.read_parquet(path)


def test_every_condition_gets_one_row_per_prompt(
    tiny_handle: ModelHandle, image_questions: list[QuestionRecord], tmp_path: Path
) -> None:
    settings = MiningConfig(image_conditions=ALL_CONDITIONS, batch_size=8, max_new_tokens=2)
    result = mine(tiny_handle, image_questions, CHAT_TEMPLATE, settings, tmp_path, progress=False)
    rows = _rows(result.rows_path)
    per_condition = sum(len(q.paraphrases) + 1 for q in image_questions)
    assert len(rows) == 4 * per_condition == result.computed
    assert not rows.duplicated(["question_id", "variant_index", "image_condition"]).any()
    real = rows[rows.image_condition == "real"].set_index(["question_id", "variant_index"])
    swapped = rows[rows.image_condition == "swapped"].set_index(["question_id", "variant_index"])
    assert (real["image"] != swapped["image"]).all()
    assert set(rows[rows.image_condition == "blank"]["image"]) == {"blank:gray"}
    assert rows[rows.image_condition == "none"]["image"].isna().all()
    assert (
        real["margin"] != rows[rows.image_condition == "blank"].set_index(real.index.names)["margin"]
    ).any()
    assert (tmp_path / "provenance.json").is_file()
    parsed = rows[rows["parsed_answer"].notna()]
    assert (
        parsed["label_source"].notna().all()
        and rows.loc[rows["parsed_answer"].isna(), "label_source"].isna().all()
    )
    fallback = parsed[parsed["label_source"] == "fallback"]  # a random model's words decide nothing
    assert len(fallback) > 0
    assert (fallback["parsed_answer"] == fallback["margin"].gt(0).map({True: "yes", False: "no"})).all()


def test_margins_match_a_plain_scoring_pass(demo_handle: ModelHandle, tmp_path: Path) -> None:
    questions = load_demo_bank()[:3]
    result = mine(demo_handle, questions, FEW_SHOT_TEMPLATE, MiningConfig(), tmp_path, progress=False)
    rows = _rows(result.rows_path)
    first = rows[rows.question_id == questions[0].question_id].sort_values("variant_index")
    texts = [questions[0].original_question] + [p.text for p in questions[0].paraphrases]
    assert list(first["prompt_text"]) == texts
    scores = score_prompts(demo_handle, [PromptInput(t) for t in texts], FEW_SHOT_TEMPLATE, progress=False)
    assert max(abs(s.margin - m) for s, m in zip(scores, first["margin"], strict=True)) < 1e-3
    assert rows["parsed_answer"].notna().mean() > 0.9  # the few-shot prompt answers in one word
    provenance = json.loads((tmp_path / "provenance.json").read_text())
    assert provenance["settings"]["shared_prefix_tokens"] > 80  # mined after the shared six-shot prefix


class _InterruptError(Exception):
    pass


def test_an_interrupted_run_resumes_without_loss_or_duplicates(
    tiny_handle: ModelHandle, image_questions: list[QuestionRecord], tmp_path: Path
) -> None:
    settings = MiningConfig(
        image_conditions=(ImageCondition.REAL, ImageCondition.NONE), batch_size=3, rows_per_part=4
    )
    reference = mine(tiny_handle, image_questions, CHAT_TEMPLATE, settings, tmp_path / "ref", progress=False)
    loader = default_image_loader(BlankKind.GRAY, 0)
    calls = {"n": 0}

    def failing_loader(reference_name: str) -> Image.Image:
        calls["n"] += 1
        if calls["n"] == 10:
            raise _InterruptError
        return loader(reference_name)

    with pytest.raises(_InterruptError):
        mine(tiny_handle, image_questions, CHAT_TEMPLATE, settings, tmp_path / "run", failing_loader, False)
    assert not (tmp_path / "run" / "rows.parquet").exists()
    resumed = mine(tiny_handle, image_questions, CHAT_TEMPLATE, settings, tmp_path / "run", progress=False)
    assert resumed.reused > 0 and resumed.reused + resumed.computed == reference.computed
    expected, actual = _rows(reference.rows_path), _rows(resumed.rows_path)
    pd.testing.assert_frame_equal(expected, actual, check_exact=False, atol=1e-4)


def test_a_folder_from_another_config_is_refused(demo_handle: ModelHandle, tmp_path: Path) -> None:
    questions = load_demo_bank()[:1]
    mine(demo_handle, questions, FEW_SHOT_TEMPLATE, MiningConfig(), tmp_path, progress=False)
    with pytest.raises(ConfigMismatchError, match="differs in: prompt_template"):
        mine(demo_handle, questions, CHAT_TEMPLATE, MiningConfig(), tmp_path, progress=False)


def test_text_only_models_refuse_image_conditions(demo_handle: ModelHandle, tmp_path: Path) -> None:
    settings = MiningConfig(image_conditions=(ImageCondition.REAL,))
    with pytest.raises(ValueError, match="text-only; image conditions real need a multimodal model"):
        mine(demo_handle, load_demo_bank()[:1], FEW_SHOT_TEMPLATE, settings, tmp_path, progress=False)


def test_shards_merge_into_the_unsharded_result(demo_handle: ModelHandle, tmp_path: Path) -> None:
    questions = load_demo_bank()[:5]
    whole = mine(
        demo_handle, questions, FEW_SHOT_TEMPLATE, MiningConfig(), tmp_path / "whole", progress=False
    )
    folders = []
    for index in range(2):
        settings = MiningConfig(shard_index=index, shard_count=2)
        mine(demo_handle, questions, FEW_SHOT_TEMPLATE, settings, tmp_path / f"s{index}", progress=False)
        folders.append(tmp_path / f"s{index}")
    merged = merge_shards(folders, tmp_path / "merged")
    pd.testing.assert_frame_equal(_rows(whole.rows_path), _rows(merged), check_exact=False, atol=1e-4)
    with pytest.raises(ValueError, match="do not cover"):
        merge_shards(folders[:1], tmp_path / "partial")


def test_non_finite_logits_name_the_prompt(demo_handle: ModelHandle, tmp_path: Path) -> None:
    layer = demo_handle.layers[3]

    def poison(module: object, args: object, output: object) -> object:
        assert isinstance(output, type(args[0]))  # type: ignore[index]
        return output * float("nan")  # type: ignore[operator]

    handle = layer.register_forward_hook(poison)
    try:
        question = load_demo_bank()[0]
        first = plan_jobs([question], MiningConfig())[0]  # the first row of the first batch
        with pytest.raises(NonFiniteMarginError, match=re.escape(first.text)):
            mine(demo_handle, [question], FEW_SHOT_TEMPLATE, MiningConfig(), tmp_path, progress=False)
    finally:
        handle.remove()


def test_a_prefixed_run_with_image_and_text_conditions_equals_whole_prompts(
    tiny_handle: ModelHandle, image_questions: list[QuestionRecord], tmp_path: Path
) -> None:
    two_shot = PromptTemplate(PromptStyle.FEW_SHOT, DEFAULT_FEW_SHOT_EXAMPLES[:2])  # fits tiny-mm's window
    settings = MiningConfig(
        image_conditions=(ImageCondition.BLANK, ImageCondition.NONE), answer_source="forced_choice"
    )
    runs = {
        share: _rows(
            mine(
                tiny_handle,
                image_questions[:3],
                two_shot,
                settings,
                tmp_path / str(share),
                share_prefix=share,
                progress=False,
            ).rows_path
        )
        for share in (True, False)
    }
    provenance = json.loads((tmp_path / "True" / "provenance.json").read_text())
    assert provenance["settings"]["shared_prefix_tokens"] > 0
    shared, whole = runs[True], runs[False]
    assert set(shared["image_condition"]) == {"blank", "none"}
    assert (shared["margin"] - whole["margin"]).abs().max() < 1e-5
    decided = whole["margin"].abs() > 1e-4  # a forced choice is a sign: compare it away from zero
    assert decided.mean() > 0.9
    assert (shared["parsed_answer"] == whole["parsed_answer"])[decided].all()


def test_reusing_the_image_block_changes_no_row(
    tiny_handle: ModelHandle, image_questions: list[QuestionRecord], tmp_path: Path
) -> None:
    settings = MiningConfig(image_conditions=ALL_CONDITIONS, batch_size=8)
    frames = []
    for share in (True, False):
        output = tmp_path / str(share)
        result = mine(tiny_handle, image_questions, CHAT_TEMPLATE, settings, output, share_prefix=share)
        frames.append(
            _rows(result.rows_path).sort_values(["image_condition", "question_id", "variant_index"])
        )
        provenance = json.loads((output / "provenance.json").read_text())
        assert provenance["settings"]["image_prefix_reused"] is share
        pictures = {(job.condition, job.image) for job in plan_jobs(image_questions, settings) if job.image}
        blocks = provenance["settings"]["image_blocks_computed"]
        # at most once per picture though pictures span batches (batches beyond tiny-mm's 64-token sliding
        # window run whole and compute none)
        assert 0 < blocks <= len(pictures) if share else blocks == 0
    reused, whole = frames
    assert list(reused["answer_text"]) == list(whole["answer_text"])
    assert (reused["margin"].to_numpy() - whole["margin"].to_numpy()).__abs__().max() < 1e-4
