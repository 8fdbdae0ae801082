"""The minimal view of SAE features that interventions need: an encoder for a few features and their
decoder rows. ``saes.features.FeatureSlice`` satisfies it; so can a hand-built direction.

Device and dtype rule: the features live on their own device (an SAE sits on the device of the layer it
reads, but a hand-built direction or a second GPU need not), and the model's layers may each sit elsewhere
(``device_map="auto"``). So ``encode`` takes input from anywhere and computes on the features' device in at
least float32; what goes back into the residual stream is moved to the edited layer's device and dtype by
``residual_shift``. Nothing relies on two tensors happening to share a device."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import torch
from jaxtyping import Float
from torch import Tensor


@runtime_checkable
class FeatureDirections(Protocol):
    """``encode`` gives the activations of k features (on the features' device, in at least float32,
    whatever device and dtype its input has); ``w_dec`` holds their k decoder rows."""

    @property
    def w_dec(self) -> Float[Tensor, "k d_model"]: ...

    def encode(self, x: Float[Tensor, "*batch d_model"]) -> Float[Tensor, "*batch k"]: ...


def compute_dtype(dtype: torch.dtype) -> torch.dtype:
    """The dtype feature arithmetic runs in: float32, or the parameters' own dtype when wider."""
    return torch.promote_types(dtype, torch.float32)


def feature_component(
    features: FeatureDirections, activations: Float[Tensor, "*batch k"]
) -> Float[Tensor, "*batch d_model"]:
    """``Σ_k a_k · W_dec[k]`` on the decoder's device, in at least float32: what the features contribute to
    the residual."""
    w_dec = features.w_dec
    dtype = compute_dtype(w_dec.dtype)
    return activations.to(device=w_dec.device, dtype=dtype) @ w_dec.to(dtype)


def residual_shift(
    features: FeatureDirections,
    activations: Float[Tensor, "*batch k"],
    hidden: Float[Tensor, "batch pos d_model"],
) -> Float[Tensor, "*batch d_model"]:
    """``feature_component`` moved to ``hidden``'s device and dtype, ready to add to a layer's output."""
    return feature_component(features, activations).to(device=hidden.device, dtype=hidden.dtype)
