"""onnxruntime-cpu: the local CPU through ONNX Runtime's CPUExecutionProvider."""

from __future__ import annotations

from typing import TYPE_CHECKING, Sequence

from ofa.errors import OfaError
from ofa.latency.backends.base import LatencyStats
from ofa.latency.backends.ort_session import (
    make_session,
    missing_provider,
    ort_version,
    prepare_model,
    time_session,
)

if TYPE_CHECKING:
    from ofa.devices import DeviceProfile

NAME = "onnxruntime-cpu"
SUMMARY = "this machine's CPU through ONNX Runtime (CPUExecutionProvider)"
PROVIDER = "CPUExecutionProvider"


def version() -> str:
    return ort_version()


def why_unavailable() -> str | None:
    return missing_provider(NAME, PROVIDER, "pip install onnxruntime")


def measure(onnx_bytes: bytes, input_shape: Sequence[int], profile: "DeviceProfile") -> LatencyStats:
    """Median of `profile.iterations` timed runs (perf_counter_ns) after `profile.warmup` runs."""
    reason = why_unavailable()
    if reason:
        raise OfaError(reason)
    session = make_session(prepare_model(onnx_bytes, profile), PROVIDER, profile)
    return time_session(session, input_shape, profile)
