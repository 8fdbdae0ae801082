"""The patching study (PSF-Med Tables 7, 18): delta-only patching of a feature over the FlipBank, with the two
controls of PSF-Med in the same run (non-flip pairs, and a random feature of similar mean activation)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pandas as pd
import torch

from experiments.steps.flip_pairs import LabelledPairs
from flipbank.causal_metrics import (
    DEFAULT_GAP_FLOOR,
    ArmSummary,
    patch_outcomes,
    summarise_by,
    summarise_non_flip_control,
    summarise_patching,
    summary_frame,
)
from interp.handle import ModelHandle
from interp.patching import pairs_prefix, patched_margins
from interp.prompts import PromptTemplate
from interp.resid_cache import final_token_resid
from saes.features import encode_all, feature_slice
from saes.loading import LoadedSAE

GROUP_COLUMNS = ("finding", "phenomenon", "direction")
FLIP_ARM, NON_FLIP_ARM, RANDOM_ARM = "feature on flips", "feature on non-flips", "random feature on flips"


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
    outcomes = patch_outcomes(
        pairs.labels["original_margin"], pairs.labels["paraphrase_margin"], patched.numpy()
    )
    labels = pairs.labels.drop(columns=["original_margin", "paraphrase_margin"]).reset_index(drop=True)
    return pd.concat([labels, outcomes], axis=1).assign(arm=arm, feature=feature)


def _summariser(arm: str, gap_floor: float) -> Callable[[pd.DataFrame, int], ArmSummary]:
    """The non-flip control gets mean |Δmargin| only; arms on FlipBank pairs get recovery and reversals."""
    if arm == NON_FLIP_ARM:
        return summarise_non_flip_control
    return lambda outcomes, seed: summarise_patching(outcomes, seed, gap_floor)


def _summary(frame: pd.DataFrame, seed: int, gap_floor: float) -> pd.DataFrame:
    tables = []
    for arm, outcomes in frame.groupby("arm", sort=False):
        summarise = _summariser(str(arm), gap_floor)
        overall = summary_frame([{"group_by": "all", "group": "all", **summarise(outcomes, seed).as_row()}])
        tables.append(overall.assign(arm=arm))
        for column in GROUP_COLUMNS:
            grouped = summarise_by(outcomes, column, seed, summarise).rename(columns={column: "group"})
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
    gap_floor: float = DEFAULT_GAP_FLOOR,
) -> PatchingStudy:
    """Patch ``feature`` on the FlipBank pairs and on the non-flip control pairs, and patch a random
    feature of similar mean activation on the FlipBank pairs. Pairs with
    |original_margin − paraphrase_margin| below ``gap_floor`` (logits) are counted in the summary, not
    dropped."""
    paraphrase_resid = final_token_resid(
        handle,
        [p.paraphrase for p in flips.pairs],
        template,
        [loaded.layer],
        prefix=pairs_prefix(handle, flips.pairs, template),
    )
    with torch.no_grad():
        mean_activation = encode_all(loaded.sae, paraphrase_resid[:, 0]).float().mean(0).cpu()
    control_feature = similar_activation_feature(mean_activation, feature, seed)
    frame = pd.concat(
        [
            _arm(handle, loaded, feature, flips, template, FLIP_ARM),
            _arm(handle, loaded, feature, controls, template, NON_FLIP_ARM),
            _arm(handle, loaded, control_feature, flips, template, RANDOM_ARM),
        ],
        ignore_index=True,
    )
    return PatchingStudy(pairs=frame, summary=_summary(frame, seed, gap_floor))


#: The printed table: (header, width) per column.
_PRINTED = (
    ("arm", -24),
    ("n", 4),
    ("sign flips", 10),
    ("mean recovery [95% CI]", 24),
    ("median", 7),
    (">50%", 6),
    ("aggregate", 9),
    ("reversals", 10),
    ("|gap|<floor", 11),
    ("shift", 7),
    ("mean |Δmargin| [95% CI]", 25),
)


def _percent(value: Any) -> str:
    return "—" if pd.isna(value) else f"{100 * float(value):.1f}%"


def _printed_cells(row: pd.Series) -> list[str]:
    moved = f"{row.mean_abs_delta_margin:.3f} [{row.mean_abs_delta_margin_low:.3f}, "
    moved += f"{row.mean_abs_delta_margin_high:.3f}]"
    if pd.isna(row.n_sign_flips):  # the non-flip control: no recovery or reversal numbers
        return [str(row.arm), str(row.n), *["—"] * 8, moved]
    interval = f"[{100 * row.mean_recovery_low:.1f}, {100 * row.mean_recovery_high:.1f}]"
    return [
        str(row.arm),
        str(row.n),
        f"{row.n_sign_flips}",
        f"{_percent(row.mean_recovery)} {interval}",
        _percent(row.median_recovery),
        _percent(row.share_recovery_above_50pct),
        _percent(row.aggregate_recovery),
        f"{row.full_reversals} / {row.n_sign_flips}",
        f"{row.n_below_gap_floor} / {row.n}",
        f"{row.mean_shift:+.3f}",
        moved,
    ]


def _line(cells: list[str]) -> str:
    return " ".join(
        f"{cell:<{-width}}" if width < 0 else f"{cell:>{width}}"
        for cell, (_, width) in zip(cells, _PRINTED, strict=True)
    )


def format_patching_summary(summary: pd.DataFrame) -> str:
    """The overall row of each arm. Flip arms: sign flips, mean recovery (95 % CI), median, share above 50 %,
    aggregate recovery (Σ shift / Σ |gap|), full reversals out of the sign flips, pairs below the gap floor,
    mean shift; every arm: mean |Δmargin| (logits). The non-flip control shows "—" for the flip metrics."""
    overall = summary[summary["group_by"] == "all"]
    floors = overall["gap_floor"].dropna()
    lines = [_line([header for header, _ in _PRINTED])]
    lines += [_line(_printed_cells(row)) for _, row in overall.iterrows()]
    if len(floors):
        lines.append(f"gap floor: {floors.iloc[0]:g} logits; reversals are counted on margin-sign flips only")
    return "\n".join(lines)
