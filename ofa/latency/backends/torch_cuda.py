"""torch-cuda: a torch module on a CUDA GPU, eager PyTorch, timed with CUDA events.

It measures modules, not ONNX: the quickest GPU number when TensorRT is not at hand."""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any, Sequence

from ofa.errors import OfaError
from ofa.latency.backends.base import LatencyStats, stats_from_times

if TYPE_CHECKING:
    from ofa.devices import DeviceProfile

NAME = "torch-cuda"
SUMMARY = "a CUDA GPU through eager PyTorch, timed with CUDA events (torch modules, not ONNX)"


def version() -> str:
    try:
        import torch
    except ImportError:
        return "not installed"
    return f"{torch.__version__} (CUDA {torch.version.cuda or 'none'})"


def cuda_missing(backend: str) -> str | None:
    """Why PyTorch cannot reach a CUDA GPU here (one line), or None."""
    try:
        import torch
    except ImportError:
        return f"{backend}: PyTorch is not installed: pip install torch"
    if not torch.cuda.is_available():
        return (
            f"{backend} needs a CUDA GPU, and torch.cuda.is_available() is False here "
            f"(torch {torch.__version__}, CUDA {torch.version.cuda or 'none'})"
        )
    return None


def why_unavailable() -> str | None:
    return cuda_missing(NAME)


def measure(onnx_bytes: bytes, input_shape: Sequence[int], profile: "DeviceProfile") -> LatencyStats:
    """Refused: this backend times torch modules (measure_module), not ONNX models."""
    raise OfaError(
        f"{NAME} measures torch modules, not ONNX models: use measure_module(module, input_shape, profile)"
    )


def measure_module(module: Any, input_shape: Sequence[int], profile: "DeviceProfile") -> LatencyStats:
    """Warm up, then time each forward between two CUDA events; the caller's module is not moved."""
    reason = why_unavailable()
    if reason:
        raise OfaError(reason)
    import torch

    dtype = torch.float16 if profile.precision == "fp16" else torch.float32
    model = copy.deepcopy(module).eval().to(device="cuda", dtype=dtype)
    generator = torch.Generator(device="cuda").manual_seed(0)
    x = torch.randn(tuple(input_shape), generator=generator, device="cuda", dtype=dtype)
    times = []
    with torch.inference_mode():
        for _ in range(profile.warmup):
            model(x)
        torch.cuda.synchronize()
        for _ in range(profile.iterations):
            start = torch.cuda.Event(enable_timing=True)
            end = torch.cuda.Event(enable_timing=True)
            start.record()
            model(x)
            end.record()
            end.synchronize()
            times.append(start.elapsed_time(end))
    return stats_from_times(times)
