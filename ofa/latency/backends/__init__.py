"""Measurement backends, one module each, in one registry: name -> Backend.

Importing this package imports no optional package (onnxruntime, torch, tensorrt are loaded
when a backend is asked to measure or to say whether it is available)."""

from __future__ import annotations

from ofa.devices.profile import BACKENDS as PROFILE_BACKENDS
from ofa.errors import OfaError
from ofa.latency.backends import imported, onnxruntime_cpu, onnxruntime_cuda, tensorrt_engine, torch_cuda
from ofa.latency.backends.base import (
    Backend,
    LatencyStats,
    check_input_shape,
    stats_from_times,
    time_calls,
    time_interleaved,
)
from ofa.latency.backends.fp16 import to_fp16


def _from_module(module) -> Backend:
    return Backend(
        name=module.NAME,
        summary=module.SUMMARY,
        version=module.version,
        why_unavailable=module.why_unavailable,
        measure=module.measure,
        measure_module=getattr(module, "measure_module", None),
        prepare=getattr(module, "prepare", None),
    )


BACKENDS: dict[str, Backend] = {
    b.name: b
    for b in map(_from_module, (onnxruntime_cpu, onnxruntime_cuda, tensorrt_engine, torch_cuda, imported))
}


if set(BACKENDS) != set(PROFILE_BACKENDS):  # a backend added on one side only: a mistake in ofa itself
    raise ImportError(f"backend registry {sorted(BACKENDS)} differs from the names profiles may use "
                      f"{sorted(PROFILE_BACKENDS)} (ofa.devices.profile.BACKENDS)")


def backend_names() -> tuple[str, ...]:
    return tuple(BACKENDS)


def get_backend(name: str) -> Backend:
    """The registered backend called `name`."""
    if name not in BACKENDS:
        raise OfaError(f"unknown latency backend '{name}'; known: {', '.join(BACKENDS)}")
    return BACKENDS[name]


__all__ = [
    "BACKENDS", "Backend", "LatencyStats", "backend_names", "check_input_shape", "get_backend",
    "stats_from_times", "time_calls", "time_interleaved", "to_fp16",
]
