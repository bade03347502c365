"""Measurement backends on real components: a small ONNX model built with onnx.helper, timed by
ONNX Runtime on this CPU; the fp16 converter checked against fp32 under ONNX Runtime; GPU and
TensorRT paths run for real where those exist and are skipped cleanly elsewhere."""

from __future__ import annotations

import dataclasses

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from ofa.devices import get_device
from ofa.errors import OfaError
from ofa.latency.backends import (
    BACKENDS,
    LatencyStats,
    backend_names,
    get_backend,
    stats_from_times,
    time_calls,
    to_fp16,
)
from ofa.latency.backends.tensorrt_engine import NOT_INSTALLED, needs_fp16_model

OPSET = 17
IR_VERSION = 9  # onnxruntime reads IR versions up to its own; onnx.helper would write the newest


def tiny_model(channels: int = 8, batch: str | int = "N", resolution: int = 16) -> bytes:
    """A MobileNetV3-like cell: Conv-BN-HardSwish, 1x1 Conv-Relu, SE (GAP-HardSigmoid-Mul),
    residual Add, GAP-Flatten-Gemm-MatMul-Reshape; random weights with a fixed seed."""
    rng = np.random.default_rng(0)

    def weight(name, shape, scale=0.2, positive=False):
        values = rng.standard_normal(shape) * scale
        return numpy_helper.from_array((np.abs(values) + 0.5 if positive else values).astype(np.float32), name)

    c = channels
    initializers = [
        weight("w", (c, 3, 3, 3)), weight("b", (c,)),
        weight("bn_scale", (c,), positive=True), weight("bn_bias", (c,)),
        weight("bn_mean", (c,)), weight("bn_var", (c,), positive=True),
        weight("w2", (c, c, 1, 1)), weight("fc", (c, 10)), weight("fc_b", (10,)), weight("proj", (10, 4)),
        numpy_helper.from_array(np.array([0, -1], dtype=np.int64), "shape"),
    ]
    nodes = [
        helper.make_node("Conv", ["x", "w", "b"], ["c1"], pads=[1, 1, 1, 1], strides=[2, 2]),
        helper.make_node("BatchNormalization", ["c1", "bn_scale", "bn_bias", "bn_mean", "bn_var"], ["bn"]),
        helper.make_node("HardSwish", ["bn"], ["hs"]),
        helper.make_node("Conv", ["hs", "w2"], ["c2"]),
        helper.make_node("Relu", ["c2"], ["r"]),
        helper.make_node("GlobalAveragePool", ["r"], ["pooled"]),
        helper.make_node("HardSigmoid", ["pooled"], ["gate"], alpha=1 / 6, beta=0.5),
        helper.make_node("Mul", ["r", "gate"], ["se"]),
        helper.make_node("Add", ["se", "hs"], ["res"]),
        helper.make_node("GlobalAveragePool", ["res"], ["feat"]),
        helper.make_node("Flatten", ["feat"], ["flat"]),
        helper.make_node("Gemm", ["flat", "fc", "fc_b"], ["logits"]),
        helper.make_node("MatMul", ["logits", "proj"], ["projected"]),
        helper.make_node("Reshape", ["projected", "shape"], ["y"]),
    ]
    graph = helper.make_graph(
        nodes, "tiny",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [batch, 3, resolution, resolution])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [batch, 4])],
        initializers,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], ir_version=IR_VERSION)
    onnx.checker.check_model(model, full_check=True)
    return model.SerializeToString()


@pytest.fixture(scope="module")
def model_bytes() -> bytes:
    return tiny_model()


def quick(name: str, **changes):
    """A shipped profile with few runs, so the tests stay fast."""
    return dataclasses.replace(get_device(name), **{"warmup": 2, "iterations": 7, **changes})


def run_cpu(onnx_bytes: bytes, x: np.ndarray) -> np.ndarray:
    import onnxruntime as ort

    session = ort.InferenceSession(onnx_bytes, providers=["CPUExecutionProvider"])
    return session.run(None, {session.get_inputs()[0].name: x})[0]


