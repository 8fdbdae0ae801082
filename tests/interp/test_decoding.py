import math
from collections.abc import Mapping

import pytest
import torch
from PIL import Image

from interp.decoding import NucleusSampler, decode
from interp.generation import stop_token_ids
from interp.handle import ModelHandle
from interp.prompts import CHAT_TEMPLATE, PromptInput, encode_prompts

QUESTIONS = ["Is there a pleural effusion?", "Is the heart enlarged on this film, would you say?"]


def _reference_tokens(handle: ModelHandle, inputs: dict[str, torch.Tensor], steps: int) -> torch.Tensor:
    """``generate``'s greedy tokens (positions derived by generate itself)."""
    kwargs = {k: v for k, v in inputs.items() if k != "position_ids"}
    with torch.inference_mode():
        out = handle.model.generate(  # type: ignore[operator]
            **kwargs,
            do_sample=False,
            max_new_tokens=steps,
            min_new_tokens=steps,
            pad_token_id=handle.tokenizer.pad_token_id,
        )
    return out[:, inputs["input_ids"].shape[1] :]


@pytest.mark.parametrize("with_image", [False, True])
def test_greedy_decode_equals_generate_and_its_nll_is_teacher_forced(
    tiny_handle: ModelHandle, xray_like_image: Image.Image, with_image: bool
) -> None:
    image = xray_like_image if with_image else None
    inputs = encode_prompts(tiny_handle, [PromptInput(q, image) for q in QUESTIONS], CHAT_TEMPLATE)
    decoded = decode(tiny_handle, dict(inputs), 3, stop_ids=[])  # no stop: every row emits 3 tokens
    assert torch.equal(decoded.tokens, _reference_tokens(tiny_handle, inputs, 3))
    assert decoded.token_counts.tolist() == [3, 3]
    # teacher forcing: the prompt and the emitted tokens in one forward pass
    full = {**inputs, "input_ids": torch.cat([inputs["input_ids"], decoded.tokens], dim=1)}
    full["attention_mask"] = torch.cat([inputs["attention_mask"], torch.ones_like(decoded.tokens)], dim=1)
    full["position_ids"] = (full["attention_mask"].cumsum(-1) - 1).clamp(min=0)
    if "token_type_ids" in full:
        full["token_type_ids"] = torch.cat(
            [inputs["token_type_ids"], torch.zeros_like(decoded.tokens)], dim=1
        )
    with torch.inference_mode():
        logits = tiny_handle.model(**full).logits[:, -4:-1].float()
    expected = -torch.log_softmax(logits, -1).gather(-1, decoded.tokens[..., None])[..., 0].sum(-1)
    torch.testing.assert_close(decoded.nll, expected, atol=1e-3, rtol=1e-4)


def test_decoding_stops_and_counts_the_stop_token(tiny_handle: ModelHandle) -> None:
    inputs = dict(encode_prompts(tiny_handle, [PromptInput(q) for q in QUESTIONS], CHAT_TEMPLATE))
    free = decode(tiny_handle, inputs, 4, stop_ids=[])
    first = int(free.tokens[0, 0])  # make row 0's first greedy token a stop token
    stopped = decode(tiny_handle, inputs, 4, stop_ids=[first])
    assert int(stopped.token_counts[0]) == 1 and torch.allclose(
        stopped.nll[0],
        free.first_step_logits.new_tensor(-torch.log_softmax(free.first_step_logits[0], -1)[first].item()),
        atol=1e-5,
    )
    pad = int(tiny_handle.tokenizer.pad_token_id or 0)
    assert (stopped.tokens[0, 1:] == pad).all()


def test_sampling_is_seeded_per_prompt_and_repeats_share_one_prefill(tiny_handle: ModelHandle) -> None:
    prompts = [PromptInput(q) for q in QUESTIONS]
    inputs = dict(encode_prompts(tiny_handle, prompts, CHAT_TEMPLATE))
    stops = stop_token_ids(tiny_handle)

    def sample(seeds: list[int], batch: Mapping[str, object]) -> torch.Tensor:
        sampler = NucleusSampler(temperature=1.0, top_p=0.9, seeds=seeds)
        return decode(tiny_handle, batch, 3, stops, pick=sampler, repeats=4).tokens

    both = sample([7, 8], inputs)
    assert both.shape[0] == 8 and torch.equal(both, sample([7, 8], inputs))
    alone = sample([8], dict(encode_prompts(tiny_handle, prompts[1:], CHAT_TEMPLATE)))
    assert torch.equal(both[4:], alone)  # the second prompt's samples ignore its batch mate
    assert len({tuple(row.tolist()) for row in both[:4]}) > 1  # a random model at T = 1 varies
    greedy = decode(tiny_handle, inputs, 3, stops)
    near_greedy = NucleusSampler(temperature=1.0, top_p=1e-9, seeds=[1, 2])
    cut = decode(tiny_handle, inputs, 3, stops, pick=near_greedy, repeats=2)
    assert torch.equal(cut.tokens[::2], greedy.tokens) and torch.equal(cut.tokens[1::2], greedy.tokens)


def test_nucleus_sampler_keeps_the_nucleus_and_its_proportions() -> None:
    logits = torch.log(torch.tensor([[0.5, 0.3, 0.2]]))
    sampler = NucleusSampler(temperature=1.0, top_p=0.6, seeds=[0])
    picked = sampler(logits.repeat(4000, 1))
    counts = torch.bincount(picked, minlength=3).tolist()
    assert counts[2] == 0  # outside the nucleus {0, 1} (mass 0.8 ≥ 0.6; 0.5 alone is not)
    share = counts[0] / 4000  # 0.5 / 0.8 = 0.625; 4000 draws: σ ≈ 0.0077
    assert math.isclose(share, 0.625, abs_tol=0.04)
    sharpened = NucleusSampler(temperature=0.5, top_p=1.0, seeds=[0])(logits.repeat(4000, 1))
    expected = torch.softmax(logits[0] / 0.5, -1)  # 0.66, 0.24, 0.11
    observed = torch.bincount(sharpened, minlength=3).double() / 4000
    assert torch.allclose(observed, expected.double(), atol=0.04)


def test_sampler_rejects_bad_settings() -> None:
    with pytest.raises(ValueError, match="temperature"):
        NucleusSampler(temperature=0.0, top_p=0.9, seeds=[0])
