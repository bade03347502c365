"""onnxruntime-cpu: the local CPU through ONNX Runtime's CPUExecutionProvider."""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable, Sequence

from ofa.latency.backends.base import LatencyStats
from ofa.latency.backends.ort_session import missing_provider, open_session, ort_version, session_runner, time_session

if TYPE_CHECKING:
    from ofa.devices import DeviceProfile

NAME = "onnxruntime-cpu"
SUMMARY = "this machine's CPU through ONNX Runtime (CPUExecutionProvider)"
PROVIDER = "CPUExecutionProvider"
INSTALL = "pip install onnxruntime"


def version() -> str:
    return ort_version()


def why_unavailable() -> str | None:
    return missing_provider(NAME, PROVIDER, INSTALL)


def measure(onnx_bytes: bytes, input_shape: Sequence[int], profile: "DeviceProfile") -> LatencyStats:
    """Median of `profile.iterations` timed runs after `profile.warmup` runs."""
    return time_session(open_session(onnx_bytes, profile, NAME, PROVIDER, INSTALL), input_shape, profile)


def prepare(onnx_bytes: bytes, input_shape: Sequence[int], profile: "DeviceProfile") -> Callable[[], object]:
    """A ready session as a call, for timing many models interleaved (see base.time_interleaved)."""
    return session_runner(open_session(onnx_bytes, profile, NAME, PROVIDER, INSTALL), input_shape)
