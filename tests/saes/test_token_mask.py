from PIL import Image

from interp.handle import ModelHandle
from interp.prompts import CHAT_TEMPLATE, PromptInput, encode_prompts
from saes.token_mask import TokenFilter, included_positions, special_token_ids

QUESTIONS = [PromptInput("Is there a pleural effusion?"), PromptInput("Any fluid?")]


def test_padding_and_bos_are_left_out(demo_handle: ModelHandle) -> None:
    inputs = encode_prompts(demo_handle, QUESTIONS, CHAT_TEMPLATE)
    keep = included_positions(demo_handle, inputs)
    real = inputs["attention_mask"].bool()
    assert (keep.sum(-1) == real.sum(-1) - 1).all()  # exactly the BOS of each row goes
    first_real = real.long().argmax(-1)
    assert not keep[range(2), first_real].any()
    assert (included_positions(demo_handle, inputs, TokenFilter(exclude_bos=False)) == real).all()
    start_of_turn = demo_handle.tokenizer.convert_tokens_to_ids("<start_of_turn>")
    assert isinstance(start_of_turn, int)
    extra = included_positions(demo_handle, inputs, TokenFilter(extra_token_ids=(start_of_turn,)))
    assert (extra.sum(-1) == keep.sum(-1) - 2).all()  # user turn + model turn markers


def test_image_tokens_are_left_out_on_multimodal_models(
    tiny_handle: ModelHandle, xray_like_image: Image.Image
) -> None:
    inputs = encode_prompts(
        tiny_handle, [PromptInput("Is there an effusion?", xray_like_image)], CHAT_TEMPLATE
    )
    ids = inputs["input_ids"][0]
    image_token_id = tiny_handle.image_token_id
    assert image_token_id is not None
    special = special_token_ids(tiny_handle)
    assert {image_token_id, tiny_handle.tokenizer.boi_token_id} <= special
    auto = included_positions(tiny_handle, inputs)[0]
    n_image = int((ids == image_token_id).sum())
    assert n_image == 16
    assert int(auto.sum()) == len(ids) - n_image - 3  # image tokens, start/end of image and BOS
    kept = included_positions(tiny_handle, inputs, TokenFilter(exclude_special=False))[0]
    assert int(kept.sum()) == len(ids) - 1
