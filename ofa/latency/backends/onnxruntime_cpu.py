"""onnxruntime-cpu: the local CPU through ONNX Runtime's CPUExecutionProvider."""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable, Sequence

from ofa.errors import OfaError
from ofa.latency.backends.base import LatencyStats
from ofa.latency.backends.ort_session import (
    make_session,
    missing_provider,
    ort_version,
    prepare_model,
    session_runner,
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
    return time_session(_session(onnx_bytes, profile), input_shape, profile)


def prepare(onnx_bytes: bytes, input_shape: Sequence[int], profile: "DeviceProfile") -> Callable[[], object]:
    """A ready session as a call, for timing many models interleaved (see base.time_interleaved)."""
    return session_runner(_session(onnx_bytes, profile), input_shape)


def _session(onnx_bytes: bytes, profile: "DeviceProfile"):
    reason = why_unavailable()
    if reason:
        raise OfaError(reason)
    return make_session(prepare_model(onnx_bytes, profile), PROVIDER, profile)
