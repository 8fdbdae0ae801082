"""Hand-built JumpReLU features for intervention tests (real ``FeatureSlice`` objects, known directions)."""

from __future__ import annotations

import torch

from saes.features import FeatureSlice


def direction_features(directions: torch.Tensor, bias: float = 0.0, threshold: float = 0.0) -> FeatureSlice:
    """Features whose encoder columns and decoder rows are the (unit) ``directions`` [k, d_model]."""
    unit = directions / directions.norm(dim=-1, keepdim=True)
    k = unit.shape[0]
    return FeatureSlice(
        feature_ids=tuple(range(k)),
        w_enc=unit.T.contiguous(),
        b_enc=torch.full((k,), bias),
        threshold=torch.full((k,), threshold),
        input_bias=None,
        w_dec=unit.contiguous(),
    )
