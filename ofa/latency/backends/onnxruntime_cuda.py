"""onnxruntime-cuda: a CUDA GPU through ONNX Runtime's CUDAExecutionProvider (onnxruntime-gpu)."""

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

NAME = "onnxruntime-cuda"
SUMMARY = "a CUDA GPU through ONNX Runtime (CUDAExecutionProvider)"
PROVIDER = "CUDAExecutionProvider"


def version() -> str:
    return ort_version()


def why_unavailable() -> str | None:
    return missing_provider(
        NAME, PROVIDER, "pip install onnxruntime-gpu in place of onnxruntime, on a machine with a CUDA GPU"
    )


def measure(onnx_bytes: bytes, input_shape: Sequence[int], profile: "DeviceProfile") -> LatencyStats:
    """Like onnxruntime-cpu; session.run copies outputs back to the host, so it is synchronous."""
    reason = why_unavailable()
    if reason:
        raise OfaError(reason)
    session = make_session(prepare_model(onnx_bytes, profile), PROVIDER, profile)
    if PROVIDER not in session.get_providers():
        # onnxruntime-gpu lists the provider even where CUDA cannot start, then falls back to CPU.
        raise OfaError(f"{NAME}: {PROVIDER} could not start here (no usable CUDA GPU); CPU timings would mislead")
    return time_session(session, input_shape, profile)
