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

from interp.batching import map_batches
from interp.forward import last_position_logits
from interp.handle import ModelHandle
from interp.hooks import ResidCapture
from interp.margin import yes_minus_no_margin
from interp.prompt_pair import PromptPair
from interp.prompts import PromptInput, PromptTemplate, encode_prompts
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
    margin_original: Float[Tensor, " pair"]
    margin_paraphrase: Float[Tensor, " pair"]


def _unique_prompts(pairs: Sequence[PromptPair]) -> tuple[list[PromptInput], list[int], list[int]]:
    """Distinct prompts (an original shared by many pairs runs once) and each pair's two prompt indices."""
    index: dict[tuple[str, int], int] = {}
    prompts: list[PromptInput] = []

    def slot(prompt: PromptInput) -> int:
        key = (prompt.question, id(prompt.image))
        if key not in index:
            index[key] = len(prompts)
            prompts.append(prompt)
        return index[key]

    originals = [slot(pair.original) for pair in pairs]
    paraphrases = [slot(pair.paraphrase) for pair in pairs]
    return prompts, originals, paraphrases


def _run_batch(
    handle: ModelHandle, layer: int, inputs: dict[str, Tensor], template: PromptTemplate, need_margins: bool
) -> tuple[Tensor, Tensor | None]:
    margins = None
    with ResidCapture(handle.layers, [layer], positions="last", stop_early=not need_margins) as capture:
        if need_margins:
            logits = last_position_logits(handle, inputs)
            margins = yes_minus_no_margin(logits, handle.yes_no_tokens(template.answer_leading_space)).cpu()
        else:
            with torch.inference_mode():
                handle.model(**inputs, use_cache=False)
    return capture.activations[layer], margins


def _features_and_margins(
    handle: ModelHandle,
    loaded: LoadedSAE,
    prompts: list[PromptInput],
    template: PromptTemplate,
    need_margins: bool,
    batch_size: int,
    progress: bool,
) -> tuple[Tensor, Tensor]:
    """Features (float32, CPU) and margins per prompt, in prompt order; image and text-only prompts are
    batched apart, and a batch that runs out of memory is retried at half the size."""
    features = torch.zeros(len(prompts), loaded.d_sae)
    margins = torch.full((len(prompts),), float("nan"))

    def run(chunk: Sequence[int]) -> tuple[Tensor, Tensor | None]:
        inputs = encode_prompts(handle, [prompts[i] for i in chunk], template)
        resid, batch_margins = _run_batch(handle, loaded.layer, inputs, template, need_margins)
        return encode_all(loaded.sae, resid).float().cpu(), batch_margins

    def has_image(index: int) -> bool:
        return prompts[index].image is not None

    order = sorted(range(len(prompts)), key=has_image)  # text first, then images; stable within each
    bar = "pair features" if progress else None
    for chunk, (batch_features, batch_margins) in map_batches(order, batch_size, run, has_image, bar):
        features[list(chunk)] = batch_features
        if batch_margins is not None:
            margins[list(chunk)] = batch_margins
    return features, margins


def collect_pair_activations(
    handle: ModelHandle,
    loaded: LoadedSAE,
    pairs: Sequence[PromptPair],
    template: PromptTemplate,
    batch_size: int = 16,
    progress: bool = False,
) -> PairActivations:
    """SAE-encode the final-token ``resid_post`` of both sides of each pair. When every pair carries its
    margins the forward pass stops right after the SAE's layer; otherwise it runs on to read the margins."""
    prompts, original_ids, paraphrase_ids = _unique_prompts(pairs)
    need_margins = not all(pair.has_margins for pair in pairs)
    features, margins = _features_and_margins(
        handle, loaded, prompts, template, need_margins, batch_size, progress
    )
    if need_margins:
        margin_original, margin_paraphrase = margins[original_ids], margins[paraphrase_ids]
    else:
        margin_original = torch.tensor([float(p.original_margin or 0.0) for p in pairs])
        margin_paraphrase = torch.tensor([float(p.paraphrase_margin or 0.0) for p in pairs])
    return PairActivations(
        features[original_ids], features[paraphrase_ids], margin_original, margin_paraphrase
    )


def flip_labels(pairs: Sequence[PromptPair], activations: PairActivations) -> tuple[np.ndarray, list[str]]:
    """Each pair's flip: the parsed-answer flip when known, else a margin sign change (and which it was)."""
    sign_change = (
        torch.sign(activations.margin_original) != torch.sign(activations.margin_paraphrase)
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
    delta_margin = (activations.margin_paraphrase - activations.margin_original).double().numpy()
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
            "margin_original": activations.margin_original.double().numpy(),
            "margin_paraphrase": activations.margin_paraphrase.double().numpy(),
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
