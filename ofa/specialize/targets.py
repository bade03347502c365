"""What to specialize for: (device, budget) pairs, and each one's candidates from one search."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ofa.errors import OfaError
from ofa.search.budget import parse_latency


@dataclass(frozen=True)
class Target:
    device: str  # profile name
    budget_ms: float

    @property
    def label(self) -> str:
        """Folder name: cpu-2ms, jetson-orin-nano-12.5ms."""
        return f"{self.device}-{self.budget_ms:g}ms"


def parse_targets(devices: list[str], latencies: list[str]) -> list[Target]:
    """One device: every plain budget is its. Several: plain budgets pair with devices in order,
    and `DEVICE=20ms` adds a budget to a named device. Every device needs a budget."""
    plain = [v for v in latencies if "=" not in v]
    named = [v for v in latencies if "=" in v]
    pairs: list[tuple[str, float]] = []
    if len(devices) == 1:
        pairs += [(devices[0], parse_latency(v)) for v in plain]
    elif plain:
        if len(plain) != len(devices):
            raise OfaError(f"{len(plain)} plain --latency budget(s) for {len(devices)} devices; give one per device "
                           f"in order, or name each: --latency {devices[0]}=20ms")
        pairs += [(d, parse_latency(v)) for d, v in zip(devices, plain)]
    for value in named:
        device, _, amount = value.partition("=")
        if device not in devices:
            raise OfaError(f"--latency {value}: '{device}' is not one of the --device values ({', '.join(devices)})")
        pairs.append((device, parse_latency(amount)))
    missing = [d for d in devices if d not in {p[0] for p in pairs}]
    if missing:
        raise OfaError(f"no --latency budget for device {missing[0]}; e.g. --latency {missing[0]}=20ms")
    return [Target(d, b) for d, b in dict.fromkeys(pairs)]


def candidates(genes: np.ndarray, values: dict[str, np.ndarray], target: Target, margin: float = 0.0) -> np.ndarray:
    """Indices of the subnets to try for the target, best first.

    The subnets within the budget that no other subnet within it beats on both predicted accuracy
    and latency, most accurate first. With a `margin` (accuracy points), every subnet within the
    budget predicted within `margin` of the most accurate one comes first, slowest first: the
    predictor cannot tell those apart, and the slowest spends the budget on capacity, which
    measures at least as well on our supernets (BENCHMARKS.md, the sweep) and fine-tunes further."""
    latency, acc = values[f"latency:{target.device}"], values["acc"]
    inside = np.flatnonzero(latency <= target.budget_ms)
    if not len(inside):
        return inside
    order = inside[np.lexsort((latency[inside], -acc[inside]))]  # accuracy down, then latency up
    keep, fastest = [], np.inf
    for i in order:  # walking down in accuracy, a point stays only if it is faster than all before it
        if latency[i] < fastest:
            keep.append(i)
            fastest = latency[i]
    if margin > 0:
        tied = inside[acc[inside] >= acc[order[0]] - margin]
        tied = tied[np.lexsort((-acc[tied], -latency[tied]))]  # latency down, then accuracy down
        keep = [*tied, *np.setdiff1d(keep, tied, assume_unique=True)]
    return np.asarray(keep, dtype=np.int64)


def spread_margin(values: dict[str, np.ndarray], target: Target) -> float:
    """The predictor's own spread at the most accurate subnet within the budget (0 for a predictor
    without one): the default tie margin of `candidates`."""
    inside = np.flatnonzero(values[f"latency:{target.device}"] <= target.budget_ms)
    if not len(inside) or "acc_std" not in values:
        return 0.0
    return float(values["acc_std"][inside[np.argmax(values["acc"][inside])]])
