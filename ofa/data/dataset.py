"""The two values that cross the registry boundary: what a loader is asked for, what it returns."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ofa.errors import OfaError

if TYPE_CHECKING:  # torch stays out of `import ofa.data`; only the loaders need it
    from torch.utils.data import Dataset

SPLITS = ("train", "val")


@dataclass(frozen=True)
class DataSet:
    """One split of one data set, ready for a DataLoader.

    `dataset` yields (normalised float tensor C x H x W, int label); `classes` is kept beside it
    so a trained network can be saved with the names of what it predicts.
    """

    name: str
    split: str
    dataset: Dataset
    num_classes: int
    classes: tuple[str, ...]

    def __post_init__(self) -> None:
        if self.num_classes != len(self.classes):
            raise ValueError(f"num_classes={self.num_classes} but {len(self.classes)} class names")

    def __len__(self) -> int:
        return len(self.dataset)


@dataclass(frozen=True)
class Request:
    """The already-checked arguments of get_dataset, handed to a loader as one value.

    `arg` is what followed the ':' in the spec ("" when there was none), e.g. the folder of
    `imagefolder:PATH`.
    """

    name: str
    arg: str
    split: str
    resolution: int
    augment: bool
    root: Path
    download: bool
    val_fraction: float
    seed: int

    def check_no_arg(self) -> None:
        """Named data sets take nothing after ':'; a stray one is a typo worth reporting."""
        if self.arg:
            raise OfaError(
                f"data set '{self.name}' takes no ':' argument (got '{self.name}:{self.arg}')"
            )
