"""Supernet quality: the smallest, middle and largest subnets of a supernet trained with a recipe
(BN re-calibrated, no fine-tuning) against the same three architectures trained from scratch on the
same split, batch, augmentation and optimizer, under one or more budgets (--budget):

- `epochs`: each for the supernet's total number of epochs;
- `each`: each for as many epochs as fit in the supernet's whole wall time;
- `shared`: the three together in the supernet's wall time (a third each), which is what training
  them separately instead of once costs.

The time budgets time one epoch of each network first. Any block family.

    python benchmarks/supernet_vs_scratch.py --recipe benchmarks/cifar4k.yaml \
        --data imagefolder:../shared/data/cifar10-4k/train --out runs/bench-cifar4k
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

from ofa.spaces import get_space
from ofa.supernet import build_static, build_supernet, net_config
from ofa.layers.residual import set_drop_connect, zero_init_residual_bn
from ofa.train.accuracy import evaluate
from ofa.train.losses import label_smoothing_ce
from ofa.train.recipes import load_recipe
from ofa.train.sampler import ResumableBatchSampler, steps_per_epoch
from ofa.train.schedule import phase_lr
from ofa.train.optimizer import build_optimizer
from ofa.train.trainer import train_supernet
from ofa.train.watched import validation_subnets


# the share of the supernet's wall time each scratch network gets, by budget (`epochs`: none, by epochs)
BUDGETS = {"epochs": None, "each": 1.0, "shared": 1 / 3}


def train_from_scratch(recipe, subnet, epochs: int, lr: float, warmup_epochs: float, data_root=None,
                       supernet_init: bool = False) -> dict:
    """The static network of `subnet` trained alone on the labels, with the recipe's batch, optimizer,
    augmentation, memory format and the regularization its largest subnet gets; returns held-out
    accuracy and the mean training loss of every epoch. `supernet_init`: start from the weights the
    supernet starts with (cut out of a freshly seeded one), not from PyTorch's default init."""
    torch.manual_seed(recipe.seed)
    space = get_space(recipe.space)
    train = recipe.dataset("train", augment=recipe.augment, root=data_root)
    val = recipe.dataset("val", root=data_root)
    if supernet_init:
        model = build_supernet(space, train.num_classes, recipe.init).extract(subnet).train()
    else:
        model = build_static(net_config(space, subnet, train.num_classes)).train()
    if recipe.zero_init_residual:
        zero_init_residual_bn(model)
    set_drop_connect(model, recipe.drop_connect)
    fmt = torch.channels_last if recipe.channels_last else torch.contiguous_format
    model = model.to(memory_format=fmt)
    optimizer = build_optimizer(model, recipe)
    sampler = ResumableBatchSampler(len(train.dataset), recipe.batch_size, recipe.seed)
    spe = steps_per_epoch(len(train.dataset), recipe.batch_size)
    step, losses = 0, []
    for epoch in range(epochs):
        total = 0.0
        sampler.set_position(epoch, 0)
        loader = torch.utils.data.DataLoader(train.dataset, batch_sampler=sampler, num_workers=recipe.workers)
        for x, y in loader:
            for g in optimizer.param_groups:
                g["lr"] = phase_lr(lr, step, epochs * spe, int(warmup_epochs * spe))
            x = torch.nn.functional.interpolate(x, size=subnet.resolution, mode="bilinear", antialias=True) \
                if subnet.resolution != x.shape[-1] else x
            optimizer.zero_grad(set_to_none=True)
            loss = label_smoothing_ce(model(x.contiguous(memory_format=fmt)), y, recipe.label_smoothing)
            loss.backward()
            if recipe.grad_clip > 0:
                torch.nn.utils.clip_grad_value_(model.parameters(), recipe.grad_clip)
            optimizer.step()
            step += 1
            total += loss.item()
        losses.append(total / spe)
    acc = evaluate(model, torch.utils.data.DataLoader(val.dataset, batch_size=200), subnet.resolution)
    return {"top1": acc.top1, "top5": acc.top5, "loss": acc.loss, "train_loss": losses}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--recipe", required=True)
    ap.add_argument("--data", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--budget", default="epochs",
                    help="comma-separated scratch budgets: epochs, each, shared (see the module docstring)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    recipe = load_recipe(args.recipe, {"data": args.data})
    total_epochs = sum(p.epochs for p in recipe.phases)
    out = Path(args.out)

    start = time.perf_counter()
    result = train_supernet(recipe, out / "supernet", force=True)
    supernet_s = time.perf_counter() - start
    supernet = {r["name"]: r for r in result.final}
    print(f"supernet: {round(supernet_s)} s", {k: v["top1"] for k, v in supernet.items()}, flush=True)

    nets = validation_subnets(get_space(recipe.space), recipe.seed)
    first = recipe.phases[0]
    budgets = args.budget.split(",")
    unknown = set(budgets) - set(BUDGETS)
    if unknown:
        raise SystemExit(f"unknown budget(s) {sorted(unknown)}; choose from {list(BUDGETS)}")
    rows = []
    for name in ("min", "mid", "max"):
        epoch_s = None
        if set(budgets) & {"each", "shared"}:
            start = time.perf_counter()
            train_from_scratch(recipe, nets[name], 1, recipe.phase_lr(0), 0)
            epoch_s = time.perf_counter() - start
        row = {"subnet": name, "arch": str(nets[name]), "supernet_top1": supernet[name]["top1"],
               "epoch_seconds": None if epoch_s is None else round(epoch_s, 1)}
        for budget in budgets:
            epochs = total_epochs if budget == "epochs" else max(1, round(supernet_s * BUDGETS[budget] / epoch_s))
            start = time.perf_counter()
            scratch = train_from_scratch(recipe, nets[name], epochs, recipe.phase_lr(0), first.warmup_epochs)
            row[budget] = {"top1": scratch["top1"], "epochs": epochs,
                           "seconds": round(time.perf_counter() - start)}
            print(name, budget, row[budget], flush=True)
        rows.append(row)
    report = {"recipe": args.recipe, "data": args.data, "epochs": total_epochs, "supernet_seconds": round(supernet_s),
              "budgets": budgets, "rows": rows}
    (out / "report.json").write_text(json.dumps(report, indent=2))
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