def assert_sane(stats: LatencyStats, runs: int) -> None:
    assert stats.runs == runs
    assert 0 < stats.p10_ms <= stats.median_ms <= stats.p90_ms
    assert stats.p10_ms <= stats.mean_ms


def cuda_available() -> bool:
    import torch

    return torch.cuda.is_available()


# -- the registry and the shared pieces ------------------------------------------------------

def test_registry_holds_every_backend_a_profile_may_name():
    assert set(backend_names()) == {"onnxruntime-cpu", "onnxruntime-cuda", "tensorrt", "torch-cuda", "imported"}
    for name, backend in BACKENDS.items():
        assert get_backend(name) is backend and backend.name == name
        assert isinstance(backend.version(), str) and backend.version()
        assert isinstance(backend.available(), bool)
        reason = backend.why_unavailable()
        assert reason is None or (isinstance(reason, str) and "\n" not in reason)
    assert get_backend("torch-cuda").measure_module is not None
    with pytest.raises(OfaError, match="unknown latency backend 'coreml'; known: onnxruntime-cpu"):
        get_backend("coreml")


def test_stats_from_times():
    stats = stats_from_times([10, 1, 2, 3, 4, 5, 6, 7, 8, 9])
    assert stats == LatencyStats(median_ms=5.5, p10_ms=pytest.approx(1.9), p90_ms=pytest.approx(9.1),
                                 mean_ms=5.5, runs=10)
    assert stats_from_times([2.5]) == LatencyStats(2.5, 2.5, 2.5, 2.5, 1)
    assert stats.to_dict()["runs"] == 10
    with pytest.raises(ValueError):
        stats_from_times([])
    with pytest.raises(ValueError):
        stats_from_times([1.0, float("nan")])


def test_time_calls_counts_warmup_and_timed_runs():
    calls = []
    times = time_calls(lambda: calls.append(1), warmup=3, iterations=4)
    assert len(calls) == 7 and len(times) == 4 and all(t >= 0 for t in times)


# -- onnxruntime-cpu --------------------------------------------------------------------------

def test_onnxruntime_cpu_measures_a_real_model(model_bytes):
    backend = get_backend("onnxruntime-cpu")
    assert backend.available()
    profile = quick("cpu", threads=1)
    assert_sane(backend.measure(model_bytes, profile.input_shape(16), profile), runs=7)


def test_onnxruntime_cpu_batch_and_fp16_profiles(model_bytes):
    backend = get_backend("onnxruntime-cpu")
    profile = quick("cpu", batch_size=2, precision="fp16", iterations=5)
    assert_sane(backend.measure(model_bytes, profile.input_shape(16), profile), runs=5)


def test_onnxruntime_cpu_rejects_a_shape_the_model_cannot_take(model_bytes):
    with pytest.raises(OfaError, match=r"input shape \[1, 3, 32, 32\] does not fit the model's input 'x'"):
        get_backend("onnxruntime-cpu").measure(model_bytes, (1, 3, 32, 32), quick("cpu"))


def test_onnxruntime_cpu_rejects_bytes_that_are_no_model():
    with pytest.raises(OfaError) as err:
        get_backend("onnxruntime-cpu").measure(b"not an onnx model", (1, 3, 16, 16), quick("cpu"))
    assert "onnxruntime could not load the model" in str(err.value) and "\n" not in str(err.value)


# -- the fp16 converter -------------------------------------------------------------------------

