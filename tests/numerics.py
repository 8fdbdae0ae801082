"""Comparisons that hold on any BLAS kernel and thread count. A JumpReLU gate is a step: a pre-activation
within rounding of its threshold may open the gate in one computation and close it in a mathematically equal
one, so such entries are checked to be one of the two legal values, and all others to float tolerance."""

from __future__ import annotations

from typing import Any

import torch
from sae_lens import SAE
from torch import Tensor

from saes.features import feature_slice


def assert_gated_close(
    actual: Tensor,
    expected: Tensor,
    pre: Tensor,
    threshold: Tensor,
    *,
    rtol: float,
    atol: float,
    edge: float,
    max_edge_fraction: float = 0.01,
) -> int:
    """``actual`` equals ``expected`` to (rtol, atol) except where the gate fell the other way: such an entry
    must have |pre − threshold| ≤ ``edge`` and read 0 or the pre-activation, and there may be at most
    ``max_edge_fraction`` of them. Returns how many there were."""
    actual, expected, pre = actual.float(), expected.float(), pre.float()
    threshold = threshold.float().expand_as(pre)
    differ = ~torch.isclose(actual, expected, rtol=rtol, atol=atol)
    near = (pre[differ] - threshold[differ]).abs() <= edge
    assert bool(near.all()), f"{int((~near).sum())} entries differ away from the gate"
    legal = (actual[differ] == 0) | torch.isclose(actual[differ], pre[differ], rtol=rtol, atol=atol + edge)
    assert bool(legal.all()), f"{int((~legal).sum())} entries at the gate are neither 0 nor pre-activation"
    assert int(differ.sum()) <= max_edge_fraction * differ.numel(), f"{int(differ.sum())} gates differ"
    return int(differ.sum())


def assert_features_close(
    actual: Tensor,
    expected: Tensor,
    sae: SAE[Any],
    x: Tensor,
    *,
    rtol: float,
    atol: float,
    edge: float | None = None,
) -> int:
    """``actual`` equals ``expected``, a JumpReLU SAE's features of ``x`` ([*, d_in]), away from the gate
    (see ``assert_gated_close``); ``edge`` defaults to 100 × the comparison tolerance at the largest
    threshold."""
    columns = feature_slice(sae, list(range(sae.cfg.d_sae)))
    assert columns.threshold is not None, "a JumpReLU SAE is expected"
    with torch.no_grad():
        pre = columns.pre_activations(x)
    scale = float(columns.threshold.abs().max())
    margin = edge if edge is not None else 100 * (atol + rtol * scale)
    return assert_gated_close(actual, expected, pre, columns.threshold, rtol=rtol, atol=atol, edge=margin)


def assert_same_features(
    a: Tensor,
    b: Tensor,
    threshold: Tensor,
    *,
    rtol: float,
    atol: float,
    edge: float,
    max_edge_fraction: float = 0.01,
) -> int:
    """Two JumpReLU encodings ([..., d_sae]) of inputs that are equal up to rounding agree to (rtol, atol)
    wherever both gates agree; where one gate is open and the other closed, the open value must sit within
    ``edge`` of its threshold, and such entries are at most ``max_edge_fraction``. Returns their count."""
    a, b, threshold = a.float(), b.float(), threshold.float().expand_as(a)
    differ = (a > 0) != (b > 0)
    torch.testing.assert_close(a[~differ], b[~differ], rtol=rtol, atol=atol)
    opened = torch.where(a[differ] > 0, a[differ], b[differ])
    assert bool(((opened - threshold[differ]).abs() <= edge).all()), "a gate differs far from its threshold"
    assert int(differ.sum()) <= max_edge_fraction * differ.numel(), f"{int(differ.sum())} gates differ"
    return int(differ.sum())
