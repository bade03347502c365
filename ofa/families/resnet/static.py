"""Static ResNets built from a ResNetConfig: ordinary Conv/BN/ReLU layers, nothing elastic."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from ofa.families.resnet.config import KERNEL, BottleneckConfig, ConvConfig, ResNetConfig
from ofa.layers.static import conv_bn, drop_path


def conv_layer(c: ConvConfig, eps: float) -> nn.Sequential:
    return conv_bn(c.in_channels, c.out_channels, KERNEL, c.stride, act="relu", eps=eps)


def shortcut_pool(stride: int) -> nn.Module:
    """once-for-all's: average over stride x stride windows (ceil mode) before the 1x1 projection.
    Without padding, `count_include_pad` changes no number, but ONNX Runtime's CPU kernels run an
    exported AveragePool that counts padding ~30% slower per whole resnet-cifar subnet (BENCHMARKS.md,
    issue 27): off, the exported model runs as fast as the latency table's graphs predict."""
    return nn.AvgPool2d(stride, stride, 0, ceil_mode=True, count_include_pad=False) if stride > 1 else nn.Identity()


class StemBlock(nn.Module):
    """The stem's middle convolution, added to its input (no activation after the sum)."""

    def __init__(self, cfg: ConvConfig, eps: float):
        super().__init__()
        self.conv = conv_layer(cfg, eps)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv(x)


class Bottleneck(nn.Module):
    residual, drop_rate = True, 0.0  # see ofa.layers.residual

    def __init__(self, cfg: BottleneckConfig, eps: float = 1e-5):
        super().__init__()
        self.conv1 = conv_bn(cfg.in_channels, cfg.mid_channels, 1, act="relu", eps=eps)
        self.conv2 = conv_bn(cfg.mid_channels, cfg.mid_channels, KERNEL, cfg.stride, act="relu", eps=eps)
        self.conv3 = conv_bn(cfg.mid_channels, cfg.out_channels, 1, eps=eps)
        self.pool = shortcut_pool(cfg.stride) if cfg.projects else None
        self.shortcut = conv_bn(cfg.in_channels, cfg.out_channels, 1, eps=eps) if cfg.projects else None
        self.act = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        skip = self.shortcut(self.pool(x)) if self.shortcut is not None else x
        return self.act(drop_path(self.conv3(self.conv2(self.conv1(x))), self.drop_rate, self.training) + skip)

    @property
    def residual_bn(self) -> nn.Module:
        return self.conv3.bn


class Classifier(nn.Module):
    """Global average pool, dropout, fully connected."""

    def __init__(self, cin: int, num_classes: int, dropout: float):
        super().__init__()
        self.dropout = nn.Dropout(dropout)
        self.linear = nn.Linear(cin, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear(self.dropout(x.mean((2, 3))))


class StaticResNet(nn.Module):
    def __init__(self, cfg: ResNetConfig):
        super().__init__()
        self.config = cfg
        self.stem = conv_layer(cfg.stem, cfg.bn_eps)
        self.stem_block = StemBlock(cfg.stem_block, cfg.bn_eps) if cfg.stem_block else None
        self.stem_out = conv_layer(cfg.stem_out, cfg.bn_eps)
        self.pool = nn.MaxPool2d(3, 2, 1) if cfg.max_pool else nn.Identity()
        self.blocks = nn.Sequential(*[Bottleneck(b, cfg.bn_eps) for b in cfg.blocks])
        last = cfg.blocks[-1].out_channels if cfg.blocks else cfg.stem_out.out_channels
        self.head = Classifier(last, cfg.num_classes, cfg.dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem(x)
        if self.stem_block is not None:
            x = self.stem_block(x)
        return self.head(self.blocks(self.pool(self.stem_out(x))))


def part_module(part: Any, eps: float = 1e-5) -> nn.Module:
    """A part (a parts.ResNetPart) as a torch module (for backends that time PyTorch, and for its ONNX graph)."""
    if part.kind == "block":
        return Bottleneck(part.block, eps).eval()
    if part.kind == "head":
        return Classifier(part.head_in, part.num_classes, 0.0).eval()
    if part.kind == "stem_block":
        return StemBlock(part.conv, eps).eval()
    layer = conv_layer(part.conv, eps)
    if part.pool:
        layer.add_module("pool", nn.MaxPool2d(3, 2, 1))
    return layer.eval()
