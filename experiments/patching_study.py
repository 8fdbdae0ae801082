"""The patching study (PSF-Med Tables 7, 18): delta-only patching of a feature over the FlipBank, with the two
controls of DESIGN §2 in the same run (non-flip pairs, and a random feature of similar mean activation)."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
import torch

from experiments.flip_pairs import LabelledPairs
from flipbank.causal_metrics import patch_outcomes, summarise_by, summarise_patching
from interp.handle import ModelHandle
from interp.patching import pairs_prefix, patched_margins
from interp.prompts import PromptTemplate
from interp.resid_cache import final_token_resid
from saes.features import encode_all, feature_slice
from saes.loading import LoadedSAE

GROUP_COLUMNS = ("finding", "phenomenon", "direction")


@dataclass(frozen=True)
class PatchingStudy:
    """Per-pair outcomes of every arm, and the summary table (overall and by group, per arm)."""

    pairs: pd.DataFrame
    summary: pd.DataFrame


def similar_activation_feature(mean_activation: torch.Tensor, target: int, seed: int = 0) -> int:
    """A random live feature whose mean activation is among the ten closest to the target's (the paper's
    random-feature control)."""
    distance = (mean_activation - mean_activation[target]).abs()
    distance[target] = float("inf")
    distance[mean_activation <= 0] = float("inf")
    candidates = torch.argsort(distance)[:10]
    candidates = candidates[torch.isfinite(distance[candidates])]
    if candidates.numel() == 0:
        raise ValueError("no live feature to serve as the random control")
    generator = torch.Generator().manual_seed(seed)
    return int(candidates[torch.randint(len(candidates), (1,), generator=generator)].item())


def _arm(
    handle: ModelHandle,
    loaded: LoadedSAE,
    feature: int,
    pairs: LabelledPairs,
    template: PromptTemplate,
    arm: str,
) -> pd.DataFrame:
    features = feature_slice(loaded.sae, [feature])
    patched = patched_margins(handle, pairs.pairs, loaded.layer, features, template)
    outcomes = patch_outcomes(pairs.labels["m_orig"], pairs.labels["m_para"], patched.numpy())
    labels = pairs.labels.drop(columns=["m_orig", "m_para"]).reset_index(drop=True)
    return pd.concat([labels, outcomes], axis=1).assign(arm=arm, feature=feature)


def _summary(frame: pd.DataFrame, seed: int) -> pd.DataFrame:
    tables = []
    for arm, outcomes in frame.groupby("arm", sort=False):
        overall = pd.DataFrame(
            [{"group_by": "all", "group": "all", **summarise_patching(outcomes, seed).as_row()}]
        )
        tables.append(overall.assign(arm=arm))
        for column in GROUP_COLUMNS:
            grouped = summarise_by(outcomes, column, seed).rename(columns={column: "group"})
            tables.append(grouped.assign(group_by=column, arm=arm))
    return pd.concat(tables, ignore_index=True)


def run_patching_study(
    handle: ModelHandle,
    loaded: LoadedSAE,
    feature: int,
    flips: LabelledPairs,
    controls: LabelledPairs,
    template: PromptTemplate,
    seed: int = 0,
) -> PatchingStudy:
    """Patch ``feature`` on the FlipBank pairs and on the non-flip control pairs, and patch a random
    feature of similar mean activation on the FlipBank pairs."""
    paraphrase_resid = final_token_resid(
        handle,
        [p.paraphrase for p in flips.pairs],
        template,
        [loaded.layer],
        prefix=pairs_prefix(handle, flips.pairs, template),
    )
    with torch.no_grad():
        mean_activation = (
            encode_all(loaded.sae, paraphrase_resid[:, 0].to(loaded.sae.W_enc)).float().mean(0).cpu()
        )
    control_feature = similar_activation_feature(mean_activation, feature, seed)
    frame = pd.concat(
        [
            _arm(handle, loaded, feature, flips, template, "feature on flips"),
            _arm(handle, loaded, feature, controls, template, "feature on non-flips"),
            _arm(handle, loaded, control_feature, flips, template, "random feature on flips"),
        ],
        ignore_index=True,
    )
    return PatchingStudy(pairs=frame, summary=_summary(frame, seed))


def format_patching_summary(summary: pd.DataFrame) -> str:
    """The overall row of each arm: recovery (mean, 95 % CI, median), >50 %, reversals, mean shift."""
    overall = summary[summary["group_by"] == "all"]
    lines = [
        f"{'arm':<26} {'n':>4} {'mean recovery [95% CI]':>28} {'median':>7} {'>50%':>6} "
        f"{'rev.':>5} {'shift':>7}"
    ]
    for row in overall.itertuples(index=False):
        interval = f"[{100 * row.mean_recovery_low:.1f}, {100 * row.mean_recovery_high:.1f}]"
        lines.append(
            f"{row.arm:<26} {row.n:>4} {100 * row.mean_recovery:>9.1f}% {interval:>18} "
            f"{100 * row.median_recovery:>6.1f}% {100 * row.share_recovery_above_50pct:>5.1f}% "
            f"{row.full_reversals:>5} {row.mean_shift:>+7.3f}"
        )
    return "\n".join(lines)
