"""Feature clamping as a context manager around any forward or ``generate`` call: at one layer's
``resid_post``, at every position, x ← x + (c − f_k(x))·W_dec[k] (c = 0 by default)."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from jaxtyping import Float

from interp.feature_directions import FeatureDirections, residual_shift
from interp.hooks import DecoderLayers, ResidEdit, ResidEditFunction


def _clamp_edit(features: FeatureDirections, values: torch.Tensor) -> ResidEditFunction:
    def edit(hidden: Float[torch.Tensor, "batch pos d_model"]) -> Float[torch.Tensor, "batch pos d_model"]:
        activations = features.encode(hidden)  # on the features' device, float32
        target = values.to(device=activations.device, dtype=activations.dtype)
        return hidden + residual_shift(features, target - activations, hidden)

    return edit


def clamp_features(
    layers: DecoderLayers,
    layer: int,
    features: FeatureDirections,
    values: float | Sequence[float] = 0.0,
) -> ResidEdit:
    """A context manager that pins the k features of ``features`` to ``values`` (one value, or one per
    feature) at ``layer`` for every forward pass inside it; the hook is removed on exit."""
    k = features.w_dec.shape[0]
    value_list = [float(values)] * k if isinstance(values, int | float) else [float(v) for v in values]
    if len(value_list) != k:
        raise ValueError(f"got {len(value_list)} clamp values for {k} features")
    return ResidEdit(layers, {layer: _clamp_edit(features, torch.tensor(value_list))})
