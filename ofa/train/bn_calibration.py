"""BatchNorm re-calibration: a subnet's BN statistics are re-estimated on training images,
because the running averages kept while training the supernet mix many subnets."""

from __future__ import annotations

from typing import Iterable

import torch
import torch.nn.functional as F
from torch import nn


def resize(x: torch.Tensor, resolution: int) -> torch.Tensor:
    """Images at the loader's size, brought to a subnet's resolution."""
    if x.shape[-1] == resolution and x.shape[-2] == resolution:
        return x
    return F.interpolate(x, size=(resolution, resolution), mode="bilinear", align_corners=False, antialias=True)


@torch.no_grad()
def recalibrate_bn(model: nn.Module, batches: Iterable, num_images: int, resolution: int,
                   device: torch.device | str = "cpu") -> int:
    """Reset every BN layer's statistics and re-estimate them as a plain (cumulative) average
    over `num_images` images; leaves the model in eval mode. Returns the images used."""
    norms = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    saved = [m.momentum for m in norms]
    for m in norms:
        m.reset_running_stats()
        m.momentum = None  # cumulative moving average: every batch weighs the same
    model.train()
    seen = 0
    try:
        for images, _ in batches:
            if seen >= num_images:
                break
            images = images[: num_images - seen].to(device)
            model(resize(images, resolution))
            seen += images.shape[0]
    finally:
        for m, momentum in zip(norms, saved):
            m.momentum = momentum
        model.eval()
    return seen
