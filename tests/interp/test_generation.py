from PIL import Image

from flipbank.answers import parse_answer
from interp.forward import score_prompts
from interp.generation import generate_answers, stop_token_ids
from interp.handle import ModelHandle
from interp.prompts import CHAT_TEMPLATE, FEW_SHOT_TEMPLATE, PromptInput

QUESTIONS = ["Is there a pleural effusion?", "Is the heart enlarged on this film?"]


def test_few_shot_answers_parse_and_match_the_margin(demo_handle: ModelHandle) -> None:
    prompts = [PromptInput(q) for q in QUESTIONS]
    answers = generate_answers(demo_handle, prompts, FEW_SHOT_TEMPLATE, max_new_tokens=4)
    scores = score_prompts(demo_handle, prompts, FEW_SHOT_TEMPLATE, progress=False)
    for text in answers.texts:
        assert "\n" not in text and parse_answer(text).label is not None
    first_step = answers.first_step_logits
    tokens = demo_handle.yes_no_tokens(leading_space=True)
    for row, score in enumerate(scores):
        margin = (first_step[row, tokens.primary_yes] - first_step[row, tokens.primary_no]).item()
        assert abs(margin - score.margin) < 1e-3
        greedy_is_yes = int(first_step[row].argmax()) == tokens.primary_yes
        assert greedy_is_yes == (parse_answer(answers.texts[row]).label == "yes")


def test_generation_with_images_runs(tiny_handle: ModelHandle, xray_like_image: Image.Image) -> None:
    prompts = [PromptInput(q, xray_like_image) for q in QUESTIONS]
    answers = generate_answers(tiny_handle, prompts, CHAT_TEMPLATE, max_new_tokens=3)
    assert len(answers.texts) == 2
    assert answers.first_step_logits.shape == (2, tiny_handle.model.config.text_config.vocab_size)


def test_stop_tokens_include_end_of_turn(demo_handle: ModelHandle) -> None:
    ids = stop_token_ids(demo_handle)
    assert demo_handle.tokenizer.convert_tokens_to_ids("<end_of_turn>") in ids
    assert demo_handle.tokenizer.eos_token_id in ids


def test_one_token_path_equals_generate(demo_handle: ModelHandle) -> None:
    prompts = [PromptInput(q) for q in QUESTIONS]
    fast = generate_answers(demo_handle, prompts, FEW_SHOT_TEMPLATE, max_new_tokens=1)
    generated = generate_answers(demo_handle, prompts, FEW_SHOT_TEMPLATE, max_new_tokens=2)
    assert [text.split()[0] for text in generated.texts] == fast.texts
    assert (fast.first_step_logits - generated.first_step_logits).abs().max() < 1e-3
