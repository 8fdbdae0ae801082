"""How far two SAEs of the same shape agree feature by feature (a rebuilt demo SAE against the shipped one):
the cosine between each feature's decoder rows and between its encoder columns. SAEs trained from the same
seed keep their feature indices, so feature k of one is compared with feature k of the other. Pure: weights
in, numbers out."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from jaxtyping import Float
from torch import Tensor


@dataclass(frozen=True)
class SAEAgreement:
    """Per-feature cosines of ``features`` (decoder rows and encoder columns, same index), each feature's
    best match among the other SAE's decoder rows (any index: retrained dictionaries may permute), the
    median decoder cosine over every feature live in both, and whether the two weight sets are identical."""

    features: tuple[int, ...]
    decoder_cosine: tuple[float, ...]
    encoder_cosine: tuple[float, ...]
    best_match: tuple[int, ...]
    best_match_cosine: tuple[float, ...]
    median_decoder_cosine: float
    identical: bool

    def agrees(self, minimum_cosine: float = 0.9) -> bool:
        """Every listed feature's decoder and encoder directions are within ``minimum_cosine``."""
        return all(c >= minimum_cosine for c in (*self.decoder_cosine, *self.encoder_cosine))

    def summary(self) -> str:
        rows = zip(
            self.features,
            self.decoder_cosine,
            self.encoder_cosine,
            self.best_match,
            self.best_match_cosine,
            strict=True,
        )
        pairs = ", ".join(
            f"{feature}: dec {dec:.3f} / enc {enc:.3f} (best match {match}: {best:.3f})"
            for feature, dec, enc, match, best in rows
        )
        state = "bit-identical" if self.identical else "not bit-identical"
        return f"weights {state}; median decoder cosine {self.median_decoder_cosine:.3f}; {pairs}"


def _row_cosines(a: Float[Tensor, "n d"], b: Float[Tensor, "n d"]) -> Float[Tensor, " n"]:
    return torch.nn.functional.cosine_similarity(a.double(), b.double(), dim=-1)


def compare_saes(
    w_dec_a: Float[Tensor, "d_sae d_in"],
    w_enc_a: Float[Tensor, "d_in d_sae"],
    w_dec_b: Float[Tensor, "d_sae_b d_in_b"],
    w_enc_b: Float[Tensor, "d_in_b d_sae_b"],
    features: Sequence[int],
) -> SAEAgreement:
    """Compare two SAEs' weights for ``features`` and overall. The shapes must match; the annotation lets
    a mismatch through to the check below, whose error names both shapes."""
    if w_dec_a.shape != w_dec_b.shape or w_enc_a.shape != w_enc_b.shape:
        raise ValueError(f"shapes differ: W_dec {tuple(w_dec_a.shape)} vs {tuple(w_dec_b.shape)}")
    decoder = _row_cosines(w_dec_a, w_dec_b)  # [d_sae]
    encoder = _row_cosines(w_enc_a.T, w_enc_b.T)  # [d_sae]
    live = (w_dec_a.norm(dim=-1) > 0) & (w_dec_b.norm(dim=-1) > 0)
    ids = [int(feature) for feature in features]
    unit_a = torch.nn.functional.normalize(w_dec_a[ids].double(), dim=-1)  # [k, d_in]
    unit_b = torch.nn.functional.normalize(w_dec_b.double(), dim=-1)  # [d_sae, d_in]
    best, match = (
        (unit_a @ unit_b.T).max(dim=-1) if ids else (torch.zeros(0), torch.zeros(0, dtype=torch.long))
    )
    return SAEAgreement(
        features=tuple(ids),
        decoder_cosine=tuple(float(decoder[i]) for i in ids),
        encoder_cosine=tuple(float(encoder[i]) for i in ids),
        best_match=tuple(int(m) for m in match),
        best_match_cosine=tuple(float(c) for c in best),
        median_decoder_cosine=float(decoder[live].median()) if live.any() else float("nan"),
        identical=bool(torch.equal(w_dec_a, w_dec_b) and torch.equal(w_enc_a, w_enc_b)),
    )
