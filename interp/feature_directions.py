"""The minimal view of SAE features that interventions need: an encoder for a few features and their
decoder rows. ``saes.features.FeatureSlice`` satisfies it; so can a hand-built direction."""

from __future__ import annotations

from typing import Protocol

from jaxtyping import Float
from torch import Tensor


class FeatureDirections(Protocol):
    """``encode`` gives the activations of k features; ``w_dec`` holds their k decoder rows."""

    @property
    def w_dec(self) -> Float[Tensor, "k d_model"]: ...

    def encode(self, x: Float[Tensor, "*batch d_model"]) -> Float[Tensor, "*batch k"]: ...


def feature_component(
    features: FeatureDirections, activations: Float[Tensor, "*batch k"]
) -> Float[Tensor, "*batch d_model"]:
    """``Σ_k a_k · W_dec[k]`` in the decoder's dtype: what the features contribute to the residual."""
    return activations.to(features.w_dec.dtype) @ features.w_dec
