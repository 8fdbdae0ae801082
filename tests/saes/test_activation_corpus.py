import pytest
import torch
from PIL import Image

from flipbank.demo_bank import load_demo_bank
from flipbank.demo_images import write_synthetic_images
from interp.handle import ModelHandle
from interp.hooks import ResidCapture
from interp.prompts import CHAT_TEMPLATE, FEW_SHOT_TEMPLATE, PromptInput, encode_prompts
from saes.activation_corpus import (
    bank_questions,
    collect_activations,
    question_images,
    shuffled_batches,
    split_questions,
)
from saes.token_mask import TokenFilter

QUESTIONS = ["Is there a pleural effusion?", "Any fluid here?", "Is the heart big?"]


def _single(handle: ModelHandle, question: str) -> torch.Tensor:
    inputs = encode_prompts(handle, [PromptInput(question)], FEW_SHOT_TEMPLATE)
    with ResidCapture(handle.layers, [2], positions="all") as capture, torch.no_grad():
        handle.model(**inputs)
    return capture.activations[2][0]


def test_shared_few_shot_prefix_is_kept_once(tiny_handle: ModelHandle) -> None:
    rows = collect_activations(tiny_handle, 2, QUESTIONS, FEW_SHOT_TEMPLATE, batch_size=2)
    singles = [_single(tiny_handle, q) for q in QUESTIONS]
    lengths = [s.shape[0] for s in singles]
    prefix = next(
        i for i in range(min(lengths)) if not torch.allclose(singles[0][i], singles[1][i], atol=1e-5)
    )
    assert prefix > 50  # the six few-shot examples
    assert rows.shape == (
        lengths[0] - 1 + sum(n - prefix for n in lengths[1:]),
        64,
    )  # first keeps it, minus BOS
    torch.testing.assert_close(rows[: lengths[0] - 1], singles[0][1:], rtol=1e-4, atol=1e-4)
    torch.testing.assert_close(rows[-(lengths[2] - prefix) :], singles[2][prefix:], rtol=1e-4, atol=1e-4)


def test_chat_rows_skip_only_bos(tiny_handle: ModelHandle) -> None:
    rows = collect_activations(tiny_handle, 1, QUESTIONS[:1], CHAT_TEMPLATE)
    inputs = encode_prompts(tiny_handle, [PromptInput(QUESTIONS[0])], CHAT_TEMPLATE)
    assert rows.shape[0] == inputs["input_ids"].shape[1] - 1 and rows.dtype == torch.float32


def test_batches_are_full_seeded_and_cover_each_epoch() -> None:
    data = torch.arange(10.0).unsqueeze(1).repeat(1, 3)
    batches = shuffled_batches(data, 4, seed=1)
    first_epochs = torch.cat([next(batches) for _ in range(5)])  # 20 rows = two epochs
    assert sorted(first_epochs[:, 0].tolist()) == sorted(list(range(10)) * 2)
    again = shuffled_batches(data, 4, seed=1)
    assert torch.equal(next(again), first_epochs[:4])


def test_questions_split_by_question_id() -> None:
    bank = bank_questions()
    train, held_out = split_questions(bank, 0.1, seed=0)
    assert not set(train) & set(held_out)
    assert set(train) | set(held_out) == {text for texts in bank.values() for text in texts}
    held_ids = [qid for qid, texts in bank.items() if any(text in held_out for text in texts)]
    assert len(held_ids) <= round(len(bank) * 0.1)
    assert all(text in held_out or text in train for qid in held_ids for text in bank[qid])
    assert split_questions(bank, 0.1, seed=0) == (train, held_out)


def test_image_prompts_keep_image_tokens_once_per_picture_only_when_asked(
    tiny_handle: ModelHandle, xray_like_image
) -> None:
    other = xray_like_image.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    images = [xray_like_image, other, xray_like_image]
    text_rows = collect_activations(tiny_handle, 1, QUESTIONS, CHAT_TEMPLATE)
    no_image_tokens = collect_activations(tiny_handle, 1, QUESTIONS, CHAT_TEMPLATE, images=images)
    keep = TokenFilter(keep_image_tokens=True)
    with_image_tokens = collect_activations(
        tiny_handle, 1, QUESTIONS, CHAT_TEMPLATE, keep, batch_size=2, images=images
    )
    n_image_tokens = tiny_handle.model.config.mm_tokens_per_image
    # the image block adds line breaks around it but its markers and soft tokens are left out by default
    assert no_image_tokens.shape[0] >= text_rows.shape[0]
    # two pictures: the third prompt shows the first one again (in the next batch), its image block is skipped
    assert with_image_tokens.shape[0] == no_image_tokens.shape[0] + 2 * n_image_tokens
    first_alone = collect_activations(tiny_handle, 1, QUESTIONS[:1], CHAT_TEMPLATE, keep, images=images[:1])
    torch.testing.assert_close(with_image_tokens[: first_alone.shape[0]], first_alone, rtol=1e-4, atol=1e-4)
    with pytest.raises(ValueError, match="1 images for 2 questions"):
        collect_activations(tiny_handle, 1, QUESTIONS[:2], CHAT_TEMPLATE, images=images[:1])


def test_question_images_map_each_text_to_its_first_questions_picture(tmp_path) -> None:
    bank = load_demo_bank()
    write_synthetic_images(bank, tmp_path)
    pictures = question_images(tmp_path)
    first = bank[0]
    assert pictures[first.original_question].size == (224, 224)
    assert pictures[first.paraphrases[0].text] is pictures[first.original_question]
