"""Attribution patching validated against the real delta-only patch: AtP ranks every SAE feature from one
forward and backward per pair; the top candidates are then patched for real, one feature at a time, and the
two rankings compared (Spearman r of the mean margin changes, overlap of the top ten)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd
import torch
from tqdm.auto import tqdm

from flipbank.statistics import Correlation, spearman
from interp.handle import ModelHandle
from interp.patching import patched_margins
from interp.prompt_pair import PromptPair
from interp.prompts import PromptTemplate
from interp.resid_cache import final_token_resid
from saes.attribution import Attribution, attribution_patching
from saes.features import feature_slice
from saes.loading import LoadedSAE

TOP_OVERLAP = 10


@dataclass(frozen=True)
class AttributionCheck:
    """Estimated and real mean margin change of the checked features, and how well they agree."""

    table: pd.DataFrame
    correlation: Correlation
    top_overlap: int


def real_patch_effects(
    handle: ModelHandle,
    loaded: LoadedSAE,
    pairs: Sequence[PromptPair],
    features: Sequence[int],
    template: PromptTemplate,
    paraphrase_margins: torch.Tensor,
    progress: bool = False,
) -> list[float]:
    """The mean margin change of the delta-only patch of each feature alone, over ``pairs``."""
    originals = final_token_resid(handle, [p.original for p in pairs], template, [loaded.layer])[:, 0]
    effects = []
    for feature in tqdm(features, desc="real patches", unit="feature", disable=not progress):
        patched = patched_margins(
            handle,
            pairs,
            loaded.layer,
            feature_slice(loaded.sae, [feature]),
            template,
            originals,
            progress=False,
        )
        effects.append(float((patched - paraphrase_margins).mean()))
    return effects


def check_attribution(
    handle: ModelHandle,
    loaded: LoadedSAE,
    pairs: Sequence[PromptPair],
    template: PromptTemplate,
    candidates: int = 30,
    seed: int = 0,
    progress: bool = False,
    steps: int = 0,
) -> tuple[Attribution, AttributionCheck]:
    """AtP (AtP* with ``steps`` integrated-gradient points) over every feature, then the real patch of its
    top ``candidates`` by |estimate|."""
    attribution = attribution_patching(handle, loaded, pairs, template, progress=progress, steps=steps)
    chosen = attribution.ranking()[:candidates]
    estimated = attribution.mean_effect()[chosen].tolist()
    margins = attribution.paraphrase_margins
    real = real_patch_effects(handle, loaded, pairs, chosen, template, margins, progress)
    table = pd.DataFrame({"feature": chosen, "estimated_effect": estimated, "real_effect": real})
    table["estimated_rank"] = range(1, len(chosen) + 1)
    table["real_rank"] = table["real_effect"].abs().rank(ascending=False, method="first").astype(int)
    overlap = int(((table["estimated_rank"] <= TOP_OVERLAP) & (table["real_rank"] <= TOP_OVERLAP)).sum())
    correlation = spearman(table["estimated_effect"], table["real_effect"], seed=seed)
    return attribution, AttributionCheck(table, correlation, overlap)
