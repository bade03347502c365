"""Plain static MobileNetV3-style networks built from a NetConfig: ordinary Conv/BN/activation
layers, nothing elastic, so they export to ONNX and deploy anywhere."""

from __future__ import annotations

import torch
from torch import nn

from ofa.layers.static import SqueezeExcite, conv_bn, drop_path, make_act
from ofa.families.mbconv.config import BlockConfig, NetConfig

class InvertedResidual(nn.Module):
    drop_rate = 0.0  # see ofa.layers.residual

    def __init__(self, cfg: BlockConfig, eps: float = 1e-5):
        super().__init__()
        self.residual = cfg.residual
        self.expand = conv_bn(cfg.in_channels, cfg.mid_channels, act=cfg.act, eps=eps) if cfg.expand else None
        self.depthwise = conv_bn(cfg.mid_channels, cfg.mid_channels, cfg.kernel, cfg.stride, cfg.mid_channels, cfg.act,
                                 eps)
        self.se = SqueezeExcite(cfg.mid_channels, cfg.se_channels) if cfg.se_channels else None
        self.project = conv_bn(cfg.mid_channels, cfg.out_channels, eps=eps)

    @property
    def residual_bn(self) -> nn.Module:
        return self.project.bn

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.expand(x) if self.expand is not None else x
        y = self.depthwise(y)
        if self.se is not None:
            y = self.se(y)
        y = self.project(y)
        return x + drop_path(y, self.drop_rate, self.training) if self.residual else y


class Head(nn.Module):
    """1x1 expand -> global pool -> 1x1 feature mix -> dropout -> classifier; `features` 0: no feature
    mix, the classifier reads the pool (ProxylessNAS)."""

    def __init__(self, cin: int, width: int, features: int, act: str, num_classes: int, dropout: float,
                 eps: float = 1e-5):
        super().__init__()
        self.expand = conv_bn(cin, width, act=act, eps=eps)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.mix = nn.Sequential(nn.Conv2d(width, features, 1, bias=False), make_act(act)) if features else nn.Identity()
        self.dropout = nn.Dropout(dropout)
        self.classifier = nn.Linear(features or width, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.mix(self.pool(self.expand(x))).flatten(1)
        return self.classifier(self.dropout(x))


class StaticNet(nn.Module):
    def __init__(self, cfg: NetConfig):
        super().__init__()
        self.config = cfg
        self.stem = conv_bn(cfg.in_channels, cfg.stem_width, 3, cfg.stem_stride, act=cfg.stem_act, eps=cfg.bn_eps)
        self.blocks = nn.Sequential(*[InvertedResidual(b, cfg.bn_eps) for b in cfg.blocks])
        self.head = Head(cfg.blocks[-1].out_channels, cfg.head_width, cfg.feature_width, cfg.head_act,
                         cfg.num_classes, cfg.dropout, cfg.bn_eps)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.blocks(self.stem(x)))
