"""Owns feature access on a sae-lens SAE: the activations of a few chosen features from their encoder columns
alone (computed as sae-lens's ``encode`` does, in float32 even for a bf16 SAE), their decoder rows, and the
full-width encode. Every function takes activations from any device and computes on the SAE's."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch
from jaxtyping import Float
from sae_lens import SAE
from torch import Tensor

from interp.feature_directions import compute_dtype, feature_component

CHEAP_ARCHITECTURES = {"jumprelu", "standard"}
_RUNTIME_NORMALISATIONS = {"constant_norm_rescale", "layer_norm"}


@dataclass(frozen=True)
class FeatureSlice:
    """The parameters of ``feature_ids`` only. ``threshold`` is None for a plain-ReLU ("standard") SAE;
    ``input_bias`` is ``b_dec`` when the SAE subtracts it from its input (``apply_b_dec_to_input``)."""

    feature_ids: tuple[int, ...]
    w_enc: Float[Tensor, "d_in k"]
    b_enc: Float[Tensor, " k"]
    threshold: Float[Tensor, " k"] | None
    input_bias: Float[Tensor, " d_in"] | None
    w_dec: Float[Tensor, "k d_in"]

    def pre_activations(self, x: Float[Tensor, "*batch d_in"]) -> Float[Tensor, "*batch k"]:
        """``(x − b_dec·apply_b_dec_to_input) @ W_enc[:, ids] + b_enc[ids]``. ``x`` may come from any device
        and dtype: it is moved to the SAE's device, and the arithmetic runs in float32 (or the SAE's dtype
        when wider), so a bf16 model's activations give float32 feature values."""
        dtype = compute_dtype(self.w_enc.dtype)
        x = x.to(device=self.w_enc.device, dtype=dtype)
        if self.input_bias is not None:
            x = x - self.input_bias.to(dtype)
        return x @ self.w_enc.to(dtype) + self.b_enc.to(dtype)

    def encode(self, x: Float[Tensor, "*batch d_in"]) -> Float[Tensor, "*batch k"]:
        """The features' activations: ``relu(pre)``, and for JumpReLU times the strict gate ``pre >
        threshold`` (the same operations, in the same order, as sae-lens's ``JumpReLUSAE.encode``).

        Exactly at the threshold the gate is closed: ``pre == threshold`` gives 0, as in sae-lens. The gate
        is a step of height ``threshold``, so a pre-activation within rounding of the threshold can land on
        either side when it is computed by a mathematically equal but differently ordered matmul (these
        columns alone versus the full ``W_enc``, another batch size, another BLAS kernel or thread count):
        such an entry reads 0 in one and about ``threshold`` in the other. Away from the threshold the two
        agree to float rounding. Compare JumpReLU outputs with that in mind, never at a fixed 1e-5."""
        pre = self.pre_activations(x)
        acts = torch.relu(pre)
        if self.threshold is None:
            return acts
        return acts * (pre > self.threshold.to(pre.dtype)).to(acts.dtype)

    def decode_delta(self, acts: Float[Tensor, "*batch k"]) -> Float[Tensor, "*batch d_in"]:
        """``Σ_k acts_k · W_dec[k]`` (no ``b_dec``): what these features add to the reconstruction, on the
        SAE's device in float32 (or the SAE's dtype when wider)."""
        return feature_component(self, acts)


def _check_cheap_encode(sae: SAE[Any]) -> None:
    architecture = sae.cfg.architecture()
    if architecture not in CHEAP_ARCHITECTURES:
        raise ValueError(
            f"{architecture!r} SAEs cannot encode single features from their columns (e.g. TopK ranks all "
            "features); use encode_all"
        )
    if sae.cfg.normalize_activations in _RUNTIME_NORMALISATIONS or sae.cfg.reshape_activations != "none":
        raise ValueError(
            "column-only encoding supports SAEs without run-time input normalisation or reshaping"
        )


def feature_slice(sae: SAE[Any], feature_ids: Sequence[int]) -> FeatureSlice:
    """Copy out the encoder columns, encoder bias, threshold and decoder rows of ``feature_ids``."""
    _check_cheap_encode(sae)
    ids = [int(feature) for feature in feature_ids]
    bad = [feature for feature in ids if not 0 <= feature < sae.cfg.d_sae]
    if bad:
        raise IndexError(f"features {bad} do not exist; the SAE has {sae.cfg.d_sae}")
    index = torch.tensor(ids, device=sae.W_enc.device)
    threshold = getattr(sae, "threshold", None)
    with torch.no_grad():
        return FeatureSlice(
            feature_ids=tuple(ids),
            w_enc=sae.W_enc.index_select(1, index).contiguous(),
            b_enc=sae.b_enc.index_select(0, index),
            threshold=None if threshold is None else threshold.index_select(0, index),
            input_bias=sae.b_dec.detach().clone() if sae.cfg.apply_b_dec_to_input else None,
            w_dec=sae.W_dec.index_select(0, index).contiguous(),
        )


def decoder_rows(sae: SAE[Any], feature_ids: Sequence[int]) -> Float[Tensor, "k d_in"]:
    """``W_dec[feature_ids]``: each feature's direction in the residual stream."""
    index = torch.tensor([int(feature) for feature in feature_ids], device=sae.W_dec.device)
    return sae.W_dec.detach().index_select(0, index)


def decoder_row(sae: SAE[Any], feature: int) -> Float[Tensor, " d_in"]:
    """``W_dec[feature]``."""
    return decoder_rows(sae, [feature])[0]


def to_sae(sae: SAE[Any], x: Float[Tensor, "*batch d_in"]) -> Float[Tensor, "*batch d_in"]:
    """``x`` on the SAE's device and in its dtype (sae-lens casts the dtype itself, but not the device)."""
    return x.to(device=sae.W_enc.device, dtype=sae.W_enc.dtype)


def encode_all(sae: SAE[Any], x: Float[Tensor, "*batch d_in"]) -> Float[Tensor, "*batch d_sae"]:
    """Every feature's activation, through sae-lens's own ``encode``; ``x`` may come from any device, and
    the result is on the SAE's device, in its dtype (``.float()`` it for statistics)."""
    with torch.no_grad():
        return sae.encode(to_sae(sae, x))


def reconstruct(sae: SAE[Any], x: Float[Tensor, "*batch d_in"]) -> Float[Tensor, "*batch d_in"]:
    """The SAE's reconstruction ``decode(encode(x))`` (no error term), on the SAE's device, in its dtype."""
    with torch.no_grad():
        return sae.decode(sae.encode(to_sae(sae, x)))
