"""An external teacher for distillation: a frozen static model of the data set's classes."""

from __future__ import annotations

import torch
from torch import nn

from ofa.errors import OfaError


def load_teacher(path: str | None, device: torch.device, num_classes: int) -> nn.Module | None:
    """A frozen static model; its classes must be the data set's, or distillation is meaningless."""
    if path is None:
        return None
    from ofa.supernet import load_static

    teacher = load_static(path)
    if teacher.config.num_classes != num_classes:
        raise OfaError(f"teacher {path} predicts {teacher.config.num_classes} classes but the data set "
                       f"has {num_classes}; use a teacher trained on the same classes")
    teacher = teacher.to(device).eval()
    for p in teacher.parameters():
        p.requires_grad_(False)
    return teacher
