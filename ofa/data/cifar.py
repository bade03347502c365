"""CIFAR-10 and CIFAR-100 through torchvision; "val" is the official 10,000-image test set."""

from __future__ import annotations

from typing import Sequence

from ofa.data.dataset import DataSet, Request
from ofa.data.transforms import (
    CIFAR10_MEAN,
    CIFAR10_STD,
    CIFAR100_MEAN,
    CIFAR100_STD,
    cifar_transform,
)
from ofa.errors import OfaError


def _load(req: Request, cls_name: str, mean: Sequence[float], std: Sequence[float]) -> DataSet:
    import torchvision.datasets

    req.check_no_arg()
    cls = getattr(torchvision.datasets, cls_name)
    transform = cifar_transform(req.resolution, req.augment, mean, std)
    try:
        dataset = cls(
            str(req.root), train=req.split == "train", transform=transform, download=req.download
        )
    except RuntimeError:
        # torchvision checks the md5 of every file and says only "not found or corrupted".
        raise OfaError(
            f"{req.name} not found (or corrupted) under {req.root}/{cls.base_folder}; "
            f"pass --download to fetch it, or --data-root pointing at a folder that holds "
            f"{cls.base_folder}"
        ) from None
    except OSError as e:  # network failures (URLError is an OSError) and unwritable roots
        reason = str(e).replace("\n", " ")
        raise OfaError(f"could not download {req.name} into {req.root}: {reason}") from None
    classes = tuple(dataset.classes)
    return DataSet(req.name, req.split, dataset, len(classes), classes)


def load_cifar10(req: Request) -> DataSet:
    """CIFAR-10: 60,000 32x32 colour photos, 10 classes (needs --download once)."""
    return _load(req, "CIFAR10", CIFAR10_MEAN, CIFAR10_STD)


def load_cifar100(req: Request) -> DataSet:
    """CIFAR-100: 60,000 32x32 colour photos, 100 classes (needs --download once)."""
    return _load(req, "CIFAR100", CIFAR100_MEAN, CIFAR100_STD)
