"""Seeded stratified samples (control pairs, layer-sweep pairs, clamping questions): each stratum keeps its
share of the sample (proportional allocation, largest remainder), items within a stratum are drawn at random
with the study's seed, and the chosen indices come back in their original order. Pure: labels in, indices out.

>>> stratified_sample(["a", "a", "b", "b"], 2, seed=0)  # one from each stratum
[1, 3]
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence

import numpy as np


def _allocation(counts: dict[str, int], n: int) -> dict[str, int]:
    """Proportional quotas summing to ``n``: floors first, then one more for the largest remainders
    (ties go to the stratum first in sorted order)."""
    total = sum(counts.values())
    exact = {key: n * count / total for key, count in counts.items()}
    quota = {key: int(value) for key, value in exact.items()}
    by_remainder = sorted(counts, key=lambda key: (-(exact[key] - quota[key]), key))
    for key in by_remainder[: n - sum(quota.values())]:
        quota[key] += 1
    return quota


def stratified_sample(strata: Sequence[Hashable], n: int | None, seed: int) -> list[int]:
    """Indices of a seeded random sample of ``n`` items stratified by ``strata`` (one label per item, e.g. a
    (phenomenon, answer) tuple). ``n`` None, or at least the number of items, keeps every item. The same
    labels, ``n`` and ``seed`` give the same indices on any machine."""
    if n is None or n >= len(strata):
        return list(range(len(strata)))
    if n < 0:
        raise ValueError(f"sample size must be non-negative, got {n}")
    members: dict[str, list[int]] = {}
    for index, label in enumerate(strata):
        members.setdefault(repr(label), []).append(index)
    quota = _allocation({key: len(indices) for key, indices in members.items()}, n)
    rng = np.random.default_rng(seed)
    chosen: list[int] = []
    for key in sorted(members):
        picked = rng.choice(len(members[key]), size=quota[key], replace=False)
        chosen.extend(members[key][int(i)] for i in picked)
    return sorted(chosen)
