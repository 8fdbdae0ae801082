"""Reconstruction quality of a trained SAE on a set of activations: FVU, mean L0 and dead fraction."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from jaxtyping import Float
from sae_lens import JumpReLUSAE, JumpReLUTrainingSAE
from torch import Tensor


@dataclass
class SAEQuality:
    """Reconstruction quality on a set of activations (FVU against the set's own mean)."""

    fvu: float
    mean_l0: float
    dead_fraction: float
    n_tokens: int


@torch.no_grad()
def measure_quality(
    sae: JumpReLUSAE | JumpReLUTrainingSAE, activations: Float[Tensor, "token d_in"], chunk: int = 4096
) -> SAEQuality:
    """FVU, mean L0 and the fraction of features that never fire on ``activations`` (float64 sums)."""
    squared_error, fired, active = 0.0, torch.zeros(sae.cfg.d_sae, dtype=torch.bool), 0
    for rows in activations.split(chunk):
        acts = sae.encode(rows)
        squared_error += float((sae.decode(acts) - rows).double().pow(2).sum())
        active += int((acts > 0).sum())
        fired |= (acts > 0).any(0).cpu()
    centred = activations.double() - activations.double().mean(0)
    return SAEQuality(
        fvu=squared_error / float(centred.pow(2).sum()),
        mean_l0=active / activations.shape[0],
        dead_fraction=float((~fired).float().mean()),
        n_tokens=int(activations.shape[0]),
    )
