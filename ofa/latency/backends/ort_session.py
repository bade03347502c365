"""ONNX Runtime plumbing shared by the onnxruntime-cpu and onnxruntime-cuda backends."""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable, Sequence

from ofa.errors import OfaError
from ofa.latency.backends.base import LatencyStats, check_input_shape, stats_from_times, time_calls

if TYPE_CHECKING:
    from ofa.devices import DeviceProfile

_NUMPY_TYPES = {"tensor(float)": "float32", "tensor(float16)": "float16"}


def ort_version() -> str:
    try:
        import onnxruntime
    except ImportError:
        return "not installed"
    return onnxruntime.__version__


def missing_provider(backend: str, provider: str, install: str) -> str | None:
    """Why ONNX Runtime cannot run `provider` here (one line naming what to install), or None."""
    try:
        import onnxruntime
    except ImportError:
        return f"{backend}: onnxruntime is not installed: {install}"
    providers = onnxruntime.get_available_providers()
    if provider in providers:
        return None
    return (
        f"{backend}: onnxruntime {onnxruntime.__version__} offers no {provider} "
        f"(only {', '.join(providers)}): {install}"
    )


def make_session(onnx_bytes: bytes, provider: str, profile: "DeviceProfile"):
    """A session on `provider` alone, all graph optimisations on, threads as the profile says."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.intra_op_num_threads = profile.threads or 0  # 0: ONNX Runtime uses every core
    options.inter_op_num_threads = 1
    options.log_severity_level = 3  # errors only: warnings would drown the tables we print
    try:
        return ort.InferenceSession(onnx_bytes, sess_options=options, providers=[provider])
    except Exception as e:  # onnxruntime raises its own pybind exception types
        text = str(e).strip()
        first = text.splitlines()[0] if text else type(e).__name__
        raise OfaError(f"onnxruntime could not load the model on {provider}: {first}") from None


def session_runner(session, input_shape: Sequence[int]) -> Callable[[], object]:
    """One call = one inference on a fixed random input (seed 0) of the model's input type."""
    import numpy as np

    inputs = session.get_inputs()
    if len(inputs) != 1:
        raise OfaError(f"latency is measured on models with one input; this one has {len(inputs)}")
    model_input = inputs[0]
    dtype = _NUMPY_TYPES.get(model_input.type)
    if dtype is None:
        raise OfaError(
            f"model input '{model_input.name}' is {model_input.type}; "
            f"expected one of {sorted(_NUMPY_TYPES)}"
        )
    shape = check_input_shape(model_input.shape, input_shape, model_input.name)
    feed = {model_input.name: np.random.default_rng(0).standard_normal(shape).astype(dtype)}
    return lambda: session.run(None, feed)


def time_session(session, input_shape: Sequence[int], profile: "DeviceProfile") -> LatencyStats:
    """Warm up, then time `profile.iterations` runs of one random input (fixed seed)."""
    times = time_calls(session_runner(session, input_shape), profile.warmup, profile.iterations)
    return stats_from_times(times)


def open_session(onnx_bytes: bytes, profile: "DeviceProfile", backend: str, provider: str, install: str):
    """A session for one part on `provider` at the profile's precision, or a one-line OfaError."""
    reason = missing_provider(backend, provider, install)
    if reason:
        raise OfaError(reason)
    session = make_session(prepare_model(onnx_bytes, profile), provider, profile)
    if provider not in session.get_providers():
        # onnxruntime-gpu lists CUDA even where it cannot start, then silently falls back to the CPU.
        raise OfaError(f"{backend}: {provider} could not start here; timings of another provider would mislead")
    return session


def prepare_model(onnx_bytes: bytes, profile: "DeviceProfile") -> bytes:
    """The model at the profile's precision (fp16 profiles get an fp16 model)."""
    if profile.precision == "fp16":
        from ofa.latency.backends.fp16 import to_fp16

        return to_fp16(onnx_bytes)
    return onnx_bytes
