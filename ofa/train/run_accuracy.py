"""The accuracy of a run's subnets: its weights loaded, BatchNorm statistics recalibrated per
subnet, top-1 and top-5 on any data set (a finished or an interrupted run)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import nn

from ofa.errors import OfaError
from ofa.spaces import Subnet, get_space, to_subnet
from ofa.supernet import build_supernet
from ofa.train.bn_calibration import recalibrate_bn, resize
from ofa.train.checkpoint import load_checkpoint
from ofa.train.accuracy import evaluate
from ofa.train.recipes import load_recipe
from ofa.train.run_folder import RunFolder


def load_supernet(run: str | Path, device: torch.device | str = "cpu") -> tuple[nn.Module, dict[str, Any]]:
    """The run's final weights, or its last checkpoint's when training has not finished."""
    folder = RunFolder(Path(run))
    info = folder.read_info()
    space = get_space(info["space"])
    if space.fingerprint() != info["space_fingerprint"]:
        raise OfaError(f"{folder.root} was trained on another version of space '{space.name}'")
    model = build_supernet(space, int(info["num_classes"]))
    if folder.weights.is_file():
        weights = folder.load_weights()
    else:
        weights, _ = load_checkpoint(folder.checkpoints, expect={"space_fingerprint": space.fingerprint()})
    try:
        model.load_state_dict(weights)
    except RuntimeError as e:
        raise OfaError(f"weights in {folder.root} do not fit the supernet: {str(e).splitlines()[0]}") from None
    return model.to(device).eval(), info


def check_classes(target, num_classes: int, run_classes: list[str] | None) -> None:
    """Labels are class numbers: another count, or other names in that order, would be scored
    against the wrong outputs without a word."""
    if target.num_classes != num_classes:
        raise OfaError(f"{target.name} has {target.num_classes} classes, the supernet {num_classes}")
    if run_classes is None:  # a run written before run.json kept the names
        return
    for i, (mine, theirs) in enumerate(zip(target.classes, run_classes)):
        if mine != theirs:
            raise OfaError(f"{target.name} does not have the run's classes: class {i} is '{mine}' there "
                           f"but '{theirs}' in the run; evaluate on data with the same class names and order")


# Evaluation sets up to this size are decoded once and kept in memory (resized per resolution):
# measuring hundreds of subnets then costs forward passes only.
_CACHE_BYTES = 2 << 30


class SubnetMeter:
    """Top-1 / top-5 of any subnet of one run: extracted, BN re-calibrated on a fixed seeded set of
    images, evaluated on `split` of `data`. Built once, then used for many subnets.

    BatchNorm statistics come from the 'train' split of `calib_data` (labels not needed), else of the
    run's own data; accuracy from `split` of `data`, else of the run's own data. An imported supernet
    has no data of its own: without `data` it can be calibrated and exported, but not measured."""

    def __init__(self, run: str | Path, data: str | None = None, split: str = "val",
                 calib_images: int | None = None, data_root: str | None = None, download: bool = False,
                 device: str = "auto", calib_data: str | None = None):
        if calib_images is not None and calib_images <= 0:
            raise OfaError(f"--calib-images must be a positive number of images, got {calib_images}")
        self.run = Path(run)
        RunFolder(self.run).read_info()  # "not a supernet run" before anything else
        self.recipe = recipe = load_recipe(RunFolder(self.run).recipe)
        if not (calib_data or recipe.data):
            raise OfaError(f"{run} holds an imported supernet with no images of its own for BatchNorm statistics: "
                           f"pass --calib-data imagefolder:PATH (about 2,000 images; labels not needed)")
        calib = recipe.dataset("train", root=data_root, download=download, data=calib_data)
        target = (recipe.dataset(split, root=data_root, download=download, data=data)
                  if data or recipe.data else None)
        self.device = torch.device("cuda" if device == "auto" and torch.cuda.is_available()
                                   else ("cpu" if device == "auto" else device))
        self.model, self.info = load_supernet(run, self.device)
        if target is not None:
            check_classes(target, self.model.num_classes, self.info.get("classes"))
        self.calib_images = min(calib_images or recipe.bn_calib_images, len(calib.dataset))
        g = torch.Generator().manual_seed(recipe.seed)
        order = torch.randperm(len(calib.dataset), generator=g)[: self.calib_images].tolist()
        self._calib = _Batches(torch.utils.data.Subset(calib.dataset, order), 100)
        self._target = None if target is None else _Batches(target.dataset, 200)
        self.settings = {"data": data or recipe.data, "split": split,
                         "data_name": None if target is None else target.name,
                         "images": 0 if target is None else len(target.dataset), "calib_images": self.calib_images,
                         "calib_seed": recipe.seed, "split_seed": recipe.seed}
        if calib_data:  # recorded only when given, so accuracy files of earlier runs keep their settings
            self.settings["calib_data"] = calib.name

    @property
    def labelled(self) -> bool:
        return self._target is not None

    def require_labels(self) -> None:
        if not self.labelled:
            raise OfaError(f"{self.run} holds an imported supernet with no labelled images of its own: pass --data "
                           f"(e.g. imagefolder:PATH with one folder per class, in the order of its "
                           f"{self.model.num_classes} classes)")

    def calibration_note(self) -> str:
        """Which images gave the BatchNorm statistics, in words (for model cards)."""
        source = self.settings.get("calib_data") or self.recipe.data
        return f"{self.calib_images} images of {source} (train split, seed {self.recipe.seed}; labels not used)"

    def calibrated(self, subnet: str | dict | Subnet, progress=None):
        """The subnet as a static model with its BN statistics re-estimated (eval mode)."""
        net = to_subnet(self.model.space, subnet)
        # channels-last halves the time of depthwise convolutions on CPUs (measured: 2.2 -> 1.1 s)
        static = self.model.extract(net).to(self.device, memory_format=torch.channels_last)
        recalibrate_bn(static, self._calib.at(net.resolution), self.calib_images, net.resolution, self.device,
                       progress)
        return static

    def accuracy(self, static) -> dict[str, Any]:
        """Top-1 / top-5 of a static model on the meter's split, at the model's resolution."""
        self.require_labels()
        r = static.config.resolution
        acc = evaluate(static.to(self.device, memory_format=torch.channels_last), self._target.at(r), r, self.device)
        return {"top1": acc.top1, "top5": acc.top5, "loss": acc.loss, "images": acc.images}

    def measure(self, subnet: str | dict | Subnet) -> dict[str, Any]:
        net = to_subnet(self.model.space, subnet)
        return {"subnet": str(net), **self.accuracy(self.calibrated(net))}


class _Batches:
    """A data set's batches, held in memory per resolution when small enough, else re-read."""

    def __init__(self, dataset, batch_size: int):
        self.loader = torch.utils.data.DataLoader(dataset, batch_size=batch_size)
        first = dataset[0][0] if len(dataset) else torch.zeros(1)
        self.cached = len(dataset) * first.numel() * 4 <= _CACHE_BYTES
        self._at: dict[int, list] = {}

    def at(self, resolution: int):
        if not self.cached:
            return self.loader
        if not self._at:
            self._base = list(self.loader)
        if resolution not in self._at:
            self._at[resolution] = [(resize(x, resolution).contiguous(memory_format=torch.channels_last), y)
                                    for x, y in self._base]
        return self._at[resolution]


def evaluate_run(run: str | Path, subnets: list[str | dict[str, Any]], data: str | None = None, split: str = "val",
                 calib_images: int | None = None, data_root: str | None = None, download: bool = False,
                 device: str = "auto", calib_data: str | None = None) -> list[dict[str, Any]]:
    meter = SubnetMeter(run, data, split, calib_images, data_root, download, device, calib_data)
    meter.require_labels()
    nets = [to_subnet(meter.model.space, s) for s in subnets]
    return [{**meter.measure(net), "data": meter.settings["data_name"], "split": split} for net in nets]
