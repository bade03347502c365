"""The offline default: scikit-learn's 1797 handwritten 8x8 digits, bundled in its wheel.

Real images, ten classes, no download ever: enough to train and search a small supernet end to
end on a laptop or in CI.
"""

from __future__ import annotations

from functools import lru_cache

from ofa.data.dataset import DataSet, Request
from ofa.data.splits import split_indices
from ofa.data.transforms import digits_transform

CLASSES = tuple(str(d) for d in range(10))


@lru_cache(maxsize=1)
def _source():
    """All images as one 1797 x 3 x 8 x 8 float tensor in [0, 1], and the labels; read once per
    process (the upscaling happens per item, so no copy per resolution is kept)."""
    import torch
    from sklearn.datasets import load_digits

    bunch = load_digits()
    gray = torch.as_tensor(bunch.images, dtype=torch.float32) / 16.0
    images = gray.unsqueeze(1).repeat(1, 3, 1, 1)
    labels = torch.as_tensor(bunch.target, dtype=torch.int64)
    return images, labels


def load(req: Request) -> DataSet:
    """8x8 handwritten digits from scikit-learn, 10 classes, offline (the default)."""
    from ofa.data.tensors import TensorImages

    req.check_no_arg()
    images, labels = _source()
    train, val = split_indices(labels.tolist(), req.val_fraction, req.seed)
    keep = train if req.split == "train" else val
    dataset = TensorImages(
        images[keep], labels[keep], digits_transform(req.resolution, req.augment)
    )
    return DataSet("digits", req.split, dataset, len(CLASSES), CLASSES)
