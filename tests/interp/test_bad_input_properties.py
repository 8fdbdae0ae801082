"""Property tests of the model side under bad input: files that are not images, odd image modes and sizes,
non-finite logits, arbitrary answer text and very long questions each give a clear error or a documented
result, never a crash deep in PIL or torch or a silently wrong number."""

from __future__ import annotations

import io
import struct
import tempfile
import time
import zlib
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from flipbank.answers import ExclusionReason, parse_answer
from flipbank.images import IMAGE_SIZE, load_image
from flipbank.quadrants import yes_no_entropy_bits
from interp.answer_tokens import YesNoTokens
from interp.forward import score_prompts
from interp.handle import ModelHandle
from interp.margin import yes_minus_no_margin
from interp.prompts import CHAT_TEMPLATE, PromptInput, encode_prompts

MODES = ["1", "L", "LA", "P", "RGB", "RGBA", "CMYK", "I", "I;16", "F"]


def _load_bytes(data: bytes, name: str = "scan.png") -> Image.Image:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / name
        path.write_bytes(data)
        return load_image(path)


def _encoded(image: Image.Image, kind: str) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=kind)
    return buffer.getvalue()


@settings(max_examples=60, deadline=None)
@given(data=st.binary(max_size=300))
def test_bytes_that_are_not_an_image_give_a_value_error_naming_the_file(data: bytes) -> None:
    try:
        image = _load_bytes(data, "not-an-image.jpg")
    except ValueError as error:
        assert "not-an-image.jpg: not a readable image" in str(error)
    else:
        assert image.size == (IMAGE_SIZE, IMAGE_SIZE) and image.mode == "RGB"


@settings(max_examples=60, deadline=None)
@given(kind=st.sampled_from(["PNG", "JPEG", "BMP", "TIFF"]), data=st.data())
def test_a_truncated_image_is_refused_naming_the_file_or_decodes_completely(
    kind: str, data: st.DataObject
) -> None:
    pixels = np.random.default_rng(0).integers(0, 256, size=(64, 48, 3), dtype=np.uint8)
    encoded = _encoded(Image.fromarray(pixels, mode="RGB"), kind)
    whole = np.asarray(_load_bytes(encoded, "whole.img"))
    cut = data.draw(st.integers(0, len(encoded) - 1))
    try:
        image = _load_bytes(encoded[:cut], "cut.img")
    except ValueError as error:
        assert "cut.img: not a readable image" in str(error)
    else:  # only trailing bytes the decoder does not need were cut: never a partly decoded image
        assert (np.asarray(image) == whole).all()


@settings(max_examples=40, deadline=None)
@given(mode=st.sampled_from(MODES), width=st.integers(1, 600), height=st.integers(1, 600))
def test_any_mode_and_size_becomes_a_224_rgb_image(mode: str, width: int, height: int) -> None:
    image = _load_bytes(_encoded(Image.new(mode, (width, height)), "TIFF"), "odd.tiff")
    assert image.size == (IMAGE_SIZE, IMAGE_SIZE) and image.mode == "RGB"


def _png_header_only(width: int, height: int) -> bytes:
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\0" * 8))
        + chunk(b"IEND", b"")
    )


def test_a_decompression_bomb_gives_a_value_error_naming_the_file() -> None:
    with pytest.raises(ValueError, match=r"bomb\.png"):
        _load_bytes(_png_header_only(40_000, 40_000), "bomb.png")


def test_a_16_bit_grayscale_image_keeps_its_contrast() -> None:
    gradient = (
        np.linspace(0, 65535, IMAGE_SIZE * IMAGE_SIZE).reshape(IMAGE_SIZE, IMAGE_SIZE).astype(np.uint16)
    )
    loaded = np.asarray(_load_bytes(_encoded(Image.fromarray(gradient), "PNG"), "padchest.png"))[..., 0]
    assert (loaded == 255).mean() < 0.05 and loaded.max() == 255
    assert (np.diff(loaded.ravel().astype(int)) >= 0).all()  # monotone: brighter stays brighter


# ---- logits and margins ------------------------------------------------------------------------------

TOKENS = YesNoTokens(yes=(3, 4), no=(5, 6))


@settings(max_examples=60, deadline=None)
@given(
    data=st.data(),
    rows=st.integers(1, 6),
    dtype=st.sampled_from([torch.float32, torch.bfloat16, torch.float16]),
    bad=st.sampled_from([float("nan"), float("inf"), float("-inf")]),
)
def test_a_non_finite_logit_spoils_only_its_own_row(
    data: st.DataObject, rows: int, dtype: torch.dtype, bad: float
) -> None:
    logits = torch.tensor(
        data.draw(
            st.lists(st.lists(st.floats(-60, 60), min_size=8, max_size=8), min_size=rows, max_size=rows)
        )
    ).to(dtype)
    assert torch.isfinite(yes_minus_no_margin(logits, TOKENS)).all()
    row, column = data.draw(st.integers(0, rows - 1)), data.draw(st.sampled_from([3, 5]))
    logits[row, column] = bad
    for variants in ("primary", "logsumexp"):
        margins = yes_minus_no_margin(logits, TOKENS, variants)
        assert margins.dtype == torch.float32
        finite = torch.isfinite(margins)
        assert finite.sum() >= rows - 1 and finite[row].item() == (variants == "logsumexp" and bad < 0)
    # (a −inf logit only zeroes one spelling's probability, which the logsumexp pools away)


@settings(max_examples=60, deadline=None)
@given(margin=st.floats(allow_nan=True, allow_infinity=True))
def test_entropy_is_in_zero_to_one_bit_for_any_margin_and_nan_only_for_nan(margin: float) -> None:
    entropy = float(yes_no_entropy_bits(torch.tensor([margin]))[0])  # a model-side float32 tensor
    if np.isnan(margin):
        assert np.isnan(entropy)
    else:
        assert 0.0 <= entropy <= 1.0 + 1e-12


# ---- answers and questions ---------------------------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(text=st.text(st.characters(codec="utf-8"), max_size=80))
def test_any_answer_text_is_labelled_or_excluded_never_both(text: str) -> None:
    parsed = parse_answer(text)
    assert (parsed.label is None) != (parsed.exclusion is None)
    if not text.strip():
        assert parsed.exclusion == ExclusionReason.EMPTY


@pytest.mark.parametrize("unit", ["no ", "not visible ", "yes, ", "a" * 50, "if it may be present " * 3])
def test_a_very_long_answer_parses_in_linear_time(unit: str) -> None:
    text = unit * (200_000 // len(unit))
    start = time.perf_counter()
    parse_answer(text)
    assert time.perf_counter() - start < 5.0


def test_a_very_long_question_is_scored_whole_not_truncated(tiny_handle: ModelHandle) -> None:
    short, long = "Is there an effusion?", "Is there an effusion " * 600 + "?"
    lengths = [
        int(encode_prompts(tiny_handle, [PromptInput(q)], CHAT_TEMPLATE)["input_ids"].shape[1])
        for q in (short, long)
    ]
    assert lengths[1] > lengths[0] + 2000
    (score,) = score_prompts(tiny_handle, [PromptInput(long)], CHAT_TEMPLATE, progress=False)
    assert np.isfinite(score.margin) and 0.0 <= score.p_yes <= 1.0 and 0.0 <= score.p_no <= 1.0
