"""BatchNorm re-calibration: a subnet's BN statistics are re-estimated on images (the run's training
images, or those given with --calib-data), because the running averages kept while training the
supernet mix many subnets (and an imported supernet's checkpoint holds none for its subnets)."""

from __future__ import annotations

from typing import Callable, Iterable

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
                   device: torch.device | str = "cpu", progress: Callable[[str, int, int], None] | None = None) -> int:
    """Re-estimate every BN layer's statistics on `num_images` images, as once-for-all does
    (`set_running_statistics`): each layer normalises with its batch's own statistics, and keeps the
    average of the batch means and of the (biased) batch variances, each batch weighted by its
    images. Leaves the model in eval mode; returns the images used."""
    norms = [m for m in model.modules() if isinstance(m, nn.BatchNorm2d)]
    sums: dict[nn.Module, list] = {m: [0.0, 0.0, 0] for m in norms}

    def record(module: nn.Module, inputs: tuple) -> None:
        x = inputs[0].float()
        n = x.shape[0]
        sums[module][0] = sums[module][0] + x.mean((0, 2, 3)) * n
        sums[module][1] = sums[module][1] + x.var((0, 2, 3), unbiased=False) * n
        sums[module][2] += n

    hooks = [m.register_forward_pre_hook(record) for m in norms]
    saved = [m.momentum for m in norms]
    for m in norms:
        m.momentum = 0.0  # the running averages stay put until set below
    model.train()
    seen = 0
    try:
        for images, _ in batches:
            if seen >= num_images:
                break
            images = images[: num_images - seen].to(device)
            model(resize(images, resolution))
            seen += images.shape[0]
            if progress:
                progress("BN statistics", seen, num_images)
    finally:
        for h in hooks:
            h.remove()
        for m, momentum in zip(norms, saved):
            m.momentum = momentum
            mean_sum, var_sum, n = sums[m]
            if n:
                c = mean_sum.shape[0]
                m.running_mean[:c] = (mean_sum / n).to(m.running_mean.dtype)
                m.running_var[:c] = (var_sum / n).to(m.running_var.dtype)
        model.eval()
    return seen
