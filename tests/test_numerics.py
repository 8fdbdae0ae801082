"""The gate-aware comparisons themselves: they accept a JumpReLU gate that fell the other way at its
threshold, and still catch every real difference."""

import pytest
import torch

from tests.numerics import assert_gated_close, assert_same_features

THRESHOLD = torch.tensor([1.0, 2.0, 0.5])


def _encode(pre: torch.Tensor) -> torch.Tensor:
    return torch.relu(pre) * (pre > THRESHOLD)


def test_a_gate_flip_at_the_threshold_is_accepted() -> None:
    pre = torch.tensor([[1.0, 3.0, 0.1]] + [[0.2, 2.5, 0.9]] * 99)
    rounded = pre.clone()
    rounded[0, 0] = torch.nextafter(torch.tensor(1.0), torch.tensor(2.0))  # one ulp above the threshold
    flips = assert_gated_close(
        _encode(rounded), _encode(pre), pre, THRESHOLD, rtol=1e-5, atol=1e-5, edge=1e-4
    )
    assert flips == 1
    assert (
        assert_same_features(_encode(rounded), _encode(pre), THRESHOLD, rtol=1e-5, atol=1e-5, edge=1e-4) == 1
    )


def test_real_differences_are_caught() -> None:
    pre = torch.tensor([[1.5, 3.0, 0.9]] * 10)
    wrong = _encode(pre).clone()
    wrong[0, 1] += 0.1  # off by far more than rounding, far from the gate
    with pytest.raises(AssertionError, match="away from the gate"):
        assert_gated_close(wrong, _encode(pre), pre, THRESHOLD, rtol=1e-5, atol=1e-5, edge=1e-4)
    closed = _encode(pre).clone()
    closed[0, 0] = 0.0  # a gate closed at pre = 1.5, half a unit above its threshold
    with pytest.raises(AssertionError, match="far from its threshold"):
        assert_same_features(closed, _encode(pre), THRESHOLD, rtol=1e-5, atol=1e-5, edge=1e-4)


def test_too_many_flips_fail_even_at_the_gate() -> None:
    pre = THRESHOLD.expand(10, 3).clone()
    opened = pre * (1 + 1e-6)
    with pytest.raises(AssertionError, match="gates differ"):
        assert_gated_close(_encode(opened), _encode(pre), pre, THRESHOLD, rtol=1e-7, atol=1e-7, edge=1e-4)
