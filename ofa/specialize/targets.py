"""What to specialize for: (device, budget) pairs, and each one's candidates from one search."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from ofa.errors import OfaError
from ofa.search.budget import parse_latency
from ofa.search.columns import latency_column


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
    targets = [Target(d, b) for d, b in dict.fromkeys(pairs)]
    labels = [t.label for t in targets]
    for t in targets:
        if labels.count(t.label) > 1:
            same = [f"{o.budget_ms!r}ms" for o in targets if o.label == t.label]
            raise OfaError(f"budgets {' and '.join(same)} for {t.device} both name the model folder {t.label}; "
                           f"give budgets that differ within 6 significant digits")
    return targets


def candidates(genes: np.ndarray, values: dict[str, np.ndarray], target: Target) -> np.ndarray:
    """Indices of the subnets within the target's budget that no other subnet within it beats on
    both predicted accuracy and latency on its device, most accurate first."""
    latency = values[latency_column(target.device)]
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


MAX_ATTEMPTS = 8  # subnets measured per target before the closed loop gives up
HEADROOM = 0.9  # a fit measured below this share of the budget tries one more accurate, slower subnet


def closed_loop(genes: np.ndarray, values: dict[str, np.ndarray], target: Target,
                measure: Callable[[int], float]) -> tuple[int, list[tuple[int, float]]]:
    """Which subnet to keep, by measuring on the device itself; also every (index, ms) measured.

    Candidates are measured most accurate first; after a miss, those predicted to miss by the
    worst measured/predicted ratio so far are skipped. A fit that leaves more than a tenth of the
    budget unused says the table over-predicts here: the most accurate subnet predicted within
    the budget divided by that fit's measured/predicted ratio is measured once, and kept if it
    fits. When nothing fits, the fastest subnet measured is kept (the caller says so)."""
    latency, acc, budget = values[latency_column(target.device)], values["acc"], target.budget_ms
    measured: dict[int, float] = {}
    factor, fit = 1.0, None
    for i in candidates(genes, values, target):
        if latency[i] * factor > budget:
            continue  # would miss by what the misses so far showed
        measured[i] = measure(i)
        if measured[i] <= budget:
            fit = i
            break
        factor = max(factor, measured[i] / latency[i])
        if len(measured) >= MAX_ATTEMPTS:
            break
    if not measured:
        raise OfaError(f"no subnet of the front is predicted within {budget:g} ms on {target.device}")
    if fit is None:
        return min(measured, key=measured.get), list(measured.items())
    if measured[fit] < HEADROOM * budget:
        ratio = measured[fit] / latency[fit]
        better = [j for j in candidates(genes, values, Target(target.device, budget / ratio))
                  if acc[j] > acc[fit] and j not in measured]
        if better:
            measured[better[0]] = measure(better[0])
            fit = better[0] if measured[better[0]] <= budget else fit
    return fit, list(measured.items())
