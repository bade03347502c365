"""Write ONNX graphs of static networks directly with onnx.helper.

`torch.onnx.export` takes seconds per network; a latency table needs hundreds of small graphs,
so we emit the few operators our networks use ourselves (BatchNorm folded into Conv), in
milliseconds. Tests check every graph against PyTorch with onnxruntime.
"""

from __future__ import annotations

import numpy as np
import onnx
import torch
from onnx import TensorProto, helper, numpy_helper

from ofa.supernet.config import BlockConfig, NetConfig, conv_out
from ofa.supernet.static import Head, InvertedResidual, StaticNet, conv_bn

OPSET = 17


class _Graph:
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

    def block(self, x: str, prefix: str, cfg: BlockConfig) -> str:
        y = self.conv_bn(x, f"{prefix}.expand", act=cfg.act) if cfg.expand else x
        y = self.conv_bn(y, f"{prefix}.depthwise", cfg.stride, cfg.mid_channels, cfg.act)
        if cfg.se_channels:
            s = self.op("GlobalAveragePool", [y], "pool")
            s = self.op("Conv", [s, self.const("w", self.state[f"{prefix}.se.reduce.weight"]),
                                 self.const("b", self.state[f"{prefix}.se.reduce.bias"])], "se_reduce")
            s = self.op("Relu", [s], "relu")
            s = self.op("Conv", [s, self.const("w", self.state[f"{prefix}.se.expand.weight"]),
                                 self.const("b", self.state[f"{prefix}.se.expand.bias"])], "se_expand")
            s = self.op("HardSigmoid", [s], "gate", alpha=1.0 / 6.0, beta=0.5)
            y = self.op("Mul", [y, s], "se")
        y = self.conv_bn(y, f"{prefix}.project")
        return self.op("Add", [x, y], "residual") if cfg.residual else y

    def head(self, x: str, prefix: str, act: str) -> str:
        y = self.conv_bn(x, f"{prefix}.expand", act=act)
        y = self.op("GlobalAveragePool", [y], "pool")
        if f"{prefix}.mix.0.weight" in self.state:  # no feature mix: the classifier reads the pool
            y = self.act(self.op("Conv", [y, self.const("w", self.state[f"{prefix}.mix.0.weight"])], "mix"), act)
        y = self.op("Flatten", [y], "flat", axis=1)
        return self.op("Gemm", [y, self.const("w", self.state[f"{prefix}.classifier.weight"]),
                                self.const("b", self.state[f"{prefix}.classifier.bias"])], "logits", transB=1)

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


def static_to_onnx(model: StaticNet, batch_size: int = 1) -> onnx.ModelProto:
    """The whole network, input `input` (N, 3, R, R) -> output `logits` (N, classes)."""
    cfg = model.config
    g = _Graph(model.state_dict(), cfg.bn_eps)
    x = g.conv_bn("input", "stem", cfg.stem_stride, act=cfg.stem_act)
    for i, b in enumerate(cfg.blocks):
        x = g.block(x, f"blocks.{i}", b)
    g.head(x, "head", cfg.head_act)
    g.nodes[-1].output[0] = "logits"
    return g.model("input", "logits", [batch_size, cfg.in_channels, cfg.resolution, cfg.resolution],
                   [batch_size, cfg.num_classes], "ofa_static_net")


def identity_onnx(shape: tuple[int, ...], batch_size: int = 1) -> onnx.ModelProto:
    """A model that returns its input: what running *any* model of this input size costs."""
    g = _Graph({})
    y = g.op("Identity", ["input"], "same")
    full = [batch_size, *shape]
    return g.model("input", y, full, full, "ofa_identity")


def _random_state(build, seed: int) -> dict[str, torch.Tensor]:
    """Weights of a freshly built module; only the shapes matter for timing, the seed for tests."""
    torch.manual_seed(seed)
    return build().eval().state_dict()


def block_onnx(cfg: BlockConfig, in_size: int, batch_size: int = 1, seed: int = 0,
               state: dict[str, torch.Tensor] | None = None, eps: float = 1e-5) -> onnx.ModelProto:
    """One inverted residual: a latency table entry (random weights, or the given block's `state`,
    whose BatchNorm has epsilon `eps`)."""
    state = state if state is not None else _random_state(lambda: InvertedResidual(cfg, eps), seed)
    g = _Graph({f"b.{k}": v for k, v in state.items()}, eps)
    y = g.block("input", "b", cfg)
    out = conv_out(in_size, cfg.kernel, cfg.stride)
    return g.model("input", y, [batch_size, cfg.in_channels, in_size, in_size],
                   [batch_size, cfg.out_channels, out, out], "ofa_block")


def stem_onnx(cfg: NetConfig, batch_size: int = 1, seed: int = 0,
              state: dict[str, torch.Tensor] | None = None) -> onnx.ModelProto:
    if state is None:
        state = _random_state(lambda: conv_bn(cfg.in_channels, cfg.stem_width, 3, cfg.stem_stride, act=cfg.stem_act,
                                              eps=cfg.bn_eps), seed)
    g = _Graph({f"stem.{k}": v for k, v in state.items()}, cfg.bn_eps)
    y = g.conv_bn("input", "stem", cfg.stem_stride, act=cfg.stem_act)
    out = conv_out(cfg.resolution, 3, cfg.stem_stride)
    return g.model("input", y, [batch_size, cfg.in_channels, cfg.resolution, cfg.resolution],
                   [batch_size, cfg.stem_width, out, out], "ofa_stem")


def head_onnx(cfg: NetConfig, in_size: int, batch_size: int = 1, seed: int = 0,
              state: dict[str, torch.Tensor] | None = None) -> onnx.ModelProto:
    cin = cfg.blocks[-1].out_channels
    if state is None:
        state = _random_state(lambda: Head(cin, cfg.head_width, cfg.feature_width, cfg.head_act, cfg.num_classes, 0.0,
                                           cfg.bn_eps), seed)
    g = _Graph({f"head.{k}": v for k, v in state.items()}, cfg.bn_eps)
    y = g.head("input", "head", cfg.head_act)
    return g.model("input", y, [batch_size, cin, in_size, in_size], [batch_size, cfg.num_classes], "ofa_head")
