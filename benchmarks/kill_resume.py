"""Kill training at random moments with SIGKILL, resume, and compare the final weights with an
uninterrupted run: exact resume from any checkpoint, measured.

    python benchmarks/kill_resume.py --recipe quickstart --kills 10 --seed 0 --work /tmp/kills
    python benchmarks/kill_resume.py --recipe quickstart --epochs 1 --set checkpoint_every=7 --kills 10 \
        --work /tmp/kills-dense     # most kills then fall between mid-phase checkpoints

Each trial starts a fresh run, kills it at a time drawn uniformly over the uninterrupted run's
wall time (so every phase is hit in proportion to its length), resumes it to the end with
`--resume`, and compares every tensor of supernet.safetensors bit for bit.
"""

from __future__ import annotations

import argparse
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import torch
from safetensors.torch import load_file

from ofa.train.run_folder import RunFolder


def train(*args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "ofa", "train-supernet", *args, "-q"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--recipe", default="quickstart")
    ap.add_argument("--kills", type=int, default=10)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--work", type=Path, required=True)
    ap.add_argument("--epochs", type=int, help="epochs of every phase (train-supernet --epochs)")
    ap.add_argument("--set", dest="sets", action="append", default=[], help="a recipe field, KEY=VALUE (repeatable)")
    args = ap.parse_args()
    recipe = ["--recipe", args.recipe, *(["--epochs", str(args.epochs)] if args.epochs else []),
              *[a for kv in args.sets for a in ("--set", kv)]]
    shutil.rmtree(args.work, ignore_errors=True)
    args.work.mkdir(parents=True)
    straight = args.work / "straight"
    start = time.perf_counter()
    proc = train(*recipe, "--out", str(straight))
    if proc.wait() != 0:
        sys.exit(f"the uninterrupted run failed: {proc.stderr.read()}")
    total = time.perf_counter() - start
    want = load_file(str(straight / "supernet.safetensors"))
    print(f"uninterrupted: {total:.0f} s")
    print("| kill | at (s) | last checkpoint (step) | resumed | identical |")
    print("| --- | --- | --- | --- | --- |")
    rng, same = random.Random(args.seed), 0
    for i in range(1, args.kills + 1):
        run = args.work / f"kill-{i}"
        at = rng.uniform(0.02, 0.98) * total
        proc = train(*recipe, "--out", str(run))
        time.sleep(at)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        step = RunFolder(run).step()
        resumed = train("--out", str(run), "--resume").wait() == 0
        got = load_file(str(run / "supernet.safetensors")) if resumed else {}
        ok = resumed and got.keys() == want.keys() and all(torch.equal(want[k], got[k]) for k in want)
        same += ok
        print(f"| {i} | {at:.0f} | {step if step is not None else 'none'} | {'yes' if resumed else 'no'} "
              f"| {'yes' if ok else 'NO'} |", flush=True)
        shutil.rmtree(run)
    print(f"\n{same}/{args.kills} resumed runs bit-identical to the uninterrupted one")


if __name__ == "__main__":
    main()
