"""The one registry of data sets: a spec names a loader, and `name:ARG` hands it an argument."""

from __future__ import annotations

from numbers import Integral, Real
from pathlib import Path
from typing import Callable

from ofa.data import cifar, digits, folders
from ofa.data.dataset import SPLITS, DataSet, Request
from ofa.errors import OfaError

DEFAULT_ROOT = Path("~/.cache/ofa/data")

# name -> loader; the first line of each loader's docstring is what `ofa data list` shows.
_LOADERS: dict[str, Callable[[Request], DataSet]] = {
    "digits": digits.load,
    "cifar10": cifar.load_cifar10,
    "cifar100": cifar.load_cifar100,
    "imagefolder": folders.load,
}


def list_datasets() -> dict[str, str]:
    """name -> one-line description, in the order they are worth trying."""
    return {name: loader.__doc__.strip().splitlines()[0] for name, loader in _LOADERS.items()}


def _check(split: str, resolution: int, val_fraction: float) -> None:
    if split not in SPLITS:
        raise OfaError(f"unknown split '{split}'; expected one of: {', '.join(SPLITS)}")
    if isinstance(resolution, bool) or not isinstance(resolution, Integral) or resolution <= 0:
        raise OfaError(f"resolution must be a positive whole number of pixels, got {resolution!r}")
    if isinstance(val_fraction, bool) or not isinstance(val_fraction, Real):
        raise OfaError(f"val_fraction must be a number, got {val_fraction!r}")
    if not 0 < val_fraction < 1:
        raise OfaError(f"val_fraction must be between 0 and 1 (exclusive), got {val_fraction!r}")


def get_dataset(
    spec: str,
    split: str,
    resolution: int,
    *,
    augment: bool = False,
    root: str | Path | None = None,
    download: bool = False,
    val_fraction: float = 0.1,
    seed: int = 0,
) -> DataSet:
    """One split of the data set `spec` ("digits", "cifar10", "imagefolder:PATH", ...) at
    `resolution` x `resolution` pixels.

    `root` is where downloadable sets live (default ~/.cache/ofa/data); `val_fraction` and
    `seed` fix the train/val split of sets that have no validation set of their own.
    """
    name, _, arg = str(spec).partition(":")
    name = name.strip().lower()
    loader = _LOADERS.get(name)
    if loader is None:
        raise OfaError(
            f"unknown data set '{spec}'; known: {', '.join(_LOADERS)} "
            f"(as imagefolder:PATH for a folder of your own images)"
        )
    _check(split, resolution, val_fraction)
    request = Request(
        name=name,
        arg=arg.strip(),
        split=split,
        resolution=int(resolution),
        augment=bool(augment),
        root=Path(root if root is not None else DEFAULT_ROOT).expanduser(),
        download=bool(download),
        val_fraction=float(val_fraction),
        seed=int(seed),
    )
    return loader(request)
