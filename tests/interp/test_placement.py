import pytest
import torch

from interp.placement import choose_placement, parse_dtype


def test_cpu_defaults_to_float32() -> None:
    placement = choose_placement("cpu")
    assert placement.device == torch.device("cpu")
    assert placement.dtype == torch.float32


def test_cuda_defaults_to_bfloat16_without_touching_a_gpu() -> None:
    assert choose_placement("cuda").dtype == torch.bfloat16


def test_automatic_choice_matches_the_machine() -> None:
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert choose_placement().device.type == expected


def test_explicit_dtype_overrides() -> None:
    assert choose_placement("cpu", "bf16").dtype == torch.bfloat16
    assert parse_dtype(torch.float16) == torch.float16


def test_unknown_dtype_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="unknown dtype 'int7'"):
        parse_dtype("int7")