def test_fp16_model_matches_fp32_under_onnxruntime(model_bytes):
    half = to_fp16(model_bytes)
    model = onnx.load_from_string(half)
    onnx.checker.check_model(model, full_check=True)
    float_inits = [i.name for i in model.graph.initializer if i.data_type == TensorProto.FLOAT]
    assert float_inits == []
    assert model.graph.input[0].type.tensor_type.elem_type == TensorProto.FLOAT16
    assert model.graph.output[0].type.tensor_type.elem_type == TensorProto.FLOAT16
    shape = next(i for i in model.graph.initializer if i.name == "shape")
    assert shape.data_type == TensorProto.INT64  # integer tensors untouched

    x = np.random.default_rng(1).standard_normal((2, 3, 16, 16)).astype(np.float32)
    y32 = run_cpu(model_bytes, x)
    y16 = run_cpu(half, x.astype(np.float16))
    assert y16.dtype == np.float16 and y16.shape == y32.shape == (2, 4)
    np.testing.assert_allclose(y16.astype(np.float32), y32, rtol=2e-2, atol=2e-3)


def test_fp16_converts_constants_and_casts_and_clips():
    big = numpy_helper.from_array(np.array([1e6, -1e6, 0.5], dtype=np.float32), "big")
    nodes = [
        helper.make_node("Constant", [], ["k"], value_float=2.0),
        helper.make_node("Constant", [], ["t"],
                         value=numpy_helper.from_array(np.array([1.0, 2.0, 3.0], dtype=np.float32))),
        helper.make_node("Cast", ["x"], ["xf"], to=TensorProto.FLOAT),
        helper.make_node("Mul", ["xf", "k"], ["a"]),
        helper.make_node("Add", ["a", "t"], ["b"]),
        helper.make_node("Add", ["b", "big"], ["y"]),
    ]
    graph = helper.make_graph(
        nodes, "consts",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [3])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [3])],
        [big],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], ir_version=IR_VERSION)
    half = to_fp16(model.SerializeToString())
    onnx.checker.check_model(onnx.load_from_string(half), full_check=True)
    y = run_cpu(half, np.array([1.0, 2.0, 3.0], dtype=np.float16))
    assert y.dtype == np.float16
    np.testing.assert_allclose(y.astype(np.float32), [65504.0 + 3.0, -65504.0 + 6.0, 9.5], rtol=1e-3)
    assert np.isfinite(y).all()


def test_fp16_refuses_ops_it_does_not_know():
    graph = helper.make_graph(
        [helper.make_node("Resize", ["x", "", "scales"], ["y"])], "resize",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 1, 2, 2])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 1, 4, 4])],
        [numpy_helper.from_array(np.array([1, 1, 2, 2], dtype=np.float32), "scales")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], ir_version=IR_VERSION)
    with pytest.raises(OfaError, match=r"cannot convert the model to fp16: op\(s\) \['Resize'\]"):
        to_fp16(model.SerializeToString())
    with pytest.raises(OfaError, match="not a valid ONNX model"):
        to_fp16(b"\xff\xfe garbage")


def test_fp16_model_is_needed_only_where_the_fp16_builder_flag_is_gone():
    from types import SimpleNamespace

    from ofa.latency.backends.tensorrt_engine import strongly_typed_only

    trt10 = SimpleNamespace(BuilderFlag=SimpleNamespace(FP16=1, TF32=2), __version__="10.9")
    trt11 = SimpleNamespace(BuilderFlag=SimpleNamespace(TF32=2), __version__="11.0")
    assert not strongly_typed_only(trt10) and strongly_typed_only(trt11)
    assert needs_fp16_model(strongly_typed_only(trt11), "fp16")
    assert not needs_fp16_model(strongly_typed_only(trt10), "fp16")
    assert not needs_fp16_model(strongly_typed_only(trt11), "fp32")


# -- backends that need what this machine may lack: one-line errors ------------------------------

def test_onnxruntime_cuda_says_what_to_install(model_bytes):
    import onnxruntime

    if "CUDAExecutionProvider" in onnxruntime.get_available_providers():
        pytest.skip("onnxruntime-gpu is installed here")
    with pytest.raises(OfaError) as err:
        get_backend("onnxruntime-cuda").measure(model_bytes, (1, 3, 16, 16), quick("gpu-ort"))
    msg = str(err.value)
    assert "CUDAExecutionProvider" in msg and "pip install onnxruntime-gpu" in msg and "\n" not in msg


