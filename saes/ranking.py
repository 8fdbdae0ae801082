"""Owns feature ranking over paraphrase pairs: final-token ``resid_post`` at the SAE's layer for both sides,
Δf = f_para − f_orig, features ranked by mean |Δf|, and per-feature statistics (in ``feature_table``, which
takes numbers only) written as Parquet with a top-k summary."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from jaxtyping import Float
from torch import Tensor

from interp.handle import ModelHandle
from interp.patching import margins_of
from interp.prompt_pair import PromptPair
from interp.prompts import PromptTemplate
from interp.resid_cache import final_token_resid
from saes.feature_table import RankingConfig, feature_table
from saes.features import encode_all
from saes.loading import LoadedSAE
from saes.register import pair_register

#: The files `FeatureRanking.write` puts in its folder.
FEATURES_FILE = "features.parquet"
PAIRS_FILE = "pairs.parquet"


@dataclass(frozen=True)
class PairActivations:
    """Final-token SAE features of both sides of every pair (CPU, float32) and both margins."""

    f_original: Float[Tensor, "pair d_sae"]
    f_paraphrase: Float[Tensor, "pair d_sae"]
    original_margin: Float[Tensor, " pair"]
    paraphrase_margin: Float[Tensor, " pair"]


def collect_pair_activations(
    handle: ModelHandle,
    loaded: LoadedSAE,
    pairs: Sequence[PromptPair],
    template: PromptTemplate,
    batch_size: int = 16,
    progress: bool = False,
) -> PairActivations:
    """SAE-encode the final-token ``resid_post`` of both sides of each pair (`interp.resid_cache`, stopped
    after the SAE's layer; a prompt shared by many pairs runs once). Pairs that do not all carry their
    margins get them from a clean run (`interp.patching.margins_of`)."""
    prompts = [pair.original for pair in pairs] + [pair.paraphrase for pair in pairs]
    resid = final_token_resid(handle, prompts, template, [loaded.layer], batch_size, progress)[:, 0]
    features = encode_all(loaded.sae, resid).float().cpu()  # (2·pair, d_sae), originals first
    if all(pair.has_margins for pair in pairs):
        known = [p.original_margin for p in pairs] + [p.paraphrase_margin for p in pairs]
        margins = torch.tensor([float(m or 0.0) for m in known])
    else:
        margins = margins_of(handle, prompts, template, batch_size)
    n = len(pairs)
    return PairActivations(features[:n], features[n:], margins[:n], margins[n:])


def flip_labels(pairs: Sequence[PromptPair], activations: PairActivations) -> tuple[np.ndarray, list[str]]:
    """Each pair's flip: the parsed-answer flip when known, else a margin sign change (and which it was)."""
    sign_change = (
        torch.sign(activations.original_margin) != torch.sign(activations.paraphrase_margin)
    ).numpy()
    flipped = [
        bool(p.flipped) if p.flipped is not None else bool(s) for p, s in zip(pairs, sign_change, strict=True)
    ]
    sources = ["parsed_answer" if p.flipped is not None else "margin_sign" for p in pairs]
    return np.asarray(flipped, dtype=bool), sources


@dataclass(frozen=True)
class FeatureRanking:
    """The per-feature table (best first) and per-pair table (margins, flip, register, top features' Δf)."""

    features: pd.DataFrame
    pairs: pd.DataFrame

    def summary(self, k: int = 5) -> str:
        n_flips = int(self.pairs["flipped"].sum())
        lines = [
            f"top {min(k, len(self.features))} features by mean |Δf| over {n_flips} flip pairs "
            f"({len(self.pairs) - n_flips} non-flip pairs as control):"
        ]
        for row in self.features.head(k).itertuples():
            lines.append(
                f"#{row.rank} feature {row.feature}: mean|Δf| {row.mean_abs_delta:.3g} "
                f"(non-flip {row.mean_abs_delta_control:.3g}); Δf vs Δmargin "
                f"Pearson {row.pearson_r:+.2f} [{row.pearson_ci_low:+.2f}, {row.pearson_ci_high:+.2f}], "
                f"Spearman {row.spearman_r:+.2f} [{row.spearman_ci_low:+.2f}, {row.spearman_ci_high:+.2f}]; "
                f"activation flip {row.mean_act_flip:.3g} vs no-flip {row.mean_act_no_flip:.3g} "
                f"(Mann–Whitney p={row.mwu_p:.2g})"
            )
        return "\n".join(lines)

    def write(self, folder: str | Path) -> tuple[Path, Path]:
        """Write ``features.parquet`` and ``pairs.parquet`` into ``folder``."""
        target = Path(folder)
        target.mkdir(parents=True, exist_ok=True)
        paths = (target / FEATURES_FILE, target / PAIRS_FILE)
        self.features.to_parquet(paths[0], index=False)
        self.pairs.to_parquet(paths[1], index=False)
        return paths


def rank_features(
    pairs: Sequence[PromptPair],
    activations: PairActivations,
    config: RankingConfig = RankingConfig(),
) -> FeatureRanking:
    """Rank the features of already collected pair activations (no model runs here)."""
    delta_f = (activations.f_paraphrase - activations.f_original).double().numpy()
    delta_margin = (activations.paraphrase_margin - activations.original_margin).double().numpy()
    flipped, sources = flip_labels(pairs, activations)
    phenomena = [pair.phenomenon for pair in pairs]
    registers = [pair_register(pair.phenomenon, pair.paraphrase.question) for pair in pairs]
    f_para = activations.f_paraphrase.double().numpy()
    features = feature_table(delta_f, f_para, delta_margin, flipped, phenomena, registers, config)
    pair_table = pd.DataFrame(
        {
            "pair_id": [pair.pair_id for pair in pairs],
            "question_id": [pair.question_id for pair in pairs],
            "phenomenon": phenomena,
            "register": registers,
            "original_margin": activations.original_margin.double().numpy(),
            "paraphrase_margin": activations.paraphrase_margin.double().numpy(),
            "delta_margin": delta_margin,
            "flipped": flipped,
            "flip_source": sources,
        }
    )
    top_deltas = {f"delta_f[{feature}]": delta_f[:, feature] for feature in features["feature"]}
    return FeatureRanking(features, pd.concat([pair_table, pd.DataFrame(top_deltas)], axis=1))


def rank_pairs(
    handle: ModelHandle,
    loaded: LoadedSAE,
    pairs: Sequence[PromptPair],
    template: PromptTemplate,
    config: RankingConfig = RankingConfig(),
    batch_size: int = 16,
    progress: bool = False,
) -> FeatureRanking:
    """``collect_pair_activations`` then ``rank_features``."""
    activations = collect_pair_activations(handle, loaded, pairs, template, batch_size, progress)
    return rank_features(pairs, activations, config)
