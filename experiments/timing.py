"""Interleaved timing, shared by the latency study and the benchmarks: every method runs once per round,
in rotating order, so machine noise hits all methods alike; results are ratios to a baseline of the same
rounds."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class TimingRow:
    """Per-method timings in seconds, and the per-round ratio to the baseline."""

    name: str
    seconds: list[float]
    ratios: list[float]

    @property
    def median_seconds(self) -> float:
        return statistics.median(self.seconds)

    @property
    def median_ratio(self) -> float:
        return statistics.median(self.ratios)


def time_interleaved(
    methods: Mapping[str, Callable[[], object]], baseline: str, rounds: int, warmup: int = 1
) -> list[TimingRow]:
    """Time each method ``rounds`` times after ``warmup`` untimed rounds; ratios are per round."""
    names = list(methods)
    for _ in range(warmup):
        for name in names:
            methods[name]()
    seconds: dict[str, list[float]] = {name: [] for name in names}
    for round_index in range(rounds):
        shift = round_index % len(names)
        for name in names[shift:] + names[:shift]:
            start = time.perf_counter()
            methods[name]()
            seconds[name].append(time.perf_counter() - start)
    base = seconds[baseline]
    return [
        TimingRow(name, seconds[name], [value / b for value, b in zip(seconds[name], base, strict=True)])
        for name in names
    ]


def format_rows(rows: list[TimingRow], extra: Mapping[str, str] | None = None) -> str:
    """A text table: median ms, min–max ms, median ratio with its min–max, and an optional extra column."""
    extra = extra or {}
    lines = [f"{'method':<44} {'median ms':>10} {'min–max ms':>17} {'ratio':>7} {'ratio min–max':>15}  check"]
    for row in rows:
        low, high = min(row.seconds) * 1e3, max(row.seconds) * 1e3
        ratio_low, ratio_high = min(row.ratios), max(row.ratios)
        lines.append(
            f"{row.name:<44} {row.median_seconds * 1e3:>10.1f} {f'{low:.0f}–{high:.0f}':>17} "
            f"{row.median_ratio:>7.3f} {f'{ratio_low:.2f}–{ratio_high:.2f}':>15}  {extra.get(row.name, '')}"
        )
    return "\n".join(lines)
