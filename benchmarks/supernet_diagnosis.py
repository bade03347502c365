"""Controlled runs that find where a supernet's subnets lose to the same networks trained alone.

Every run uses one base recipe (same data, split, seed, epochs, augmentation, schedule) and changes
one thing, given as recipe overrides (VARIANTS below); `scratch-*` runs train the smallest, middle
and largest architectures alone. Each finished run is kept as OUT/NAME.json, so a stopped
benchmark continues where it was; the table (smallest / middle / largest held-out top-1 after BN
re-calibration, the largest subnet's training loss per epoch) is printed from those files.

    python benchmarks/supernet_diagnosis.py --recipe benchmarks/cifar4k-diagnosis.yaml \\
        --data imagefolder:../shared/data/cifar10-4k/train --out runs/diagnosis --runs scratch sandwich
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch
from supernet_vs_scratch import train_from_scratch

from ofa.spaces import get_space
from ofa.train.overrides import parse_overrides
from ofa.train.recipes import load_recipe
from ofa.train.run_folder import RunFolder
from ofa.train.trainer import train_supernet
from ofa.train.watched import validation_subnets

ALONE = {"phases.0.subnets_per_step": 0, "phases.0.with_smallest": False}
VARIANTS: dict[str, dict] = {
    "largest-alone": ALONE,  # the elastic code path with nothing else sampled
    "largest+smallest": {"phases.0.subnets_per_step": 0},
    "sandwich": {},  # largest + smallest + 2 random, alpha-divergence: the base recipe
    "sandwich-labels": {"distill.kind": "none"},
    "sandwich-kl": {"distill.kind": "kl"},
    "grad-clip": {"grad_clip": 1.0},
    "zero-init": {"zero_init_residual": True},
    "regularize-largest": {"regularize": "largest"},
    "students-mean": {"student_weight": 1.0},  # the students' mean loss, not their sum
    "zero-init+students-mean": {"zero_init_residual": True, "student_weight": 1.0},
    "drop-connect": {"drop_connect": 0.1, "regularize": "largest"},
    "warmup-2": {"phases.0.warmup_epochs": 2},
    "lr-0.05": {"phases.0.lr": 0.05},
    "torch-init": {"init": "torch"},  # PyTorch's default init, as the scratch runs start from
}


def progressive(lr: float) -> dict:
    """Progressive shrinking in the diagnosis's 4 epochs: the largest alone, then elastic kernel,
    depth and expand one epoch each at peak `lr` (once-for-all lowers it after the first phase)."""
    later = {"epochs": 1, "lr": lr, "warmup_epochs": 0, "subnets_per_step": 2}
    return {"phases": [{"name": "full", "epochs": 1, "lr": 0.1, "warmup_epochs": 0.5, "subnets_per_step": 0},
                       {"name": "kernel", **later, "kernels": [3, 5, 7]},
                       {"name": "depth", **later, "kernels": [3, 5, 7], "depths": [2, 3, 4]},
                       {"name": "expand", **later, "kernels": [3, 5, 7], "depths": [2, 3, 4], "expands": [3, 4, 6],
                        "reorder_channels": True}]}


VARIANTS.update({"progressive-lr-0.03": progressive(0.03), "progressive-lr-0.1": progressive(0.1)})
SCRATCH = ("scratch-min", "scratch-mid", "scratch-max")
SUPERNET_INIT = ("scratch-max-supernet-init",)  # the static largest network from the supernet's initial weights


def slug(name: str) -> str:
    return name.replace("/", "_")


def run_supernet(recipe, out: Path) -> dict:
    start = time.perf_counter()
    result = train_supernet(recipe, out, force=True)
    seconds = time.perf_counter() - start
    final = {r["name"]: r["top1"] for r in result.final}
    losses = [r["loss_max"] for r in RunFolder(out).read_metrics() if r.get("kind") == "train"]
    return {"min": final["min"], "mid": final["mid"], "max": final["max"], "max_train_loss": losses,
            "seconds": round(seconds)}


def run_scratch(recipe, which: str, supernet_init: bool = False) -> dict:
    nets = validation_subnets(get_space(recipe.space), recipe.seed)
    phase = recipe.phases[0]
    start = time.perf_counter()
    r = train_from_scratch(recipe, nets[which], sum(p.epochs for p in recipe.phases), recipe.phase_lr(0),
                           phase.warmup_epochs, supernet_init=supernet_init)
    return {which: r["top1"], "max_train_loss" if which == "max" else "train_loss": r["train_loss"],
            "seconds": round(time.perf_counter() - start)}


def table(out: Path, names: list[str]) -> str:
    lines = ["| run | smallest | middle | largest | largest's training loss by epoch | time |",
             "| --- | --- | --- | --- | --- | --- |"]
    pct = lambda r, k: f"{r[k]:.1f}%" if k in r else ""  # noqa: E731
    for name in names:
        path = out / f"{slug(name)}.json"
        if path.is_file():
            r = json.loads(path.read_text())
            loss = " ".join(f"{v:.2f}" for v in r.get("max_train_loss", []))
            lines.append(f"| {name} | {pct(r, 'min')} | {pct(r, 'mid')} | {pct(r, 'max')} | {loss} | {r['seconds']} s |")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--recipe", required=True)
    ap.add_argument("--data", required=True)
    ap.add_argument("--out", required=True, type=Path)
    ap.add_argument("--runs", nargs="+", default=[*SCRATCH, *VARIANTS], help="names, or 'scratch' for all three")
    ap.add_argument("--set", nargs="*", default=[], metavar="FIELD=VALUE", help="overrides for every run")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    common = {"data": args.data, **parse_overrides(args.set)}
    names = [n for name in args.runs for n in (SCRATCH if name == "scratch" else (name,))]
    unknown = [n for n in names if n not in VARIANTS and n not in SCRATCH + SUPERNET_INIT]
    if unknown:
        ap.error(f"unknown runs {unknown}; known: scratch, {', '.join(VARIANTS)}")
    args.out.mkdir(parents=True, exist_ok=True)
    for name in names:
        path = args.out / f"{slug(name)}.json"
        if path.is_file():
            continue
        if name in SCRATCH + SUPERNET_INIT:
            result = run_scratch(load_recipe(args.recipe, common), name.split("-")[1], name in SUPERNET_INIT)
        else:
            recipe = load_recipe(args.recipe, {**common, **VARIANTS[name]})
            result = run_supernet(recipe, args.out / slug(name))
        path.write_text(json.dumps({"run": name, "recipe": args.recipe, "set": args.set, **result}, indent=1))
        print(table(args.out, [name]).splitlines()[-1], flush=True)
    print(table(args.out, names))


if __name__ == "__main__":
    main()
