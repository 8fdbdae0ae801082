import math

import pytest
import torch

from flipbank.quadrants import yes_no_entropy_bits
from interp.answer_tokens import YesNoTokens
from interp.margin import yes_minus_no_margin, yes_no_probabilities

TOKENS = YesNoTokens(yes=(5, 6), no=(2, 3))


def _logits() -> torch.Tensor:
    logits = torch.zeros(2, 8)
    logits[0, 5], logits[0, 2] = 3.0, 1.0
    logits[1, 5], logits[1, 6], logits[1, 2], logits[1, 3] = 1.0, 1.0, 2.0, -50.0
    return logits


def test_primary_margin_is_yes_minus_no() -> None:
    assert yes_minus_no_margin(_logits(), TOKENS).tolist() == [2.0, -1.0]


def test_logsumexp_pools_the_variants() -> None:
    margin = yes_minus_no_margin(_logits(), TOKENS, variants="logsumexp")
    expected = math.log(2 * math.e) - math.log(math.exp(2.0) + math.exp(-50.0))
    assert abs(margin[1].item() - expected) < 1e-5


def test_margin_is_float32_from_bfloat16_logits() -> None:
    assert yes_minus_no_margin(_logits().bfloat16(), TOKENS).dtype == torch.float32


def test_probabilities_are_full_vocabulary_softmax() -> None:
    probabilities = yes_no_probabilities(_logits(), TOKENS)
    softmax = torch.softmax(_logits(), dim=-1)
    assert torch.allclose(probabilities.p_yes, softmax[:, 5])
    assert torch.allclose(probabilities.p_no, softmax[:, 2])


def _bits(p: float) -> float:
    return -(p * math.log2(p) + (1 - p) * math.log2(1 - p))


def test_the_entropy_of_model_margins_is_in_bits_and_symmetric() -> None:
    margins = yes_minus_no_margin(_logits(), TOKENS)  # [2, -1], a float32 tensor
    entropy = yes_no_entropy_bits(torch.cat([margins, torch.tensor([0.0, 3.0, -3.0, 80.0])]))
    assert entropy[0] == pytest.approx(_bits(1 / (1 + math.exp(-2.0))))  # 0.5294 bits
    assert entropy[1] == pytest.approx(_bits(1 / (1 + math.exp(1.0))))  # 0.8398 bits
    assert entropy[2] == pytest.approx(1.0)  # margin 0: one bit
    assert entropy[3] == pytest.approx(entropy[4])
    assert 0.0 <= entropy[5] < 1e-6
