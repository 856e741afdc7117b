"""Shared helpers for benchmarks."""

from __future__ import annotations

from dataclasses import dataclass, field

from qianbao.ops.embedded_pg import EmbeddedPostgres


@dataclass
class BenchContext:
    pg: EmbeddedPostgres
    seconds: float
    baseline_tps: float = 0.0
    results: dict[str, float] = field(default_factory=dict)


def emit(name: str, value: float, unit: str) -> None:
    print(f"BENCH {name} {value:.2f} {unit}", flush=True)


def percentile(sorted_values: list[float], p: float) -> float:
    if not sorted_values:
        return float("nan")
    k = max(0, min(len(sorted_values) - 1, round(p / 100 * (len(sorted_values) - 1))))
    return sorted_values[k]
