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


def candidates(genes: np.ndarray, values: dict[str, np.ndarray], target: Target) -> np.ndarray:
    """Indices of the subnets within the target's budget that no other subnet within it beats on
    both predicted accuracy and latency on its device, most accurate first."""
    latency = values[f"latency:{target.device}"]
    inside = np.flatnonzero(latency <= target.budget_ms)
    if not len(inside):
        return inside
    order = inside[np.lexsort((latency[inside], -values["acc"][inside]))]  # accuracy down, then latency up
    keep, fastest = [], np.inf
    for i in order:  # walking down in accuracy, a point stays only if it is faster than all before it
        if latency[i] < fastest:
            keep.append(i)
            fastest = latency[i]
    return np.asarray(keep, dtype=np.int64)
