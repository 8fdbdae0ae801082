"""Tests of the demo VLM's training run on a tiny configuration: seeded, checkpointed and resumable."""

from pathlib import Path

import numpy as np
import pytest
import torch

from experiments.stand_ins import demo_vlm_build
from experiments.stand_ins.demo_vlm_build import DemoVLMRecipe, TrainedDemoVLM, train_demo_vlm
from experiments.stand_ins.demo_vlm_evaluation import held_out_report
from flipbank.demo_images import render_synthetic_image
from flipbank.images import ImageCondition
from flipbank.records import QuestionRecord
from interp.demo_model import ensure_demo_model
from interp.demo_vlm import assemble_demo_vlm, save_trained
from interp.demo_vlm_training import AnswerTrainingConfig
from interp.demo_vlm_vision import VisionPretrainConfig
from interp.forward import score_prompts
from interp.loading import handle_from_model, load_model
from interp.prompts import CHAT_TEMPLATE, PromptInput
from interp.training_state import CHECKPOINT_FILE

TINY_RECIPE = DemoVLMRecipe(
    n_train_patients=10,
    per_answer=1,
    vision=VisionPretrainConfig(steps=2, batch_size=4),
    answers=AnswerTrainingConfig(batch_size=4, warm_up_steps=2, text_only_every=3),
    checkpoint_every=2,
)


def _trainable(trained: TrainedDemoVLM) -> dict[str, torch.Tensor]:
    return {n: p.detach().clone() for n, p in trained.trainer.model.named_parameters() if p.requires_grad}


@pytest.fixture(scope="module")
def straight(tmp_path_factory: pytest.TempPathFactory) -> TrainedDemoVLM:
    return train_demo_vlm(TINY_RECIPE, ensure_demo_model(), tmp_path_factory.mktemp("straight"))


class InterruptedRunError(Exception):
    pass


def test_an_interrupted_run_resumes_to_the_same_weights(
    straight: TrainedDemoVLM, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    reference = _trainable(straight)
    save = demo_vlm_build.save_checkpoint

    def save_then_stop(*args: object) -> None:
        save(*args)  # type: ignore[arg-type]
        raise InterruptedRunError

    with monkeypatch.context() as patch:
        patch.setattr(demo_vlm_build, "save_checkpoint", save_then_stop)
        with pytest.raises(InterruptedRunError):
            train_demo_vlm(TINY_RECIPE, ensure_demo_model(), tmp_path)
    assert (tmp_path / CHECKPOINT_FILE).is_file()
    resumed = _trainable(train_demo_vlm(TINY_RECIPE, ensure_demo_model(), tmp_path))
    assert reference.keys() == resumed.keys() and len(reference) > 100
    for name, tensor in reference.items():
        assert torch.allclose(tensor, resumed[name], atol=1e-6), name


def test_the_saved_parts_assemble_into_the_trained_model(straight: TrainedDemoVLM, tmp_path: Path) -> None:
    save_trained(straight.trainer.model, tmp_path / "trained", straight.log)
    assert {p.name for p in (tmp_path / "trained").iterdir()} == {
        "adapter_config.json",
        "adapter_model.safetensors",
        "vision.safetensors",
        "training_log.json",
    }
    assemble_demo_vlm(tmp_path / "trained", ensure_demo_model(), tmp_path / "model")
    loaded = load_model(str(tmp_path / "model"), device="cpu", dtype="float32")
    picture = render_synthetic_image("t/p10/p1/s1.png", frozenset({"pleural effusion"})).image
    prompts = [PromptInput("Is there a pleural effusion?", picture), PromptInput("Any edema?", picture)]
    in_memory = handle_from_model(
        "trained",
        straight.trainer.model.get_base_model(),  # type: ignore[arg-type]  # LoRA still unmerged
        straight.processor.tokenizer,
        straight.processor,
        torch.float32,
    )
    expected = score_prompts(in_memory, prompts, CHAT_TEMPLATE, progress=False)
    got = score_prompts(loaded, prompts, CHAT_TEMPLATE, progress=False)
    assert max(abs(a.margin - b.margin) for a, b in zip(expected, got, strict=True)) < 1e-3


def _question(answer: str) -> QuestionRecord:
    return QuestionRecord(
        question_id="q",
        question_type="presence",
        answer=answer,  # type: ignore[arg-type]
        image="i.png",
        finding="edema",
        original_question="Is there edema?",
        paraphrases=[{"text": "Any edema?", "phenomenon": "lexical_substitution"}],  # type: ignore[list-item]
        source="test",
    )


def test_the_held_out_report_counts_by_hand() -> None:
    questions = [_question(a) for a in ("yes", "yes", "no", "no")]
    answers = {
        ImageCondition.REAL: np.array([True, True, False, True]),  # 3 of 4 right
        ImageCondition.BLANK: np.array([False, False, False, False]),  # 2 of 4 right; agrees with real on 1
        ImageCondition.SWAPPED: np.array([True, False, False, True]),  # differs from real on 1
        ImageCondition.NONE: np.array([True, True, True, True]),
    }
    report = held_out_report(answers, questions)
    assert report.accuracy_real.value == 0.75 and report.accuracy_blank.value == 0.5
    assert report.accuracy_none.value == 0.5 and report.accuracy_swapped.value == 0.5
    assert report.text_only_agreement.value == 0.25 and report.swap_sensitivity.value == 0.25
    assert report.accuracy_real.ci_low <= 0.75 <= report.accuracy_real.ci_high
    assert len(report.lines()) == 6
