"""tensorrt: build a TensorRT engine from the ONNX model and time it on the GPU.

Works with TensorRT 10 and 11. FP16 on 10 is the FP16 builder flag; 11 builds strongly typed
networks only, so an FP16 engine there is built from an FP16 model (ofa.latency.backends.fp16).
Device buffers are torch CUDA tensors, so no pycuda is needed."""

from __future__ import annotations

import importlib.util
from typing import TYPE_CHECKING, Any, Sequence

from ofa.errors import OfaError
from ofa.latency.backends.base import LatencyStats, check_input_shape, stats_from_times
from ofa.latency.backends.torch_cuda import cuda_missing

if TYPE_CHECKING:
    from ofa.devices import DeviceProfile

NAME = "tensorrt"
SUMMARY = "an NVIDIA GPU or Jetson through a TensorRT engine built from the ONNX model"
NOT_INSTALLED = "TensorRT is not installed: pip install 'ofa-deploy[tensorrt]'"
WORKSPACE_BYTES = 1 << 30


def version() -> str:
    if importlib.util.find_spec("tensorrt") is None:
        return "not installed"
    import tensorrt

    return tensorrt.__version__


def why_unavailable() -> str | None:
    if importlib.util.find_spec("tensorrt") is None:
        return NOT_INSTALLED
    return cuda_missing(NAME)


def _tensorrt():
    try:
        import tensorrt
    except ImportError:
        raise OfaError(NOT_INSTALLED) from None
    return tensorrt


def strongly_typed_only(trt: Any) -> bool:
    """TensorRT 11 dropped the FP16 builder flag (networks are strongly typed): told by the
    feature itself, not by a version string."""
    return not hasattr(trt.BuilderFlag, "FP16")


def needs_fp16_model(strongly_typed: bool, precision: str) -> bool:
    """Without an FP16 builder flag, FP16 must be in the model itself."""
    return precision == "fp16" and strongly_typed


def build_engine(onnx_bytes: bytes, input_shape: Sequence[int], precision: str = "fp32",
                 max_batch: int | None = None) -> bytes:
    """A serialized engine for `input_shape`; with `max_batch`, a dynamic batch dimension may run
    anything from 1 to `max_batch` images (tuned for `input_shape`'s batch)."""
    trt = _tensorrt()
    strongly_typed = strongly_typed_only(trt)
    if needs_fp16_model(strongly_typed, precision):
        from ofa.latency.backends.fp16 import to_fp16

        onnx_bytes = to_fp16(onnx_bytes)
    logger = trt.Logger(trt.Logger.WARNING)
    builder = trt.Builder(logger)
    network = builder.create_network(0)  # explicit batch is the only mode since TensorRT 10
    parser = trt.OnnxParser(network, logger)
    if not parser.parse(onnx_bytes):
        errors = "; ".join(str(parser.get_error(i)) for i in range(parser.num_errors))
        raise OfaError(f"TensorRT could not parse the ONNX model: {' '.join(errors.split())}")
    if network.num_inputs != 1:
        raise OfaError(f"latency is measured on models with one input; this one has {network.num_inputs}")
    model_input = network.get_input(0)
    shape = check_input_shape(tuple(model_input.shape), input_shape, model_input.name)

    config = builder.create_builder_config()
    config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, WORKSPACE_BYTES)
    if precision == "fp16" and not strongly_typed:
        config.set_flag(trt.BuilderFlag.FP16)
    if any(d < 0 for d in model_input.shape):
        opt = builder.create_optimization_profile()
        low = (1, *shape[1:]) if max_batch else shape
        high = (max(max_batch, shape[0]), *shape[1:]) if max_batch else shape
        opt.set_shape(model_input.name, low, shape, high)
        config.add_optimization_profile(opt)
    serialized = builder.build_serialized_network(network, config)
    if serialized is None:
        raise OfaError("TensorRT could not build an engine for the model (its log above says why)")
    return bytes(serialized)


def _torch_dtype(torch: Any, trt_dtype: Any) -> Any:
    name = getattr(trt_dtype, "name", str(trt_dtype).rsplit(".", 1)[-1])
    table = {
        "FLOAT": torch.float32, "HALF": torch.float16, "BF16": torch.bfloat16,
        "INT32": torch.int32, "INT64": torch.int64, "INT8": torch.int8, "UINT8": torch.uint8,
        "BOOL": torch.bool,
    }
    if name not in table:
        raise OfaError(f"TensorRT tensor type {name} has no torch buffer type here")
    return table[name]


def time_engine(engine_bytes: bytes, input_shape: Sequence[int], warmup: int, iterations: int) -> LatencyStats:
    """Run the engine with execute_async_v3 on its own stream, each run between two CUDA events."""
    trt = _tensorrt()
    import torch

    logger = trt.Logger(trt.Logger.WARNING)
    runtime = trt.Runtime(logger)
    engine = runtime.deserialize_cuda_engine(engine_bytes)
    if engine is None:
        raise OfaError("TensorRT could not load the engine it built (its log above says why)")
    context = engine.create_execution_context()
    names = [engine.get_tensor_name(i) for i in range(engine.num_io_tensors)]
    inputs = [n for n in names if engine.get_tensor_mode(n) == trt.TensorIOMode.INPUT]
    for name in inputs:
        context.set_input_shape(name, tuple(int(d) for d in input_shape))
    generator = torch.Generator(device="cuda").manual_seed(0)
    buffers = {}  # kept alive for as long as the context reads them
    for name in names:
        shape = tuple(context.get_tensor_shape(name))
        dtype = _torch_dtype(torch, engine.get_tensor_dtype(name))
        if name in inputs and dtype.is_floating_point:
            buffers[name] = torch.randn(shape, generator=generator, device="cuda", dtype=dtype)
        else:
            buffers[name] = torch.zeros(shape, device="cuda", dtype=dtype)
        context.set_tensor_address(name, buffers[name].data_ptr())
    torch.cuda.synchronize()  # the buffers are filled on the default stream

    stream = torch.cuda.Stream()

    def run() -> None:
        if not context.execute_async_v3(stream.cuda_stream):
            raise OfaError("TensorRT failed to run the engine (its log above says why)")

    for _ in range(warmup):
        run()
    stream.synchronize()
    times = []
    for _ in range(iterations):
        start = torch.cuda.Event(enable_timing=True)
        end = torch.cuda.Event(enable_timing=True)
        start.record(stream)
        run()
        end.record(stream)
        end.synchronize()
        times.append(start.elapsed_time(end))
    return stats_from_times(times)


def measure(onnx_bytes: bytes, input_shape: Sequence[int], profile: "DeviceProfile") -> LatencyStats:
    """Build an engine at the profile's precision, then time `profile.iterations` runs."""
    _tensorrt()  # the install hint comes first, before any CUDA check
    reason = why_unavailable()
    if reason:
        raise OfaError(reason)
    engine = build_engine(onnx_bytes, input_shape, profile.precision)
    return time_engine(engine, input_shape, profile.warmup, profile.iterations)
