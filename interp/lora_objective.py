"""The training objective of paraphrase-consistency LoRA (Sadanandan & Behzadan, CHIL 2026): with
p = softmax([z_yes, z_no]) at the first answer token for the original question and for the paraphrase,

    L = ½ [KL(p_orig ‖ p_para) + KL(p_para ‖ p_orig)] + λ (−log p_orig(y) − log p_para(y))

averaged over the batch. ``λ = 0`` trains consistency alone; the ``accuracy`` objective keeps only the
cross-entropy terms.

>>> z = torch.tensor([[2.0, 0.0]])
>>> round(float(pair_loss(z, z, torch.tensor([0]), weight=0.0)), 6)
0.0
"""

from __future__ import annotations

from typing import Literal

import torch
from jaxtyping import Float, Int
from torch import Tensor

Objective = Literal["consistency", "accuracy"]
YES, NO = 0, 1
"""Columns of the restricted logits, and the label values."""


def pair_loss(
    original: Float[Tensor, "batch 2"],
    paraphrase: Float[Tensor, "batch 2"],
    labels: Int[Tensor, " batch"],
    weight: float = 1.0,
    objective: Objective = "consistency",
) -> Float[Tensor, ""]:
    """The objective on restricted [yes, no] logits; ``labels`` hold `YES` or `NO`, ``weight`` is λ."""
    log_o = torch.log_softmax(original.float(), dim=-1)  # (batch, 2)
    log_p = torch.log_softmax(paraphrase.float(), dim=-1)
    cross_entropy = -(log_o.gather(1, labels[:, None]) + log_p.gather(1, labels[:, None])).squeeze(1)
    if objective == "accuracy":
        return cross_entropy.mean()
    kl_op = (log_o.exp() * (log_o - log_p)).sum(-1)  # KL(p_orig ‖ p_para), (batch,)
    kl_po = (log_p.exp() * (log_p - log_o)).sum(-1)
    return (0.5 * (kl_op + kl_po) + weight * cross_entropy).mean()
