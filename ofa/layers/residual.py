"""What training does to residual blocks of any family: each block with an identity or projected
shortcut has `residual` True, a `drop_rate` and `residual_bn` (the last BatchNorm of its branch)."""

from __future__ import annotations

import torch
from torch import nn


def residual_blocks(model: nn.Module) -> list[nn.Module]:
    """The residual blocks, static or elastic, in the order they run."""
    return [m for m in model.modules() if getattr(m, "residual", False) and hasattr(m, "residual_bn")]


def set_drop_connect(model: nn.Module, rate: float) -> None:
    """Drop-connect on every residual block, growing linearly with depth up to `rate` (EfficientNet)."""
    blocks = residual_blocks(model)
    for i, block in enumerate(blocks):
        block.drop_rate = rate * (i + 1) / len(blocks)


@torch.no_grad()
def zero_init_residual_bn(model: nn.Module) -> None:
    """Start every residual branch at zero: its last BatchNorm scale at zero (BigNAS)."""
    for block in residual_blocks(model):
        block.residual_bn.weight.zero_()
