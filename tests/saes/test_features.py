from dataclasses import replace

import pytest
import torch
from sae_lens import TopKSAE, TopKSAEConfig

from interp.handle import ModelHandle
from saes.features import decoder_row, decoder_rows, encode_all, feature_slice, reconstruct
from saes.loading import LoadedSAE
from tests.numerics import assert_features_close, assert_gated_close
from tests.saes.sae_factories import random_jumprelu, resid_sample


@pytest.fixture(scope="module")
def sample(tiny_handle: ModelHandle) -> torch.Tensor:
    return resid_sample(tiny_handle, 2)


def test_column_encode_equals_sae_lens_encode(tiny_sae: LoadedSAE, sample: torch.Tensor) -> None:
    full = encode_all(tiny_sae.sae, sample)
    fired = (full > 0).sum(0)
    chosen = [int(i) for i in fired.argsort(descending=True)[:3]] + [int(fired.argmin())]
    columns = feature_slice(tiny_sae.sae, chosen)
    cheap = columns.encode(sample)
    assert cheap.shape == (sample.shape[0], 4)
    assert columns.threshold is not None
    edge = 1e-3 * float(columns.threshold.abs().max())  # ~100x the rounding of a 64-term dot product
    pre = columns.pre_activations(sample)
    assert_gated_close(cheap, full[:, chosen], pre, columns.threshold, rtol=1e-5, atol=1e-5, edge=edge)
    assert (cheap[:, :3] > 0).any() and (
        cheap == 0
    ).any()  # both the active and the gated branch are exercised


def test_gate_is_strict_at_the_threshold(tiny_sae: LoadedSAE, sample: torch.Tensor) -> None:
    pre_all = feature_slice(tiny_sae.sae, list(range(tiny_sae.d_sae))).pre_activations(sample[:1])[0]
    feature = int(pre_all.argmax())
    columns = feature_slice(tiny_sae.sae, [feature])
    pre = columns.pre_activations(sample[:1])[0]
    assert pre.item() > 0

    def with_threshold(threshold: torch.Tensor) -> float:
        return replace(columns, threshold=threshold).encode(sample[:1]).item()

    assert with_threshold(pre.clone()) == 0.0  # pre == threshold: sae-lens's strict `pre > threshold` gives 0
    assert with_threshold(torch.nextafter(pre, torch.zeros_like(pre))) == pytest.approx(pre.item())


def test_b_dec_is_subtracted_when_the_sae_says_so(sample: torch.Tensor) -> None:
    sae = random_jumprelu(64, 96, seed=11, sample=sample, b_dec_in=True)
    columns = feature_slice(sae, list(range(96)))
    assert columns.input_bias is not None
    assert_features_close(columns.encode(sample), encode_all(sae, sample), sae, sample, rtol=1e-5, atol=1e-5)
    assert (columns.encode(sample) > 0).float().mean() > 0.02


def test_decoder_rows_and_delta(tiny_sae: LoadedSAE, sample: torch.Tensor) -> None:
    sae = tiny_sae.sae
    assert torch.equal(decoder_row(sae, 7), sae.W_dec[7])
    assert torch.equal(decoder_rows(sae, [7, 2]), sae.W_dec[[7, 2]])
    acts = encode_all(sae, sample)
    every = feature_slice(sae, list(range(tiny_sae.d_sae)))
    torch.testing.assert_close(
        every.decode_delta(acts) + sae.b_dec, reconstruct(sae, sample), rtol=1e-4, atol=1e-4
    )


def test_column_encode_refuses_what_it_cannot_do(tiny_sae: LoadedSAE) -> None:
    topk = TopKSAE(TopKSAEConfig(d_in=64, d_sae=32, k=4))
    with pytest.raises(ValueError, match="'topk' SAEs cannot encode single features"):
        feature_slice(topk, [0])
    with pytest.raises(IndexError, match=r"features \[256\] do not exist"):
        feature_slice(tiny_sae.sae, [256])


def test_column_encode_of_a_bfloat16_sae_is_float32_and_matches_sae_lens(sample: torch.Tensor) -> None:
    sae = random_jumprelu(64, 64, seed=2, sample=sample).to(dtype=torch.bfloat16)
    columns = feature_slice(sae, [0, 10, 20])
    expected = encode_all(sae, sample)[:, [0, 10, 20]]  # sae-lens computes in bf16
    assert columns.encode(sample.bfloat16()).dtype == torch.float32 and columns.threshold is not None
    edge = 5e-2 * float(columns.threshold.float().abs().max())  # bf16 keeps 8 bits of mantissa
    pre = columns.pre_activations(sample)
    gated = assert_gated_close(
        columns.encode(sample), expected, pre, columns.threshold, rtol=2e-2, atol=2e-2, edge=edge,
        max_edge_fraction=0.05,
    )  # fmt: skip
    assert gated < expected.numel()
