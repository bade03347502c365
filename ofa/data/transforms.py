"""Per-image transforms of each kind of data set, and the statistics they normalise with.

torchvision is imported inside the builders: it takes seconds to import, and listing data sets
or reading an error message should not pay for it.
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
CIFAR10_MEAN = (0.4914, 0.4822, 0.4465)
CIFAR10_STD = (0.2470, 0.2435, 0.2616)
CIFAR100_MEAN = (0.5071, 0.4865, 0.4409)
CIFAR100_STD = (0.2673, 0.2564, 0.2762)
# Ink intensity of sklearn's 8x8 digits (0..16 scaled to 0..1), over all 1797 images.
DIGITS_MEAN = (0.3053,) * 3
DIGITS_STD = (0.3761,) * 3

Transform = Callable[[Any], Any]


def _finish(mean: Sequence[float], std: Sequence[float]) -> list:
    """The common tail: float in [0, 1], normalised, and a plain tensor (not a tv_tensors.Image)
    so callers never meet torchvision's tensor subclass."""
    import torch
    from torchvision.transforms import v2

    return [v2.ToDtype(torch.float32, scale=True), v2.Normalize(mean, std), v2.ToPureTensor()]


def digits_transform(resolution: int, augment: bool) -> Transform:
    """Upscale a 3 x 8 x 8 float tensor in [0, 1]; augmentation moves and slightly turns the
    digit but never mirrors it, since a mirrored digit is a different symbol (or none)."""
    from torchvision.transforms import v2

    steps: list = [v2.Resize((resolution, resolution), interpolation=v2.InterpolationMode.BILINEAR)]
    if augment:
        steps += [
            v2.RandomCrop(resolution, padding=max(1, resolution // 8), fill=0.0),
            v2.RandomAffine(degrees=10, scale=(0.9, 1.1), fill=0.0),
        ]
    return v2.Compose(steps + _finish(DIGITS_MEAN, DIGITS_STD))


def cifar_transform(
    resolution: int, augment: bool, mean: Sequence[float], std: Sequence[float]
) -> Transform:
    """The classic CIFAR recipe at its native 32 px, resized afterwards so the crop and flip
    mean the same whatever resolution the supernet is trained at."""
    from torchvision.transforms import v2

    steps: list = [v2.ToImage()]
    if augment:
        steps += [v2.RandomCrop(32, padding=4), v2.RandomHorizontalFlip()]
    if resolution != 32:
        steps.append(v2.Resize((resolution, resolution)))
    return v2.Compose(steps + _finish(mean, std))


def folder_transform(resolution: int, augment: bool) -> Transform:
    """ImageNet-style: a random crop of 35-100% of the area when training; otherwise resize the
    shorter side and crop the centre, so any image shape comes out exactly square."""
    from torchvision.transforms import v2

    steps: list = [v2.ToImage()]
    if augment:
        steps += [v2.RandomResizedCrop(resolution, scale=(0.35, 1.0)), v2.RandomHorizontalFlip()]
    else:
        steps += [v2.Resize(resolution), v2.CenterCrop(resolution)]
    return v2.Compose(steps + _finish(IMAGENET_MEAN, IMAGENET_STD))