def test_torch_cuda_measures_modules_not_onnx(model_bytes):
    with pytest.raises(OfaError, match="torch-cuda measures torch modules, not ONNX models"):
        get_backend("torch-cuda").measure(model_bytes, (1, 3, 16, 16), quick("cuda-torch"))


def test_torch_cuda_without_cuda_is_one_line():
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    module = torch.nn.Conv2d(3, 4, 3)
    with pytest.raises(OfaError) as err:
        get_backend("torch-cuda").measure_module(module, (1, 3, 16, 16), quick("cuda-torch"))
    msg = str(err.value)
    assert "torch-cuda needs a CUDA GPU" in msg and "\n" not in msg


def test_tensorrt_missing_says_how_to_install(model_bytes):
    import importlib.util

    if importlib.util.find_spec("tensorrt") is not None:
        pytest.skip("TensorRT is installed here")
    backend = get_backend("tensorrt")
    assert backend.version() == "not installed" and not backend.available()
    with pytest.raises(OfaError) as err:
        backend.measure(model_bytes, (1, 3, 16, 16), quick("gpu-trt"))
    assert str(err.value) == "TensorRT is not installed: pip install 'ofa-deploy[tensorrt]'" == NOT_INSTALLED


# -- real GPU runs, where there is a GPU --------------------------------------------------------

@pytest.fixture
def cuda():
    if not cuda_available():
        pytest.skip("needs a CUDA GPU")


@pytest.fixture
def tensorrt(cuda):
    return pytest.importorskip("tensorrt")


@pytest.mark.gpu
@pytest.mark.parametrize("precision", ["fp32", "fp16"])
def test_torch_cuda_measures_a_module(cuda, precision):
    import torch

    module = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3, padding=1), torch.nn.BatchNorm2d(8),
                                 torch.nn.Hardswish(), torch.nn.AdaptiveAvgPool2d(1))
    stats = get_backend("torch-cuda").measure_module(module, (1, 3, 32, 32), quick("cuda-torch", precision=precision))
    assert_sane(stats, runs=7)
    assert next(module.parameters()).device.type == "cpu"  # the caller's module stays put


@pytest.mark.gpu
@pytest.mark.parametrize("precision", ["fp32", "fp16"])
def test_onnxruntime_cuda_measures_a_real_model(cuda, model_bytes, precision):
    backend = get_backend("onnxruntime-cuda")
    if not backend.available():
        pytest.skip(backend.why_unavailable())
    assert_sane(backend.measure(model_bytes, (1, 3, 16, 16), quick("gpu-ort", precision=precision)), runs=7)


@pytest.mark.gpu
@pytest.mark.tensorrt
@pytest.mark.parametrize("precision", ["fp32", "fp16"])
def test_tensorrt_builds_and_measures(tensorrt, model_bytes, precision):
    from ofa.latency.backends.tensorrt_engine import build_engine, strongly_typed_only

    engine_bytes = build_engine(model_bytes, (2, 3, 16, 16), precision)
    engine = tensorrt.Runtime(tensorrt.Logger(tensorrt.Logger.WARNING)).deserialize_cuda_engine(engine_bytes)
    assert engine is not None and engine.num_io_tensors == 2
    if needs_fp16_model(strongly_typed_only(tensorrt), precision):
        assert engine.get_tensor_dtype("x") == tensorrt.DataType.HALF
    profile = quick("gpu-trt", precision=precision)
    assert_sane(get_backend("tensorrt").measure(model_bytes, profile.input_shape(16), profile), runs=7)


@pytest.mark.gpu
@pytest.mark.tensorrt
def test_tensorrt_rejects_a_wrong_shape(tensorrt, model_bytes):
    with pytest.raises(OfaError, match="does not fit the model's input 'x'"):
        get_backend("tensorrt").measure(model_bytes, (1, 3, 32, 32), quick("gpu-trt"))
