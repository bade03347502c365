"""A map-style dataset over images already in memory, transformed one item at a time."""

from __future__ import annotations

from typing import Any, Callable

import torch
from torch.utils.data import Dataset


class TensorImages(Dataset):
    """(transform(images[i]), int(labels[i])).

    The transform runs per item rather than once up front so augmentation differs every epoch
    and a large resolution costs no memory; `images` is shared, never written to.
    """

    def __init__(
        self, images: torch.Tensor, labels: torch.Tensor, transform: Callable[[Any], Any]
    ) -> None:
        if len(images) != len(labels):
            raise ValueError(f"{len(images)} images but {len(labels)} labels")
        self.images = images
        self.labels = labels
        self.transform = transform

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        return self.transform(self.images[index]), int(self.labels[index])
