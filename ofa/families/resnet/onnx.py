"""ONNX graphs of static ResNets, written with the shared emitter (ofa.layers.onnx_graph):
BatchNorm folded into each convolution, the shortcut's average pool in ceil mode as once-for-all's."""

from __future__ import annotations

from typing import Any

import onnx

from ofa.families.resnet.config import KERNEL, BottleneckConfig, ResNetConfig
from ofa.families.resnet.static import StaticResNet, part_module
from ofa.layers.onnx_graph import Graph, random_state
from ofa.layers.shapes import conv_out


def _stem_block(g: Graph, x: str, prefix: str) -> str:
    return g.op("Add", [x, g.conv_bn(x, f"{prefix}.conv", act="relu")], "stem_residual")


def _max_pool(g: Graph, x: str) -> str:
    return g.op("MaxPool", [x], "max_pool", kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1])


def _stem(g: Graph, x: str, cfg: ResNetConfig) -> str:
    x = g.conv_bn(x, "stem", cfg.stem.stride, act="relu")
    if cfg.stem_block is not None:
        x = _stem_block(g, x, "stem_block")
    x = g.conv_bn(x, "stem_out", act="relu")
    return _max_pool(g, x) if cfg.max_pool else x


def _bottleneck(g: Graph, x: str, prefix: str, b: BottleneckConfig) -> str:
    y = g.conv_bn(x, f"{prefix}.conv1", act="relu")
    y = g.conv_bn(y, f"{prefix}.conv2", b.stride, act="relu")
    y = g.conv_bn(y, f"{prefix}.conv3")
    skip = x
    if b.projects:
        if b.stride > 1:
            skip = g.op("AveragePool", [skip], "shortcut_pool", kernel_shape=[b.stride, b.stride],
                        strides=[b.stride, b.stride], ceil_mode=1)
        skip = g.conv_bn(skip, f"{prefix}.shortcut")
    return g.op("Relu", [g.op("Add", [y, skip], "residual")], "relu")


def _head(g: Graph, x: str, prefix: str) -> str:
    y = g.op("Flatten", [g.op("GlobalAveragePool", [x], "pool")], "flat", axis=1)
    return g.op("Gemm", [y, g.const("w", g.state[f"{prefix}.linear.weight"]),
                         g.const("b", g.state[f"{prefix}.linear.bias"])], "logits", transB=1)


def resnet_to_onnx(model: StaticResNet, batch_size: int = 1) -> onnx.ModelProto:
    """The whole network, input `input` (N, 3, R, R) -> output `logits` (N, classes)."""
    cfg = model.config
    g = Graph(model.state_dict(), cfg.bn_eps)
    x = _stem(g, "input", cfg)
    for i, b in enumerate(cfg.blocks):
        x = _bottleneck(g, x, f"blocks.{i}", b)
    _head(g, x, "head")
    g.nodes[-1].output[0] = "logits"
    return g.model("input", "logits", [batch_size, cfg.in_channels, cfg.resolution, cfg.resolution],
                   [batch_size, cfg.num_classes], "ofa_static_resnet")


def part_onnx(part: Any, batch_size: int = 1, seed: int = 0, eps: float = 1e-5) -> onnx.ModelProto:
    """One part (a parts.ResNetPart) with random weights (only its shapes matter for timing; the seed for tests)."""
    state = random_state(lambda: part_module(part, eps), seed)
    g = Graph({f"p.{k}": v for k, v in state.items()}, eps)
    channels, size, _ = part.input_shape
    if part.kind == "block":
        y, out = _bottleneck(g, "input", "p", part.block), [part.block.out_channels, conv_out(size, KERNEL, part.block.stride)]
    elif part.kind == "head":
        y, out = _head(g, "input", "p"), [part.num_classes]
    elif part.kind == "stem_block":
        y, out = _stem_block(g, "input", "p"), [channels, size]
    else:
        y = g.conv_bn("input", "p", part.conv.stride, act="relu")
        size = conv_out(size, KERNEL, part.conv.stride)
        if part.pool:
            y, size = _max_pool(g, y), conv_out(size, 3, 2)
        out = [part.conv.out_channels, size]
    shape = [batch_size, out[0]] + ([out[1], out[1]] if len(out) == 2 else [])
    return g.model("input", y, [batch_size, *part.input_shape], shape, f"ofa_resnet_{part.kind}")
