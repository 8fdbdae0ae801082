"""The LoRA objective against hand computation and scipy's relative entropy."""

import doctest

import numpy as np
import pytest
import torch
from scipy.special import rel_entr, softmax

import interp.lora_objective
from interp.lora_objective import NO, YES, pair_loss

ORIGINAL = np.array([[2.0, -1.0], [0.5, 0.3], [-1.0, 1.5]])
PARAPHRASE = np.array([[-0.5, 0.5], [0.4, 0.6], [-2.0, 0.0]])
LABELS = np.array([YES, NO, NO])


def _expected(weight: float, with_kl: bool = True) -> float:
    p_o, p_p = softmax(ORIGINAL, axis=1), softmax(PARAPHRASE, axis=1)
    kl = 0.5 * (rel_entr(p_o, p_p).sum(1) + rel_entr(p_p, p_o).sum(1))
    rows = np.arange(len(LABELS))
    cross_entropy = -np.log(p_o[rows, LABELS]) - np.log(p_p[rows, LABELS])
    return float(((kl if with_kl else 0.0) + weight * cross_entropy).mean())


@pytest.mark.parametrize("weight", [0.0, 0.1, 1.0])
def test_the_loss_matches_scipy(weight: float) -> None:
    got = pair_loss(torch.tensor(ORIGINAL), torch.tensor(PARAPHRASE), torch.tensor(LABELS), weight)
    assert float(got) == pytest.approx(_expected(weight), rel=1e-6)


def test_accuracy_only_is_the_two_cross_entropies() -> None:
    got = pair_loss(
        torch.tensor(ORIGINAL), torch.tensor(PARAPHRASE), torch.tensor(LABELS), objective="accuracy"
    )
    assert float(got) == pytest.approx(_expected(1.0, with_kl=False), rel=1e-6)


def test_by_hand_one_pair() -> None:
    # p_o = (1/2, 1/2), p_p = (e/(1+e), 1/(1+e)); label "yes"; λ = 1.
    original, paraphrase = torch.tensor([[0.0, 0.0]]), torch.tensor([[1.0, 0.0]])
    q = np.e / (1 + np.e)
    kl_op = 0.5 * np.log(0.5 / q) + 0.5 * np.log(0.5 / (1 - q))
    kl_po = q * np.log(q / 0.5) + (1 - q) * np.log((1 - q) / 0.5)
    expected = 0.5 * (kl_op + kl_po) - np.log(0.5) - np.log(q)
    assert float(pair_loss(original, paraphrase, torch.tensor([YES]))) == pytest.approx(expected, rel=1e-6)


def test_the_gradient_pulls_the_pair_together_and_to_the_label() -> None:
    original = torch.tensor([[1.0, 0.0]], requires_grad=True)
    paraphrase = torch.tensor([[-1.0, 0.0]], requires_grad=True)
    pair_loss(original, paraphrase, torch.tensor([YES]), weight=0.0).backward()
    assert original.grad is not None and paraphrase.grad is not None
    assert original.grad[0, YES] > 0 > paraphrase.grad[0, YES]  # descent lowers one, raises the other


def test_the_docstring_example_runs() -> None:
    assert doctest.testmod(interp.lora_objective).failed == 0
