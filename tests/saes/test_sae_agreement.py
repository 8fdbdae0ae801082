import pytest
import torch

from saes.sae_agreement import compare_saes


def test_identical_and_perturbed_saes() -> None:
    generator = torch.Generator().manual_seed(0)
    w_dec = torch.randn(32, 16, generator=generator)
    w_enc = torch.randn(16, 32, generator=generator)
    same = compare_saes(w_dec, w_enc, w_dec.clone(), w_enc.clone(), [3, 7])
    assert same.identical and same.agrees(0.999999)
    assert same.decoder_cosine == pytest.approx((1.0, 1.0))
    nudged = w_dec.clone()
    nudged[7] += 1e-3 * torch.randn(16, generator=generator)
    close = compare_saes(w_dec, w_enc, nudged, w_enc, [3, 7])
    assert not close.identical and close.agrees(0.99)
    flipped = w_dec.clone()
    flipped[3] = -flipped[3]
    far = compare_saes(w_dec, w_enc, flipped, w_enc, [3, 7])
    assert far.decoder_cosine[0] == pytest.approx(-1.0) and not far.agrees()
    assert "3: dec -1.000" in far.summary()
    permuted = compare_saes(
        w_dec, w_enc, w_dec[[1, 0, *range(2, 32)]], w_enc[:, [1, 0, *range(2, 32)]], [0, 5]
    )
    assert permuted.decoder_cosine[1] == pytest.approx(1.0) and permuted.best_match == (1, 5)
    assert permuted.best_match_cosine == pytest.approx((1.0, 1.0)) and not permuted.agrees(0.999)


def test_shapes_must_match() -> None:
    with pytest.raises(ValueError, match="shapes differ"):
        compare_saes(torch.zeros(4, 2), torch.zeros(2, 4), torch.zeros(5, 2), torch.zeros(2, 5), [0])
