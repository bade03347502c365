"""The data-set registry: the offline digits default, image folders, CIFAR's error path, and every
bad argument, all without network access."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from torch.utils.data import DataLoader

from ofa.data import DataSet, get_dataset, list_datasets
from ofa.data.splits import split_indices
from ofa.errors import OfaError

CLASS_NAMES = ("cat", "dog", "fox")
SIZES = ((20, 20), (40, 30))  # (width, height): one square, one landscape


def raises_one_line(match: str, *args, **kwargs) -> str:
    """get_dataset(*args, **kwargs) must fail with an OfaError of one line matching `match`."""
    with pytest.raises(OfaError, match=match) as info:
        get_dataset(*args, **kwargs)
    message = str(info.value)
    assert "\n" not in message and message.strip() == message
    return message


def write_classes(folder: Path, per_class: int, seed: int) -> None:
    """per_class small PNGs in each class folder, alternating square and landscape."""
    rng = np.random.default_rng(seed)
    for name in CLASS_NAMES:
        (folder / name).mkdir(parents=True)
        for i in range(per_class):
            w, h = SIZES[i % 2]
            pixels = rng.integers(0, 256, size=(h, w, 3), dtype=np.uint8)
            Image.fromarray(pixels).save(folder / name / f"{i}.png")


def val_items(ds: DataSet) -> list[int]:
    return list(ds.dataset.indices)


# -- registry -----------------------------------------------------------------------------------


def test_list_datasets_names_and_one_line_descriptions():
    listed = list_datasets()
    assert set(listed) == {"digits", "cifar10", "cifar100", "imagefolder"}
    assert next(iter(listed)) == "digits"
    for description in listed.values():
        assert description and "\n" not in description
    assert "imagefolder:PATH" in listed["imagefolder"]


def test_import_stays_light():
    import subprocess
    import sys

    code = "import sys, ofa.data; print(any(m in sys.modules for m in ('torchvision', 'sklearn')))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# -- digits -------------------------------------------------------------------------------------


@pytest.mark.parametrize("resolution", [16, 40])
def test_digits_shapes_dtype_labels(resolution):
    ds = get_dataset("digits", "train", resolution)
    assert (ds.name, ds.split, ds.num_classes) == ("digits", "train", 10)
    assert ds.classes == tuple("0123456789")
    image, label = ds.dataset[0]
    assert type(image) is torch.Tensor
    assert image.shape == (3, resolution, resolution) and image.dtype == torch.float32
    assert isinstance(label, int)
    images, labels = next(iter(DataLoader(ds.dataset, batch_size=64, shuffle=True)))
    assert images.shape == (64, 3, resolution, resolution)
    assert labels.min() >= 0 and labels.max() <= 9
    assert torch.isfinite(images).all()
    assert abs(images.mean().item()) < 0.5 and 0.5 < images.std().item() < 1.5  # normalised


def test_digits_split_sizes_stratified_and_deterministic():
    train = get_dataset("digits", "train", 8)
    val = get_dataset("digits", "val", 8)
    assert len(train) + len(val) == 1797
    assert 170 <= len(val) <= 190
    assert set(val.dataset.labels.tolist()) == set(range(10))  # every class is validated

    again = get_dataset("digits", "val", 8)
    assert torch.equal(again.dataset.images, val.dataset.images)
    assert torch.equal(again.dataset.labels, val.dataset.labels)
    other = get_dataset("digits", "val", 8, seed=1)
    assert not torch.equal(other.dataset.images, val.dataset.images)

    bigger = get_dataset("digits", "val", 8, val_fraction=0.3)
    assert 520 <= len(bigger) <= 560


def test_split_indices_disjoint_covering_stratified():
    labels = [i % 4 for i in range(103)]
    train, val = split_indices(labels, 0.2, seed=7)
    assert not set(train) & set(val)
    assert sorted(train + val) == list(range(103))
    assert train == sorted(train) and val == sorted(val)
    assert sorted({labels[i] for i in val}) == [0, 1, 2, 3]
    assert split_indices(labels, 0.2, seed=7) == (train, val)
    assert split_indices(labels, 0.2, seed=8) != (train, val)
    # a class of one stays in train; a class of two gives one to val, never both
    train, val = split_indices([0, 1, 1], 0.9, seed=0)
    assert 0 in train and len(val) == 1 and val[0] in (1, 2)


def test_digits_augment_changes_pixels_not_labels():
    plain = get_dataset("digits", "train", 24)
    augmented = get_dataset("digits", "train", 24, augment=True)
    torch.manual_seed(0)
    changed = 0
    for i in range(20):
        (x, y), (xa, ya) = plain.dataset[i], augmented.dataset[i]
        assert y == ya
        assert xa.shape == x.shape and torch.isfinite(xa).all()
        changed += not torch.allclose(x, xa)
    assert changed >= 18


# -- image folders ------------------------------------------------------------------------------


@pytest.mark.parametrize("val_name", ["val", "validation"])
def test_imagefolder_train_val_layout(tmp_path, val_name):
    write_classes(tmp_path / "train", per_class=6, seed=0)
    write_classes(tmp_path / val_name, per_class=2, seed=1)
    train = get_dataset(f"imagefolder:{tmp_path}", "train", 16)
    val = get_dataset(f"imagefolder:{tmp_path}", "val", 16)
    assert (len(train), len(val)) == (18, 6)
    assert train.classes == val.classes == CLASS_NAMES and train.num_classes == 3
    assert train.name == f"imagefolder:{tmp_path.resolve()}"
    assert sorted(val.dataset[i][1] for i in range(6)) == [0, 0, 1, 1, 2, 2]


@pytest.mark.parametrize("resolution", [16, 32, 45])
@pytest.mark.parametrize("augment", [False, True])
def test_imagefolder_output_is_exactly_square(tmp_path, resolution, augment):
    write_classes(tmp_path, per_class=2, seed=0)  # item 0 is 20x20, item 1 is 40x30
    spec = f"imagefolder:{tmp_path}"
    ds = get_dataset(spec, "train", resolution, augment=augment, val_fraction=0.5)
    full = ds.dataset.dataset
    for i in range(len(full)):
        image, label = full[i]
        assert image.shape == (3, resolution, resolution) and image.dtype == torch.float32
        assert type(image) is torch.Tensor and label in (0, 1, 2)


@pytest.mark.parametrize("layout", ["flat", "train_only"])
def test_imagefolder_split_it_yourself(tmp_path, layout):
    write_classes(tmp_path / "train" if layout == "train_only" else tmp_path, per_class=6, seed=0)
    spec = f"imagefolder:{tmp_path}"
    train = get_dataset(spec, "train", 16, val_fraction=0.34)
    val = get_dataset(spec, "val", 16, val_fraction=0.34)
    assert not set(val_items(train)) & set(val_items(val))
    assert sorted(val_items(train) + val_items(val)) == list(range(18))
    assert len(val) == 6 and sorted(val.dataset[i][1] for i in range(6)) == [0, 0, 1, 1, 2, 2]
    assert val_items(get_dataset(spec, "val", 16, val_fraction=0.34)) == val_items(val)
    assert val_items(get_dataset(spec, "val", 16, val_fraction=0.34, seed=1)) != val_items(val)


def test_imagefolder_errors(tmp_path):
    raises_one_line("not found", f"imagefolder:{tmp_path / 'nope'}", "train", 32)
    raises_one_line("needs a folder", "imagefolder", "train", 32)
    (tmp_path / "file.png").write_bytes(b"")
    raises_one_line("not a folder", f"imagefolder:{tmp_path / 'file.png'}", "train", 32)
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "notes.txt").write_text("no image here")
    raises_one_line("no images in", f"imagefolder:{tmp_path / 'empty'}", "train", 32)
    (tmp_path / "empty" / "sub").mkdir()
    raises_one_line("no images in class folder", f"imagefolder:{tmp_path / 'empty'}", "train", 32)

    write_classes(tmp_path / "classes", per_class=2, seed=0)
    (tmp_path / "classes" / "owl").mkdir()
    (tmp_path / "classes" / "owl" / "notes.txt").write_text("no image here")
    spec = f"imagefolder:{tmp_path / 'classes'}"
    msg = raises_one_line("no images in class folder", spec, "val", 32)
    assert "owl" in msg and ".png" in msg  # names the culprit and the extensions it looks for

    write_classes(tmp_path / "mismatch" / "train", per_class=2, seed=0)
    (tmp_path / "mismatch" / "val" / "cat").mkdir(parents=True)
    msg = raises_one_line("same class folders", f"imagefolder:{tmp_path / 'mismatch'}", "val", 32)
    assert "dog" in msg and "fox" in msg

    single = tmp_path / "single"
    for name in CLASS_NAMES:
        (single / name).mkdir(parents=True)
        Image.new("RGB", (8, 8)).save(single / name / "0.png")
    raises_one_line("too few images", f"imagefolder:{single}", "val", 32)


def test_a_folder_of_images_without_classes_serves_images_only(tmp_path):
    """What BatchNorm statistics need (`--calib-data`): every image of the folder, no labels, and no
    split to measure accuracy on."""
    for i in range(5):
        Image.new("RGB", (10 + i, 12), (40 * i, 0, 0)).save(tmp_path / f"{i}.jpg")
    (tmp_path / "readme.txt").write_text("not an image")
    train = get_dataset(f"imagefolder:{tmp_path}", "train", 16)
    assert len(train) == 5 and train.num_classes == 0 and train.classes == ()
    x, y = train.dataset[3]
    assert tuple(x.shape) == (3, 16, 16) and y == -1
    raises_one_line("no labels to measure accuracy with", f"imagefolder:{tmp_path}", "val", 16)


# -- CIFAR (never downloads) --------------------------------------------------------------------


@pytest.mark.parametrize("name", ["cifar10", "cifar100"])
def test_cifar_missing_files_say_how_to_get_them(tmp_path, name):
    msg = raises_one_line("not found", name, "train", 32, root=tmp_path)
    assert "--download" in msg and "--data-root" in msg and str(tmp_path) in msg
    assert list(tmp_path.iterdir()) == []  # nothing fetched, nothing created


def test_cifar_corrupt_files_are_reported(tmp_path):
    # torchvision checks each file's md5 even with download=False, so a hand-made batch folder
    # cannot stand in for the real one; it must be reported, not crash.
    batches = tmp_path / "cifar-10-batches-py"
    batches.mkdir()
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch", "batches.meta"]:
        (batches / name).write_bytes(b"not a pickle")
    raises_one_line("corrupted", "cifar10", "val", 32, root=tmp_path)


# -- bad arguments ------------------------------------------------------------------------------


def test_unknown_name_lists_known_ones():
    msg = raises_one_line("unknown data set 'mnist'", "mnist", "train", 32)
    for name in ("digits", "cifar10", "cifar100", "imagefolder:PATH"):
        assert name in msg


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"split": "test"}, "unknown split 'test'.*train, val"),
        ({"resolution": 0}, "resolution must be a positive"),
        ({"resolution": -8}, "resolution must be a positive"),
        ({"resolution": 31.5}, "resolution must be a positive"),
        ({"val_fraction": 0.0}, "val_fraction must be"),
        ({"val_fraction": 1.0}, "val_fraction must be"),
        ({"val_fraction": -0.2}, "val_fraction must be"),
        ({"val_fraction": "0.1"}, "val_fraction must be"),
    ],
)
def test_bad_arguments(kwargs, match):
    args = {"split": "train", "resolution": 32, **kwargs}
    split, resolution = args.pop("split"), args.pop("resolution")
    raises_one_line(match, "digits", split, resolution, **args)


def test_named_sets_take_no_argument():
    raises_one_line("takes no ':' argument", "digits:extra", "train", 32)
    raises_one_line("takes no ':' argument", "cifar10:/data", "train", 32)


def test_names_are_case_insensitive_and_numpy_ints_are_fine():
    ds = get_dataset("Digits", "val", np.int64(8))
    assert ds.name == "digits" and ds.dataset[0][0].shape == (3, 8, 8)
