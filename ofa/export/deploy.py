"""Deployment export of one static network: `torch.onnx.export` to a single self-contained file with
a dynamic batch, checked by the ONNX checker and against PyTorch through ONNX Runtime.

Latency tables time graphs written by `onnx_graph` (hundreds, in milliseconds); a user's model is
exported once, by PyTorch's own exporter. Both compute the same function (tests/test_export.py).
We call the TorchScript exporter (`dynamo=False`): the dynamo exporter needs onnxscript, which
neither this package nor the GPU machines ship, and it took several times longer per model."""

from __future__ import annotations

import warnings
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from ofa.errors import OfaError

# TensorRT 10 parses opsets 9-20; 17 has every op we emit (HardSwish, HardSigmoid, ReduceMean).
DEPLOY_OPSET = 17
INPUT, OUTPUT = "input", "logits"
# ONNX Runtime must match PyTorch elementwise within ATOL + RTOL * |PyTorch| (BatchNorm folding and
# another summation order move float32 logits by about 1e-6 of their size).
ATOL, RTOL = 1e-4, 1e-3
VERIFY_BATCHES = (1, 3)  # one and several images: the batch dimension really is dynamic
VERIFY_SEED = 0


def export_onnx(model: nn.Module, path: str | Path) -> Path:
    """Write `model` (eval mode, float32, CPU) as one ONNX file: input `input` (N, 3, R, R),
    output `logits` (N, classes), N dynamic, weights inside the file."""
    path = Path(path)
    cfg = model.config
    model = model.float().cpu().eval()
    example = torch.zeros(1, cfg.in_channels, cfg.resolution, cfg.resolution)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the exporter's deprecation notices say nothing about this model
        torch.onnx.export(model, (example,), str(path), dynamo=False, opset_version=DEPLOY_OPSET,
                          input_names=[INPUT], output_names=[OUTPUT], do_constant_folding=True,
                          dynamic_axes={INPUT: {0: "batch"}, OUTPUT: {0: "batch"}})
    check_onnx(path)
    return path


def check_onnx(path: Path) -> None:
    """The ONNX checker, and no tensor stored outside the file."""
    import onnx

    proto = onnx.load(str(path), load_external_data=False)
    external = [t.name for t in proto.graph.initializer if t.data_location == onnx.TensorProto.EXTERNAL]
    if external:
        raise OfaError(f"{path} keeps {len(external)} tensors in external files (first: {external[0]})")
    try:
        onnx.checker.check_model(proto, full_check=True)
    except onnx.checker.ValidationError as e:
        raise OfaError(f"{path} fails the ONNX checker: {str(e).splitlines()[0]}") from None


@dataclass(frozen=True)
class Verification:
    """How far ONNX Runtime's logits are from PyTorch's on fixed random inputs."""

    batches: tuple[int, ...]
    max_abs_diff: float
    atol: float
    rtol: float
    seed: int
    passed: bool

    def to_dict(self) -> dict:
        return asdict(self)


def verify_onnx(path: str | Path, model: nn.Module) -> Verification:
    """Run the file with plain ONNX Runtime on the CPU and compare with the PyTorch model."""
    import onnxruntime as ort

    cfg = model.config
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(VERIFY_SEED)
    worst, passed = 0.0, True
    for n in VERIFY_BATCHES:
        x = rng.standard_normal((n, cfg.in_channels, cfg.resolution, cfg.resolution)).astype(np.float32)
        with torch.no_grad():
            want = model.float().cpu().eval()(torch.from_numpy(x)).numpy()
        got = session.run([OUTPUT], {INPUT: x})[0]
        if got.shape != want.shape:
            raise OfaError(f"{path}: ONNX Runtime returns shape {got.shape} for batch {n}, PyTorch {want.shape}")
        diff = np.abs(got - want)
        worst = max(worst, float(diff.max()))
        passed &= bool((diff <= ATOL + RTOL * np.abs(want)).all())
    return Verification(VERIFY_BATCHES, worst, ATOL, RTOL, VERIFY_SEED, passed)
