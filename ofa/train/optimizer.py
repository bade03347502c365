"""The training optimizer a recipe names: SGD (momentum, Nesterov) or AdamW, with BatchNorm weights
and biases out of weight decay when the recipe says so (as once-for-all does)."""

from __future__ import annotations

import torch
from torch import nn

from ofa.train.recipe import Recipe


def _param_groups(model: nn.Module, weight_decay: float, no_decay_bn_bias: bool) -> list[dict]:
    decay, plain = [], []
    for name, p in model.named_parameters():
        (plain if no_decay_bn_bias and (p.ndim <= 1 or name.endswith(".bias")) else decay).append(p)
    return [{"params": decay, "weight_decay": weight_decay}, {"params": plain, "weight_decay": 0.0}]


def build_optimizer(model: nn.Module, recipe: Recipe) -> torch.optim.Optimizer:
    cfg = recipe.optimizer
    groups = _param_groups(model, cfg.weight_decay, cfg.no_decay_bn_bias)
    if cfg.name == "adamw":
        return torch.optim.AdamW(groups, lr=0.0, betas=tuple(cfg.betas), eps=cfg.eps)
    return torch.optim.SGD(groups, lr=0.0, momentum=cfg.momentum, nesterov=cfg.nesterov and cfg.momentum > 0)
