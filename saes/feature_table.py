"""Pure per-feature statistics of a ranking (numbers in, a DataFrame out): features ranked by mean |Δf| over
the flip pairs, their Δf-vs-Δmargin correlations over the flip pairs with bootstrap CIs, the non-flip pairs
as a control (Mann–Whitney U and the mean |Δf| beside it), and means by phenomenon and register."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from flipbank.statistics import mann_whitney_u, pearson, spearman
from saes.feature_stats import FloatArray, group_means, rank_by_mean_abs


@dataclass(frozen=True)
class RankingConfig:
    """How many top features get statistics, and the seeded bootstrap (1,000 resamples, 95 % by default)."""

    n_top: int = 50
    n_resamples: int = 1000
    seed: int = 0
    confidence: float = 0.95


def _grouped_columns(
    values: FloatArray, labels: Sequence[str], name: str, kind: str
) -> dict[str, FloatArray]:
    return {f"{name}[{kind}={label}]": means for label, means in group_means(values, labels).items()}


def _mean_or_nan(values: FloatArray) -> float:
    return float(values.mean()) if len(values) else float("nan")


def _feature_row(
    delta: FloatArray,
    activation: FloatArray,
    delta_margin: FloatArray,
    flipped: np.ndarray,
    config: RankingConfig,
) -> dict[str, float]:
    """Statistics of one feature. Δf and its correlations with Δmargin are over the flip pairs only (every
    feature resampled with the same seeded pairs); the non-flip pairs give the Mann–Whitney control and the
    side-by-side ``mean_abs_delta_control``."""
    on_flips = delta[flipped]
    linear, ranked = (
        method(
            on_flips,
            delta_margin[flipped],
            resamples=config.n_resamples,
            level=config.confidence,
            seed=config.seed,
        )
        for method in (pearson, spearman)
    )
    test = mann_whitney_u(activation[flipped], activation[~flipped])
    return {
        "mean_abs_delta": float(np.abs(on_flips).mean()),
        "mean_delta": float(on_flips.mean()),
        "mean_abs_delta_control": _mean_or_nan(np.abs(delta[~flipped])),
        "pearson_r": linear.r,
        "pearson_ci_low": linear.ci.low,
        "pearson_ci_high": linear.ci.high,
        "spearman_r": ranked.r,
        "spearman_ci_low": ranked.ci.low,
        "spearman_ci_high": ranked.ci.high,
        "mwu_u": test.statistic,
        "mwu_p": test.p_value,
        "mean_act_flip": _mean_or_nan(activation[flipped]),
        "mean_act_no_flip": _mean_or_nan(activation[~flipped]),
        "n_flip": test.n_first,
        "n_no_flip": test.n_second,
    }


def feature_table(
    delta_f: FloatArray,
    f_paraphrase: FloatArray,
    delta_margin: FloatArray,
    flipped: np.ndarray,
    phenomena: Sequence[str],
    registers: Sequence[str],
    config: RankingConfig = RankingConfig(),
) -> pd.DataFrame:
    """One row per top feature, ranked by mean |Δf| over the flip pairs (the FlipBank): Pearson
    and Spearman r of Δf against Δmargin over the flip pairs with bootstrap CIs, the mean |Δf| over the
    non-flip control pairs beside it, Mann–Whitney U of the paraphrase's activation on flip vs non-flip
    pairs, and mean activation and mean Δf over the flip pairs by phenomenon and by register. Pure: arrays
    in ([pair, d_sae] and [pair]), a DataFrame out. Raises ValueError when no pair is flipped."""
    flipped = np.asarray(flipped, dtype=bool)
    if not flipped.any():
        raise ValueError(f"none of the {len(flipped)} pairs is flipped: features are ranked over flip pairs")
    order, _ = rank_by_mean_abs(delta_f[flipped])
    top = order[: config.n_top]
    rows = [
        {
            "feature": int(feature),
            "rank": rank,
            **_feature_row(
                delta_f[:, feature],
                f_paraphrase[:, feature],
                delta_margin,
                flipped,
                config,
            ),
        }
        for rank, feature in enumerate(top, start=1)
    ]
    flip_phenomena = [label for label, kept in zip(phenomena, flipped, strict=True) if kept]
    flip_registers = [label for label, kept in zip(registers, flipped, strict=True) if kept]
    activation, delta = f_paraphrase[flipped][:, top], delta_f[flipped][:, top]
    grouped = {
        **_grouped_columns(activation, flip_phenomena, "mean_act", "phenomenon"),
        **_grouped_columns(delta, flip_phenomena, "mean_delta", "phenomenon"),
        **_grouped_columns(activation, flip_registers, "mean_act", "register"),
    }
    return pd.concat([pd.DataFrame(rows), pd.DataFrame(grouped)], axis=1)
