"""A user's own images, one sub-folder per class, read with torchvision's ImageFolder.

Two layouts are accepted: PATH/train + PATH/val (or PATH/validation), used as they are; or
class folders with no validation set (PATH/train alone, or PATH itself), which are split here
the same way on every call so "train" and "val" never share an image.

A folder that holds images and no sub-folders is unlabelled: its "train" split is every image,
for what needs images only (BatchNorm statistics, `--calib-data`); it has no "val" split.
"""

from __future__ import annotations

import os
from pathlib import Path

from ofa.data.dataset import DataSet, Request
from ofa.data.splits import split_indices
from ofa.data.transforms import folder_transform
from ofa.errors import OfaError

VAL_NAMES = ("val", "validation")


def find_layout(path: Path) -> tuple[Path, Path | None]:
    """(folder of training classes, folder of validation classes or None when we must split)."""
    train = path / "train"
    if not train.is_dir():
        return path, None
    for name in VAL_NAMES:
        if (path / name).is_dir():
            return train, path / name
    return train, None


def class_folders(folder: Path) -> list[str]:
    """Sorted sub-folder names, the order ImageFolder numbers the classes in."""
    names = sorted(p.name for p in folder.iterdir() if p.is_dir())
    if not names:
        raise OfaError(
            f"no class sub-folders in {folder}; expected {folder}/<class>/<image>, "
            f"or train/ and val/ folders holding those"
        )
    return names


def _check_images(folder: Path) -> None:
    """Every class folder must hold an image ImageFolder can read; the walk stops at the first
    one, so this stays cheap on a large data set."""
    from torchvision.datasets.folder import IMG_EXTENSIONS

    def has_image(cls: Path) -> bool:
        walk = os.walk(cls, followlinks=True)  # as ImageFolder walks
        return any(name.lower().endswith(IMG_EXTENSIONS) for _, _, names in walk for name in names)

    empty = [name for name in class_folders(folder) if not has_image(folder / name)]
    if empty:
        raise OfaError(
            f"no images in class folder(s) {', '.join(empty)} of {folder}; "
            f"looked for {', '.join(IMG_EXTENSIONS)}"
        )


def _image_names(folder: Path) -> list[Path]:
    from torchvision.datasets.folder import IMG_EXTENSIONS

    return sorted(p for p in folder.iterdir() if p.is_file() and p.name.lower().endswith(IMG_EXTENSIONS))


def read_image(path: str):
    """An image as RGB, or one line naming the file that is not one (a user's folder may hold a
    truncated or mislabelled file; it stops the work with its name, not a traceback)."""
    from torchvision.datasets.folder import default_loader

    try:
        return default_loader(path)
    except (OSError, ValueError, SyntaxError) as e:  # PIL: UnidentifiedImageError, truncated, bad headers
        raise OfaError(f"{path}: not a readable image ({type(e).__name__})") from None


class UnlabelledImages:
    """Images of one folder, each with the label -1 (a map-style data set for a DataLoader)."""

    def __init__(self, files: list[Path], transform):
        self.files, self.transform = files, transform

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, index: int):
        return self.transform(read_image(str(self.files[index]))), -1


def _unlabelled(path: Path, req: Request) -> DataSet:
    from torchvision.datasets.folder import IMG_EXTENSIONS

    files = _image_names(path)
    if not files:
        raise OfaError(f"no images in {path}: expected image files ({', '.join(IMG_EXTENSIONS)}) or class "
                       f"sub-folders holding them")
    if req.split != "train":
        raise OfaError(f"{path} holds images without class folders: no labels to measure accuracy with "
                       f"(such a folder serves --calib-data; labelled data is PATH/<class>/<image>)")
    return DataSet(f"imagefolder:{path}", req.split, UnlabelledImages(files, folder_transform(req.resolution, False)),
                   0, ())


def _image_folder(folder: Path, resolution: int, augment: bool):
    from torchvision.datasets import ImageFolder

    _check_images(folder)
    try:
        return ImageFolder(str(folder), transform=folder_transform(resolution, augment), loader=read_image)
    except FileNotFoundError as e:  # the folder changed under us since the check
        reason = " ".join(str(e).split())
        raise OfaError(f"{folder}: {reason}") from None


def load(req: Request) -> DataSet:
    """Your own images: imagefolder:PATH, one sub-folder per class (or train/ and val/ inside)."""
    if not req.arg:
        raise OfaError("imagefolder needs a folder: imagefolder:PATH")
    try:
        path = Path(req.arg).expanduser().resolve()
    except (RuntimeError, OSError) as e:  # a loop of links
        raise OfaError(f"imagefolder:{req.arg}: {getattr(e, 'strerror', None) or e}") from None
    if not path.exists():
        raise OfaError(f"image folder not found: {path}")
    if not path.is_dir():
        raise OfaError(f"not a folder: {path} (imagefolder:PATH wants a folder of class folders)")
    if not any(p.is_dir() and not p.name.startswith(".") for p in path.iterdir()):  # .ipynb_checkpoints, ...
        return _unlabelled(path, req)
    train_dir, val_dir = find_layout(path)
    name = f"imagefolder:{path}"

    if val_dir is not None:
        train_classes, val_classes = class_folders(train_dir), class_folders(val_dir)
        if train_classes != val_classes:
            # ImageFolder numbers each folder's classes on its own, so a mismatch would
            # silently give the same label number to different classes.
            only_train = sorted(set(train_classes) - set(val_classes)) or ["-"]
            only_val = sorted(set(val_classes) - set(train_classes)) or ["-"]
            raise OfaError(
                f"{train_dir} and {val_dir} must hold the same class folders; "
                f"only in {train_dir.name}/: {', '.join(only_train)}; "
                f"only in {val_dir.name}/: {', '.join(only_val)}"
            )
        folder = train_dir if req.split == "train" else val_dir
        dataset = _image_folder(folder, req.resolution, req.augment)
        classes = tuple(dataset.classes)
        return DataSet(name, req.split, dataset, len(classes), classes)

    from torch.utils.data import Subset

    full = _image_folder(train_dir, req.resolution, req.augment)
    train, val = split_indices(full.targets, req.val_fraction, req.seed)
    if not val:
        raise OfaError(
            f"{train_dir}: too few images to split off a validation set (no class has two or "
            f"more; {len(full)} in all); add images or a val/ folder"
        )
    classes = tuple(full.classes)
    dataset = Subset(full, train if req.split == "train" else val)
    return DataSet(name, req.split, dataset, len(classes), classes)
