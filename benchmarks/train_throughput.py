"""Training throughput of the supernet: images/s of one random-subnet step and of one sandwich step
(largest + smallest + 2 random, in-place distillation), for several ways of running ours, for the
same subnets as static networks (the floor: what weight sharing costs), and for once-for-all's own
code when given a checkout of it. Everything is measured in interleaved rounds in one run, so a
shared machine's drifting speed affects all alike; the table gives medians over rounds.

    python benchmarks/train_throughput.py --space mbv3-w1.0 --resolution 64 --batch 32 --threads 2 \
        --rounds 5 --reference /path/to/once-for-all
    python benchmarks/train_throughput.py --space cifar-mbv3 --resolution 32 --batch 64 --profile channels-last
"""

from __future__ import annotations

import argparse
import contextlib
import json
import platform
import statistics
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from ofa.spaces import get_space, sample_subnet
from ofa.supernet import build_supernet
from ofa.train.recipe import Phase
from ofa.train.recipes import load_recipe
from ofa.train.optimizer import build_optimizer
from ofa.train.sandwich import sandwich_step as train_step

VARIANTS = {  # name -> (channels_last, bf16 autocast)
    "fp32": (False, False),
    "channels-last": (True, False),
    "bf16": (False, True),
    "bf16 + channels-last": (True, True),
}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--space", default="mbv3-w1.0")
    ap.add_argument("--resolution", type=int, default=64)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=list(VARIANTS))
    ap.add_argument("--reference", type=Path, help="a checkout of mit-han-lab/once-for-all")
    ap.add_argument("--profile", choices=list(VARIANTS), help="instead of timing: where the steps' time goes")
    ap.add_argument("--profile-rows", type=int, default=15)
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    space = replace(get_space(args.space), resolutions=(args.resolution,))  # every subnet at this resolution
    recipe = load_recipe("imagenet-ofa", {"batch_size": args.batch})
    x = torch.randn(args.batch, 3, args.resolution, args.resolution, device=device)
    y = torch.randint(0, 1000, (args.batch,), device=device)
    sandwich = Phase("bench", 1, 0.01, subnets_per_step=2)  # largest + smallest + 2 random
    nets = [sample_subnet(space, "uniform", np.random.default_rng([0, i])) for i in range(args.warmup + args.steps)]

    def timed(step) -> float:
        for i in range(args.warmup):
            step(i)
        if device.type == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter()
        for i in range(args.warmup, args.warmup + args.steps):
            step(i)
        if device.type == "cuda":
            torch.cuda.synchronize()
        return args.batch * args.steps / (time.perf_counter() - start)

    def our_steps(channels_last: bool, bf16: bool):
        torch.manual_seed(0)
        model = build_supernet(space, 1000).to(device).train()
        data = x
        if channels_last:
            model = model.to(memory_format=torch.channels_last)
            data = x.contiguous(memory_format=torch.channels_last)
        optimizer = build_optimizer(model, recipe)
        for group in optimizer.param_groups:
            group["lr"] = 0.01
        autocast = torch.autocast(device.type, dtype=torch.bfloat16) if bf16 else contextlib.nullcontext()

        def random_step(i: int) -> None:
            model.set_active(nets[i])
            optimizer.zero_grad(set_to_none=True)
            with autocast:
                loss = F.cross_entropy(model(data).float(), y)
            loss.backward()
            optimizer.step()

        def sandwich_step(i: int) -> None:
            train_step(recipe, model, model, None, sandwich, space, data, y, optimizer, autocast, i)

        return random_step, sandwich_step

    def ours(channels_last: bool, bf16: bool) -> tuple[float, float]:
        random_step, sandwich_step = our_steps(channels_last, bf16)
        return timed(random_step), timed(sandwich_step)

    if args.profile:
        from torch.profiler import profile

        for kind, step in zip(("random-subnet", "sandwich"), our_steps(*VARIANTS[args.profile])):
            for i in range(args.warmup):
                step(i)
            with profile() as prof:
                for i in range(args.warmup, args.warmup + args.steps):
                    step(i)
            print(f"## {kind} step, {args.profile}: operators by own CPU time ({args.steps} steps)")
            print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=args.profile_rows))
        return

    def static_floor(channels_last: bool) -> float:
        """The same random subnets as plain static networks: no slicing, no kernel transforms."""
        torch.manual_seed(0)
        supernet = build_supernet(space, 1000)
        fmt = torch.channels_last if channels_last else torch.contiguous_format
        statics = [supernet.extract(n).to(device, memory_format=fmt).train() for n in nets]
        optimizers = [torch.optim.SGD(s.parameters(), lr=0.01, momentum=0.9) for s in statics]
        data = x.contiguous(memory_format=fmt)

        def step(i: int) -> None:
            optimizers[i].zero_grad(set_to_none=True)
            F.cross_entropy(statics[i](data), y).backward()
            optimizers[i].step()

        return timed(step)

    def reference(channels_last: bool) -> tuple[float, float]:
        script = Path(__file__).with_name("ofa_reference_step.py")
        out = subprocess.run([sys.executable, str(script), "--checkout", str(args.reference), "--resolution",
                              str(args.resolution), "--batch", str(args.batch), "--threads", str(args.threads),
                              "--steps", str(args.steps), "--warmup", str(args.warmup), "--device", str(device)]
                             + (["--channels-last"] if channels_last else [])
                             + (["--bf16"] if device.type == "cuda" and any(VARIANTS[v][1] for v in args.variants) else []),
                             capture_output=True, text=True, check=True, cwd="/")
        r = json.loads(out.stdout.strip().splitlines()[-1])
        return r["random_subnet_step_images_per_s"], r["sandwich_step_images_per_s"]

    runs: dict[str, list[tuple[float, float]]] = {}
    for _ in range(args.rounds):
        if args.reference:
            runs.setdefault("once-for-all (reference)", []).append(reference(False))
            runs.setdefault("once-for-all, channels-last (changed by us)", []).append(reference(True))
        for name in args.variants:
            runs.setdefault(f"ofa, {name}", []).append(ours(*VARIANTS[name]))
        runs.setdefault("static subnets (floor)", []).append((static_floor(False), float("nan")))
        runs.setdefault("static subnets, channels-last", []).append((static_floor(True), float("nan")))

    print(f"{args.space}, {args.resolution} px, batch {args.batch}, {args.threads} threads, {args.rounds} rounds, "
          f"{platform.processor() or platform.machine()}, torch {torch.__version__}")
    base = runs.get("once-for-all (reference)")
    base = tuple(statistics.median(r[k] for r in base) for k in (0, 1)) if base else None
    print("| step | random subnet img/s | sandwich img/s | vs once-for-all (random, sandwich) |")
    print("| --- | --- | --- | --- |")
    for name, rows in runs.items():
        med = [statistics.median(r[k] for r in rows) for k in (0, 1)]
        ratio = f"{med[0] / base[0]:.2f}x, {med[1] / base[1]:.2f}x" if base else "-"
        sandwich = "-" if med[1] != med[1] else f"{med[1]:.1f}"
        print(f"| {name} | {med[0]:.1f} | {sandwich} | {ratio if med[1] == med[1] else ratio.split(',')[0]} |")


if __name__ == "__main__":
    main()
