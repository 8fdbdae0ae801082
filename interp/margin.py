"""The yes-minus-no logit margin and the Yes/No probabilities, computed from next-token logits (pure)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch
from jaxtyping import Float
from torch import Tensor

from interp.answer_tokens import YesNoTokens

MarginVariants = Literal["primary", "logsumexp"]


def yes_minus_no_margin(
    logits: Float[Tensor, "batch vocab"],
    tokens: YesNoTokens,
    variants: MarginVariants = "primary",
) -> Float[Tensor, " batch"]:
    """logit(Yes) − logit(No) in float32. ``variants="logsumexp"`` pools every case/space spelling of each
    answer word by logsumexp instead of using the primary spelling alone."""
    logits = logits.float()
    if variants == "primary":
        return logits[:, tokens.primary_yes] - logits[:, tokens.primary_no]
    yes_ids = torch.tensor(tokens.yes, device=logits.device)
    no_ids = torch.tensor(tokens.no, device=logits.device)
    return torch.logsumexp(logits[:, yes_ids], dim=-1) - torch.logsumexp(logits[:, no_ids], dim=-1)


@dataclass(frozen=True)
class YesNoProbabilities:
    """Full-vocabulary softmax probabilities of the primary Yes and No tokens."""

    p_yes: Float[Tensor, " batch"]
    p_no: Float[Tensor, " batch"]


def yes_no_probabilities(logits: Float[Tensor, "batch vocab"], tokens: YesNoTokens) -> YesNoProbabilities:
    """P(Yes) and P(No) under the softmax over the whole vocabulary (their sum shows how much of the
    next-token mass is a yes/no answer at all)."""
    log_probabilities = torch.log_softmax(logits.float(), dim=-1)
    return YesNoProbabilities(
        p_yes=log_probabilities[:, tokens.primary_yes].exp(),
        p_no=log_probabilities[:, tokens.primary_no].exp(),
    )
