"""Top-1 / top-5 accuracy and loss of one model on a data set (what every evaluation counts with)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

import torch
import torch.nn.functional as F
from torch import nn

from ofa.train.bn_calibration import resize


@dataclass(frozen=True)
class Accuracy:
    top1: float
    top5: float
    loss: float
    images: int


@torch.no_grad()
def evaluate(model: nn.Module, batches: Iterable, resolution: int, device: torch.device | str = "cpu") -> Accuracy:
    model.eval()
    correct1 = correct5 = images = 0
    loss = 0.0
    for x, y in batches:
        x, y = resize(x.to(device), resolution), y.to(device)
        logits = model(x).float()
        loss += F.cross_entropy(logits, y, reduction="sum").item()
        top = logits.topk(min(5, logits.shape[1]), dim=1).indices
        correct1 += (top[:, 0] == y).sum().item()
        correct5 += (top == y[:, None]).any(dim=1).sum().item()
        images += y.numel()
    if images == 0:
        return Accuracy(0.0, 0.0, 0.0, 0)
    return Accuracy(100.0 * correct1 / images, 100.0 * correct5 / images, loss / images, images)
