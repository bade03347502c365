"""Does transfer pay? A supernet trained on half of the classes of an image folder is transferred
(`ofa train-supernet --init SOURCE --recipe transfer`) to the other half, against a supernet trained
from scratch on that half for as many epochs of the same step (largest + smallest + 2 random
subnets), so for about the same time. Reported: the smallest, middle and largest subnet's held-out
top-1 (BN re-calibrated) on the new classes, training seconds and images per second.

    python benchmarks/transfer.py --data ../shared/data/cifar10-4k/train --work runs/transfer \
        --source-epochs 8 --epochs 4

The class halves are folders of symbolic links under WORK (first half of the sorted class names:
source; second: target). Each finished run is kept (WORK/NAME/, WORK/NAME.json), so a stopped
benchmark continues where it was; `--variant NAME FIELD=VALUE ...` adds transfer runs with recipe
overrides, for choosing the recipe's settings.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

from ofa.train.recipe_reader import with_overrides
from ofa.train.recipes import load_recipe
from ofa.train.trainer import train_supernet

SCRATCH = "benchmarks/cifar4k-diagnosis.yaml"  # the best from-scratch recipe of the supernet diagnosis
SCRATCH_SET = {"zero_init_residual": True, "student_weight": 1.0, "distill.kind": "none"}
COMMON = {"device": "cpu", "workers": 0, "checkpoint_every": 0, "validate_every": 0, "bn_calib_images": 500,
          "val_fraction": 0.2, "seed": 0}


def class_halves(data: Path, work: Path) -> tuple[Path, Path]:
    classes = sorted(p.name for p in data.iterdir() if p.is_dir())
    half = len(classes) // 2
    folders = []
    for name, chosen in (("source-classes", classes[:half]), ("target-classes", classes[half:])):
        folder = work / name
        for c in chosen:
            (folder / c).mkdir(parents=True, exist_ok=True)
            for image in sorted((data / c).iterdir()):
                link = folder / c / image.name
                if not link.exists():
                    link.symlink_to(image.resolve())
        folders.append(folder)
    return folders[0], folders[1]


def run(name: str, recipe, work: Path) -> dict:
    """Train (or take the finished result of) one run; held-out top-1 of its validation subnets."""
    done = work / f"{name}.json"
    if done.is_file():
        return json.loads(done.read_text())
    torch.set_num_threads(2)
    start = time.perf_counter()
    result = train_supernet(recipe, work / name, force=True)
    seconds = time.perf_counter() - start
    images = len(recipe.dataset("train").dataset) * sum(p.epochs for p in recipe.phases)
    row = {"name": name, "seconds": round(seconds, 1), "images_per_s": round(images / seconds, 1),
           "top1": {r["name"]: r["top1"] for r in result.final}, "recipe": recipe.to_dict()}
    done.write_text(json.dumps(row, indent=1))
    return row


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, required=True, help="an image folder of class folders")
    ap.add_argument("--work", type=Path, required=True)
    ap.add_argument("--source-epochs", type=int, default=8)
    ap.add_argument("--epochs", type=int, default=4, help="epochs of the transfer and of the scratch run")
    ap.add_argument("--scratch-epochs", type=int, nargs="*", default=[],
                    help="more scratch runs of these epochs (a scratch run given more time than the transfer)")
    ap.add_argument("--variant", nargs="+", action="append", default=[], metavar="NAME [FIELD=VALUE ...]",
                    help="a transfer run with recipe overrides (repeatable)")
    args = ap.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    source_data, target_data = class_halves(args.data, args.work)
    epochs = lambda n: {"phases.0.epochs": n}  # noqa: E731
    source = load_recipe(SCRATCH, {**COMMON, **SCRATCH_SET, **epochs(args.source_epochs),
                                   "data": f"imagefolder:{source_data}"})
    rows = [run("source", source, args.work)]
    scratch = load_recipe(SCRATCH, {**COMMON, **SCRATCH_SET, **epochs(args.epochs), "data": f"imagefolder:{target_data}"})
    rows.append(run("scratch", scratch, args.work))
    for n in args.scratch_epochs:
        rows.append(run(f"scratch-{n}-epochs", with_overrides(scratch, epochs(n)), args.work))
    variants = [["transfer"]] + args.variant
    for name, *sets in variants:
        overrides = dict(s.split("=", 1) for s in sets)
        overrides = {k: json.loads(v) if v[:1] in "0123456789-[{tf" else v for k, v in overrides.items()}
        recipe = load_recipe("transfer", {**COMMON, **epochs(args.epochs), "data": f"imagefolder:{target_data}",
                                          "init_from": str(args.work / "source"), **overrides})
        rows.append(run(name, recipe, args.work))
    print("| run | data | smallest | middle | largest | seconds | images/s |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for r in rows:
        data = "source half" if r["name"] == "source" else "target half"
        t = r["top1"]
        print(f"| {r['name']} | {data} | {t['min']:.1f}% | {t['mid']:.1f}% | {t['max']:.1f}% | {r['seconds']:.0f} | "
              f"{r['images_per_s']:.1f} |")


if __name__ == "__main__":
    main()
