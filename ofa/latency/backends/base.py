"""What every measurement backend shares: the result type, the timing loop and the record
that the registry keeps per backend (plain data and functions, no class hierarchy)."""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any, Callable, Iterable, Sequence

from ofa.errors import OfaError

if TYPE_CHECKING:
    from ofa.devices import DeviceProfile

    MeasureOnnx = Callable[[bytes, Sequence[int], DeviceProfile], "LatencyStats"]
    MeasureModule = Callable[[Any, Sequence[int], DeviceProfile], "LatencyStats"]
    Prepare = Callable[[bytes, Sequence[int], DeviceProfile], Callable[[], object]]


@dataclass(frozen=True)
class LatencyStats:
    """Summary of `runs` timed runs; the median is what lookup tables store (robust to outliers)."""

    median_ms: float
    p10_ms: float
    p90_ms: float
    mean_ms: float
    runs: int

    def to_dict(self) -> dict[str, float | int]:
        return asdict(self)

    def value(self, statistic: str) -> float:
        """The summary a profile asks for ('median' or 'p10'), in ms."""
        return getattr(self, f"{statistic}_ms")


def _quantile(ordered: list[float], q: float) -> float:
    """Linear interpolation between the closest ranks (numpy's default), on sorted data."""
    pos = q * (len(ordered) - 1)
    lo = math.floor(pos)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


def stats_from_times(times_ms: Iterable[float]) -> LatencyStats:
    """Median, 10th and 90th percentiles and mean of per-run times in milliseconds."""
    ordered = sorted(float(t) for t in times_ms)
    if not ordered:
        raise ValueError("stats_from_times needs at least one time")
    if any(not math.isfinite(t) or t < 0 for t in ordered):
        raise ValueError(f"times must be finite and non-negative, got {ordered}")
    return LatencyStats(
        median_ms=_quantile(ordered, 0.5),
        p10_ms=_quantile(ordered, 0.1),
        p90_ms=_quantile(ordered, 0.9),
        mean_ms=sum(ordered) / len(ordered),
        runs=len(ordered),
    )


def time_calls(call: Callable[[], object], warmup: int, iterations: int) -> list[float]:
    """Wall-clock milliseconds of `iterations` calls after `warmup` untimed ones.

    Only for calls that return when the work is done (synchronous backends)."""
    for _ in range(warmup):
        call()
    times = []
    for _ in range(iterations):
        start = time.perf_counter_ns()
        call()
        times.append((time.perf_counter_ns() - start) / 1e6)
    return times


def time_interleaved(calls: Sequence[Callable[[], object]], warmup: int, iterations: int,
                     rounds: int) -> list[list[float]]:
    """Milliseconds of `iterations` calls of each, spread over `rounds` passes through all of
    them. A shared machine's speed drifts from one second to the next; interleaving makes every
    model see the same mix of fast and slow moments, so their latencies compare fairly.

    Nothing re-warms a model between turns: its first call in a turn finds the caches full of
    other models' weights, as each layer of a whole network finds them full of the other
    layers'. With `rounds == iterations` every timed call is such a call, which is what makes
    the small parts of a table add up to whole subnets (see BENCHMARKS.md)."""
    for call in calls:
        for _ in range(warmup):
            call()
    rounds = max(1, min(rounds, iterations))
    per_round = [iterations // rounds + (1 if r < iterations % rounds else 0) for r in range(rounds)]
    times: list[list[float]] = [[] for _ in calls]
    for n in per_round:
        for call, out in zip(calls, times):
            for _ in range(n):
                start = time.perf_counter_ns()
                call()
                out.append((time.perf_counter_ns() - start) / 1e6)
    return times


def check_input_shape(declared: Sequence[Any], given: Sequence[int], model_input: str) -> tuple[int, ...]:
    """The shape to feed: `given`, if it fits the model's declared input (symbolic dims fit anything)."""
    given = tuple(int(d) for d in given)
    if len(declared) != len(given) or any(
        isinstance(d, int) and d > 0 and d != g for d, g in zip(declared, given, strict=True)
    ):
        raise OfaError(
            f"input shape {list(given)} does not fit the model's input '{model_input}' "
            f"of shape {list(declared)}"
        )
    if any(g <= 0 for g in given):
        raise OfaError(f"input shape {list(given)}: every dimension must be positive")
    return given


@dataclass(frozen=True)
class Backend:
    """A registered backend: the plain functions of its module, gathered in one record."""

    name: str
    summary: str
    version: Callable[[], str]  # version of the runtime behind it, or "not installed"
    why_unavailable: Callable[[], str | None]  # one-line reason it cannot measure here, or None
    measure: MeasureOnnx  # (onnx_bytes, input_shape, profile) -> LatencyStats
    measure_module: MeasureModule | None = None  # backends that time torch modules directly
    prepare: "Prepare | None" = None  # synchronous backends: (onnx_bytes, shape, profile) -> one call

    def available(self) -> bool:
        """Can it measure on this machine right now?"""
        return self.why_unavailable() is None

    def require(self) -> None:
        """Raise the one-line OfaError that says what to install, if it cannot measure here."""
        reason = self.why_unavailable()
        if reason:
            raise OfaError(reason)
