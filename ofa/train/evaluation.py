"""Evaluate subnets of a finished (or interrupted) supernet run on any data set."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from ofa.errors import OfaError
from ofa.spaces import get_space, to_subnet
from ofa.supernet.supernet import Supernet
from ofa.train.bn_calibration import recalibrate_bn
from ofa.train.checkpoint import load_checkpoint
from ofa.train.evaluate import evaluate
from ofa.train.recipe import load_recipe
from ofa.train.run_folder import RunFolder


def load_supernet(run: str | Path, device: torch.device | str = "cpu") -> tuple[Supernet, dict[str, Any]]:
    """The run's final weights, or its last checkpoint's when training has not finished."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    folder = RunFolder(Path(run))
    info = folder.read_info()
    space = get_space(info["space"])
    if space.fingerprint() != info["space_fingerprint"]:
        raise OfaError(f"{folder.root} was trained on another version of space '{space.name}'")
    model = Supernet(space, int(info["num_classes"]))
    if folder.weights.is_file():
        try:
            weights = load_file(str(folder.weights))
        except (SafetensorError, OSError) as e:
            raise OfaError(f"{folder.weights}: cannot read weights ({e})") from None
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


def evaluate_run(run: str | Path, subnets: list[str | dict[str, Any]], data: str | None = None, split: str = "val",
                 calib_images: int | None = None, data_root: str | None = None, download: bool = False,
                 device: str = "auto") -> list[dict[str, Any]]:
    from ofa.data import get_dataset

    dev = torch.device("cuda" if device == "auto" and torch.cuda.is_available() else ("cpu" if device == "auto" else device))
    model, info = load_supernet(run, dev)
    recipe = load_recipe(RunFolder(Path(run)).recipe)
    nets = [to_subnet(model.space, s) for s in subnets]
    calib = get_dataset(recipe.data, "train", recipe.resolution, root=data_root, download=download, seed=recipe.seed)
    target = get_dataset(data or recipe.data, split, recipe.resolution, root=data_root, download=download,
                         seed=recipe.seed)
    check_classes(target, model.num_classes, info.get("classes"))
    n_calib = calib_images or recipe.bn_calib_images
    g = torch.Generator().manual_seed(recipe.seed)
    subset = torch.utils.data.Subset(calib.dataset, torch.randperm(len(calib.dataset), generator=g)[:n_calib].tolist())
    rows = []
    for net in nets:
        static = model.extract(net).to(dev)
        recalibrate_bn(static, torch.utils.data.DataLoader(subset, batch_size=100), n_calib, net.resolution, dev)
        acc = evaluate(static, torch.utils.data.DataLoader(target.dataset, batch_size=200), net.resolution, dev)
        rows.append({"subnet": str(net), "top1": acc.top1, "top5": acc.top5, "loss": acc.loss, "images": acc.images,
                     "data": target.name, "split": split})
    return rows
