"""ONNX graphs of MobileNetV3 static networks and of their parts, written with the shared emitter
(ofa.layers.onnx_graph). Tests check every graph against PyTorch with onnxruntime.
"""

from __future__ import annotations

import onnx
import torch

from ofa.layers.onnx_graph import Graph, random_state
from ofa.layers.static import conv_bn
from ofa.families.mbconv.config import BlockConfig, NetConfig, conv_out
from ofa.families.mbconv.static import Head, InvertedResidual, StaticNet


def _block(g: Graph, x: str, prefix: str, cfg: BlockConfig) -> str:
    y = g.conv_bn(x, f"{prefix}.expand", act=cfg.act) if cfg.expand else x
    y = g.conv_bn(y, f"{prefix}.depthwise", cfg.stride, cfg.mid_channels, cfg.act)
    if cfg.se_channels:
        s = g.op("GlobalAveragePool", [y], "pool")
        s = g.op("Conv", [s, g.const("w", g.state[f"{prefix}.se.reduce.weight"]),
                          g.const("b", g.state[f"{prefix}.se.reduce.bias"])], "se_reduce")
        s = g.op("Relu", [s], "relu")
        s = g.op("Conv", [s, g.const("w", g.state[f"{prefix}.se.expand.weight"]),
                          g.const("b", g.state[f"{prefix}.se.expand.bias"])], "se_expand")
        s = g.op("HardSigmoid", [s], "gate", alpha=1.0 / 6.0, beta=0.5)
        y = g.op("Mul", [y, s], "se")
    y = g.conv_bn(y, f"{prefix}.project")
    return g.op("Add", [x, y], "residual") if cfg.residual else y


def _head(g: Graph, x: str, prefix: str, act: str) -> str:
    y = g.conv_bn(x, f"{prefix}.expand", act=act)
    y = g.op("GlobalAveragePool", [y], "pool")
    if f"{prefix}.mix.0.weight" in g.state:  # no feature mix: the classifier reads the pool
        y = g.act(g.op("Conv", [y, g.const("w", g.state[f"{prefix}.mix.0.weight"])], "mix"), act)
    y = g.op("Flatten", [y], "flat", axis=1)
    return g.op("Gemm", [y, g.const("w", g.state[f"{prefix}.classifier.weight"]),
                         g.const("b", g.state[f"{prefix}.classifier.bias"])], "logits", transB=1)


def static_to_onnx(model: StaticNet, batch_size: int = 1) -> onnx.ModelProto:
    """The whole network, input `input` (N, 3, R, R) -> output `logits` (N, classes)."""
    cfg = model.config
    g = Graph(model.state_dict(), cfg.bn_eps)
    x = g.conv_bn("input", "stem", cfg.stem_stride, act=cfg.stem_act)
    for i, b in enumerate(cfg.blocks):
        x = _block(g, x, f"blocks.{i}", b)
    _head(g, x, "head", cfg.head_act)
    g.nodes[-1].output[0] = "logits"
    return g.model("input", "logits", [batch_size, cfg.in_channels, cfg.resolution, cfg.resolution],
                   [batch_size, cfg.num_classes], "ofa_static_net")


def block_onnx(cfg: BlockConfig, in_size: int, batch_size: int = 1, seed: int = 0,
               state: dict[str, torch.Tensor] | None = None, eps: float = 1e-5) -> onnx.ModelProto:
    """One inverted residual: a latency table entry (random weights, or the given block's `state`,
    whose BatchNorm has epsilon `eps`)."""
    state = state if state is not None else random_state(lambda: InvertedResidual(cfg, eps), seed)
    g = Graph({f"b.{k}": v for k, v in state.items()}, eps)
    y = _block(g, "input", "b", cfg)
    out = conv_out(in_size, cfg.kernel, cfg.stride)
    return g.model("input", y, [batch_size, cfg.in_channels, in_size, in_size],
                   [batch_size, cfg.out_channels, out, out], "ofa_block")


def stem_onnx(cfg: NetConfig, batch_size: int = 1, seed: int = 0,
              state: dict[str, torch.Tensor] | None = None) -> onnx.ModelProto:
    if state is None:
        state = random_state(lambda: conv_bn(cfg.in_channels, cfg.stem_width, 3, cfg.stem_stride, act=cfg.stem_act,
                                              eps=cfg.bn_eps), seed)
    g = Graph({f"stem.{k}": v for k, v in state.items()}, cfg.bn_eps)
    y = g.conv_bn("input", "stem", cfg.stem_stride, act=cfg.stem_act)
    out = conv_out(cfg.resolution, 3, cfg.stem_stride)
    return g.model("input", y, [batch_size, cfg.in_channels, cfg.resolution, cfg.resolution],
                   [batch_size, cfg.stem_width, out, out], "ofa_stem")


def head_onnx(cfg: NetConfig, in_size: int, batch_size: int = 1, seed: int = 0,
              state: dict[str, torch.Tensor] | None = None) -> onnx.ModelProto:
    cin = cfg.blocks[-1].out_channels
    if state is None:
        state = random_state(lambda: Head(cin, cfg.head_width, cfg.feature_width, cfg.head_act, cfg.num_classes, 0.0,
                                           cfg.bn_eps), seed)
    g = Graph({f"head.{k}": v for k, v in state.items()}, cfg.bn_eps)
    y = _head(g, "input", "head", cfg.head_act)
    return g.model("input", y, [batch_size, cin, in_size, in_size], [batch_size, cfg.num_classes], "ofa_head")
