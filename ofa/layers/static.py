"""Plain torch layers every family builds its static networks from."""

from __future__ import annotations

from collections import OrderedDict

import torch
from torch import nn


def make_act(name: str) -> nn.Module:
    return {"relu": nn.ReLU, "hswish": nn.Hardswish, "relu6": nn.ReLU6}[name]()


def conv_bn(cin: int, cout: int, k: int = 1, stride: int = 1, groups: int = 1, act: str | None = None,
            eps: float = 1e-5) -> nn.Sequential:
    layers = {
        "conv": nn.Conv2d(cin, cout, k, stride, k // 2, groups=groups, bias=False),
        "bn": nn.BatchNorm2d(cout, eps=eps),
    }
    if act:
        layers["act"] = make_act(act)
    return nn.Sequential(OrderedDict(layers))


class SqueezeExcite(nn.Module):
    """Channel gate: global pool -> 1x1 reduce -> ReLU -> 1x1 expand -> hard sigmoid."""

    def __init__(self, channels: int, hidden: int):
        super().__init__()
        self.reduce = nn.Conv2d(channels, hidden, 1, bias=True)
        self.act = nn.ReLU()
        self.expand = nn.Conv2d(hidden, channels, 1, bias=True)
        self.gate = nn.Hardsigmoid()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s = x.mean((2, 3), keepdim=True)
        return x * self.gate(self.expand(self.act(self.reduce(s))))


def drop_path(y: torch.Tensor, rate: float, training: bool) -> torch.Tensor:
    """Drop-connect (stochastic depth): zero a residual branch for a random `rate` of the samples
    and scale the rest up, so the expected output is unchanged. The identity when not training."""
    if not training or rate <= 0.0:
        return y
    keep = 1.0 - rate
    mask = torch.empty((y.shape[0], 1, 1, 1), dtype=y.dtype, device=y.device).bernoulli_(keep)
    return y * mask / keep
