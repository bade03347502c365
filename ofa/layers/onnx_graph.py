"""Write ONNX graphs of static networks directly with onnx.helper.

`torch.onnx.export` takes seconds per network; a latency table needs hundreds of small graphs,
so every family emits the few operators its networks use itself (BatchNorm folded into Conv), in
milliseconds, through this emitter.
"""

from __future__ import annotations

import numpy as np
import onnx
import torch
from onnx import TensorProto, helper, numpy_helper

OPSET = 17


class Graph:
    """Collects nodes and initializers; every emit returns the name of its output."""

    def __init__(self, state: dict[str, torch.Tensor], eps: float = 1e-5):
        self.state = {k: v.detach().cpu().double().numpy() for k, v in state.items()}
        self.eps = eps  # of every BatchNorm folded into a convolution
        self.nodes: list[onnx.NodeProto] = []
        self.inits: list[onnx.TensorProto] = []
        self._count = 0

    def name(self, hint: str) -> str:
        self._count += 1
        return f"{hint}_{self._count}"

    def const(self, hint: str, value: np.ndarray) -> str:
        name = self.name(hint)
        self.inits.append(numpy_helper.from_array(value.astype(np.float32), name))
        return name

    def op(self, op_type: str, inputs: list[str], hint: str, **attrs) -> str:
        out = self.name(hint)
        self.nodes.append(helper.make_node(op_type, inputs, [out], **attrs))
        return out

    def act(self, x: str, kind: str | None) -> str:
        if kind is None:
            return x
        if kind == "relu6":
            return self.op("Clip", [x, self.const("min", np.array(0.0)), self.const("max", np.array(6.0))], kind)
        return self.op({"relu": "Relu", "hswish": "HardSwish"}[kind], [x], kind)

    def conv_bn(self, x: str, prefix: str, stride: int = 1, groups: int = 1, act: str | None = None) -> str:
        """Conv followed by BatchNorm, folded into one Conv with bias (inference form)."""
        w = self.state[f"{prefix}.conv.weight"]
        gamma, beta = self.state[f"{prefix}.bn.weight"], self.state[f"{prefix}.bn.bias"]
        mean, var = self.state[f"{prefix}.bn.running_mean"], self.state[f"{prefix}.bn.running_var"]
        scale = gamma / np.sqrt(var + self.eps)
        k = w.shape[-1]
        y = self.op(
            "Conv",
            [x, self.const("w", w * scale[:, None, None, None]), self.const("b", beta - mean * scale)],
            "conv", kernel_shape=[k, k], strides=[stride, stride], pads=[k // 2] * 4, group=groups,
        )
        return self.act(y, act)

    def model(self, x: str, y: str, in_shape: list[int], out_shape: list[int], name: str) -> onnx.ModelProto:
        graph = helper.make_graph(
            self.nodes, name,
            [helper.make_tensor_value_info(x, TensorProto.FLOAT, in_shape)],
            [helper.make_tensor_value_info(y, TensorProto.FLOAT, out_shape)],
            self.inits,
        )
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="ofa")
        model.ir_version = 8
        return model


def identity_onnx(shape: tuple[int, ...], batch_size: int = 1) -> onnx.ModelProto:
    """A model that returns its input: what running *any* model of this input size costs."""
    g = Graph({})
    y = g.op("Identity", ["input"], "same")
    full = [batch_size, *shape]
    return g.model("input", y, full, full, "ofa_identity")


def random_state(build, seed: int) -> dict[str, torch.Tensor]:
    """Weights of a freshly built module; only the shapes matter for timing, the seed for tests."""
    torch.manual_seed(seed)
    return build().eval().state_dict()
