"""The layer sweep study (PSF-Med Table 19): margin recovery by layer when the original's final-token
``resid_post`` is patched into the paraphrase run, and when only an SAE feature's component is patched."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pandas as pd
from torch import Tensor

from experiments.steps.flip_pairs import LabelledPairs
from flipbank.causal_metrics import DEFAULT_GAP_FLOOR, patch_outcomes, summarise_patching
from interp.handle import ModelHandle
from interp.layer_sweep import feature_patch_sweep, resid_patch_sweep
from interp.prompts import PromptTemplate
from saes.features import feature_slice
from saes.loading import LoadedSAE


def _by_layer(
    margins: Mapping[int, Tensor], pairs: LabelledPairs, kind: str, seed: int, gap_floor: float
) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = []
    for layer, patched in sorted(margins.items()):
        outcomes = patch_outcomes(
            pairs.labels["original_margin"], pairs.labels["paraphrase_margin"], patched.numpy()
        )
        summary = summarise_patching(outcomes, seed, gap_floor)
        rows.append({"patch": kind, "layer": layer, **summary.as_row()})
    return rows


def run_layer_sweep(
    handle: ModelHandle,
    flips: LabelledPairs,
    template: PromptTemplate,
    features_by_layer: Mapping[int, tuple[LoadedSAE, int]],
    seed: int = 0,
    layers: Sequence[int] | None = None,
    gap_floor: float = DEFAULT_GAP_FLOOR,
) -> pd.DataFrame:
    """A layer × metric table: full final-token resid patching at each of ``layers`` (None: every layer),
    and feature-component patching at every layer that has an SAE (``features_by_layer``: layer → (SAE,
    feature)); pairs under ``gap_floor`` logits are counted as in the patching table."""
    resid = resid_patch_sweep(handle, flips.pairs, template, layers)
    slices = {
        layer: feature_slice(loaded.sae, [feature]) for layer, (loaded, feature) in features_by_layer.items()
    }
    features = feature_patch_sweep(handle, flips.pairs, template, slices) if slices else {}
    rows = _by_layer(resid, flips, "resid_post (final token)", seed, gap_floor)
    rows += _by_layer(features, flips, "SAE feature component", seed, gap_floor)
    return pd.DataFrame(rows)


def format_layer_sweep(table: pd.DataFrame) -> str:
    """Mean recovery with its CI, aggregate recovery (Σ shift / Σ |gap|) and full reversals out of the
    margin-sign flips, per layer, for each kind of patch."""
    lines = [
        f"{'patch':<26} {'layer':>5} {'mean recovery':>14} {'95% CI':>18} {'aggregate':>10} {'reversals':>11}"
    ]
    for row in table.itertuples(index=False):
        interval = f"[{100 * row.mean_recovery_low:.1f}, {100 * row.mean_recovery_high:.1f}]"
        reversals = f"{row.full_reversals} / {row.n_sign_flips}"
        lines.append(
            f"{row.patch:<26} {row.layer:>5} {100 * row.mean_recovery:>13.1f}% {interval:>18} "
            f"{100 * row.aggregate_recovery:>9.1f}% {reversals:>11}"
        )
    return "\n".join(lines)
