"""Training throughput of the supernet: images/s of one random-subnet step and of one sandwich
step (largest + smallest + 2 random, alpha-divergence), side by side in one run.

    python benchmarks/train_throughput.py --space mbv3-w1.0 --resolution 64 --batch 32 --threads 2
"""

from __future__ import annotations

import argparse
import contextlib
import json
import platform
import time
from dataclasses import replace

import numpy as np
import torch
import torch.nn.functional as F

from ofa.spaces import get_space, sample_subnet
from ofa.supernet import Supernet
from ofa.train.recipe import load_recipe
from ofa.train.trainer import _sandwich_step, build_optimizer


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--space", default="mbv3-w1.0")
    ap.add_argument("--resolution", type=int, default=64)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    device = torch.device(args.device)
    # every subnet at the benchmark resolution
    space = replace(get_space(args.space), resolutions=(args.resolution,))
    model = Supernet(space, 1000).to(device).train()
    recipe = load_recipe("imagenet-ofa", {"batch_size": args.batch})
    optimizer = build_optimizer(model, recipe)
    for group in optimizer.param_groups:
        group["lr"] = 0.01
    x = torch.randn(args.batch, 3, args.resolution, args.resolution, device=device)
    y = torch.randint(0, 1000, (args.batch,), device=device)
    autocast = torch.autocast("cuda", dtype=torch.bfloat16) if device.type == "cuda" else contextlib.nullcontext()
    if device.type == "cuda":
        model = model.to(memory_format=torch.channels_last)
        x = x.contiguous(memory_format=torch.channels_last)
    rng = np.random.default_rng(0)

    def random_step(i: int) -> None:
        model.set_active(sample_subnet(space, "uniform", rng))
        optimizer.zero_grad(set_to_none=True)
        with autocast:
            loss = F.cross_entropy(model(x).float(), y)
        loss.backward()
        optimizer.step()

    def sandwich_step(i: int) -> None:
        _sandwich_step(recipe, model, model, None, space, 2, x, y, optimizer, autocast, i)

    def timed(step) -> float:
        for i in range(args.warmup):
            step(i)
        if device.type == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter()
        for i in range(args.steps):
            step(i)
        if device.type == "cuda":
            torch.cuda.synchronize()
        return args.batch * args.steps / (time.perf_counter() - start)

    result = {
        "space": args.space, "resolution": args.resolution, "batch": args.batch, "threads": args.threads,
        "device": torch.cuda.get_device_name() if device.type == "cuda" else platform.processor() or platform.machine(),
        "torch": torch.__version__,
        "random_subnet_step_images_per_s": round(timed(random_step), 1),
        "sandwich_step_images_per_s": round(timed(sandwich_step), 1),
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
