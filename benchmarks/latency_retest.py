"""Noise floor of end-to-end latency measurement on this machine: the same 40 subnets measured
twice, one pass after the other. No prediction can agree with measurement better than two
measurements agree with each other.

    python benchmarks/latency_retest.py --threads 1 --rounds 5      # --threads all: every core
"""

from __future__ import annotations

import argparse
import dataclasses
import time

import numpy as np

from ofa.devices import get_device
from ofa.latency.measure import measure_subnets
from ofa.latency.validate import kendall_tau
from ofa.spaces import get_space, sample_subnet


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", default="1", help="ONNX Runtime threads, or 'all'")
    ap.add_argument("--rounds", type=int, default=5, help="interleaved rounds per measurement")
    ap.add_argument("--space", default="mbv3-w1.0")
    ap.add_argument("-n", type=int, default=40)
    args = ap.parse_args()

    space = get_space(args.space)
    threads = None if args.threads == "all" else int(args.threads)
    profile = dataclasses.replace(get_device("cpu"), threads=threads, rounds=args.rounds)
    rng = np.random.default_rng(0)
    nets = [sample_subnet(space, "uniform", rng) for _ in range(args.n)]
    num_classes = 10 if space.name.startswith("cifar") else 1000

    start = time.perf_counter()
    first = np.array(measure_subnets(space, nets, profile, num_classes, chunk=20, deployed=False))
    second = np.array(measure_subnets(space, nets, profile, num_classes, chunk=20, deployed=False))
    rel = np.abs(first - second) / second
    print(
        f"{args.space} threads={args.threads} rounds={args.rounds}: retest tau {kendall_tau(first, second):.3f}, "
        f"within ±10% {100 * (rel <= 0.1).mean():.0f}%, mean |diff| {100 * rel.mean():.1f}%, "
        f"{first.min():.2f}-{first.max():.2f} ms, {time.perf_counter() - start:.0f} s"
    )


if __name__ == "__main__":
    main()
