"""Parity of `ofa import-supernet` with once-for-all's own code, on a randomly initialised and
perturbed supernet: `benchmarks/ofa_supernet_reference.py` runs once-for-all's `set_active_subnet` +
`get_active_subnet(preserve_weight=True)` in a separate process (its checkout first on the path);
here the same checkpoint is imported, each subnet extracted and run on the same images, and the
largest |logit difference| reported per subnet, in float32 and float64.

    python benchmarks/ofa_supernet_parity.py --checkout /tmp/once-for-all --net mbv3-w1.2 --work /tmp/parity
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import torch

from ofa.families.mbconv.subnet import Subnet
from ofa.train.run_accuracy import load_supernet
from ofa.train.import_run import import_supernet

NETS = ("mbv3-w1.0", "mbv3-w1.2", "proxyless-w1.3")  # once-for-all's network, and our space of the same name


def our_subnet(spec: dict, stage_blocks: list[int]) -> Subnet:
    """once-for-all's spec (a kernel and expand per block slot, a depth per stage) as our subnet."""
    starts = [sum(stage_blocks[:i]) for i in range(len(stage_blocks))]
    depths = [min(d, n) for d, n in zip(spec["d"], stage_blocks)]
    ks = tuple(tuple(spec["ks"][s: s + d]) for s, d in zip(starts, depths))
    es = tuple(tuple(spec["e"][s: s + d]) for s, d in zip(starts, depths))
    return Subnet(spec["r"], ks, es)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--checkout", type=Path, required=True, help="a once-for-all checkout")
    ap.add_argument("--net", default="mbv3-w1.2", choices=NETS)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--old-spelling", action="store_true")
    ap.add_argument("--work", type=Path, required=True)
    args = ap.parse_args()
    ref = args.work / "reference"
    env = {**os.environ, "PYTHONPATH": str(args.checkout.resolve())}
    command = [sys.executable, str(Path(__file__).with_name("ofa_supernet_reference.py")), "--net", args.net,
               "--seed", str(args.seed), "--out", str(ref)] + (["--old-spelling"] if args.old_spelling else [])
    subprocess.run(command, env=env, check=True, cwd=args.work.parent)
    start = time.perf_counter()
    summary = import_supernet("ofa", ref / "checkpoint.pth", args.net, args.work / "run", force=True)
    import_s = time.perf_counter() - start
    model, _ = load_supernet(args.work / "run")
    flipped, _ = load_supernet(args.work / "run")  # the kernel transforms applied the other way round
    with torch.no_grad():
        for name, p in flipped.named_parameters():
            if ".transforms." in name:
                p.copy_(p.t().clone())
    inputs = torch.load(ref / "inputs.pth", weights_only=True)
    rows = []
    reference = json.loads((ref / "reference.json").read_text())
    for spec in reference["subnets"]:
        x, net = inputs[spec["name"]], our_subnet(spec, reference["stage_blocks"])
        with torch.no_grad():
            d32 = (model.extract(net).eval()(x) - torch.tensor(spec["logits_f32"])).abs().max().item()
            f64 = model.extract(net).eval().double()(x.double())
            d64 = (f64 - torch.tensor(spec["logits_f64"], dtype=torch.float64)).abs().max().item()
            wrong = (flipped.extract(net).eval()(x) - torch.tensor(spec["logits_f32"])).abs().max().item()
        rows.append((spec["name"], str(net), d32, d64, wrong, spec["logit_range"]))
    print(f"import: {import_s:.2f} s ({summary['parameters']:,} parameters, read {summary['seconds']['read']:.2f} s)")
    print("| subnet | resolution | largest |logit difference|, float32 | float64 | transforms the other way "
          "round, float32 | logit range |")
    print("| --- | --- | --- | --- | --- | --- |")
    for name, net, d32, d64, wrong, (lo, hi) in rows:
        print(f"| {name} | {net.split(':')[0][1:]} px | {d32:.1e} | {d64:.1e} | {wrong:.1e} | {lo:.2f} to {hi:.2f} |")
    worst = max(r[2] for r in rows)
    print(f"largest difference, float32: {worst:.2e} ({'within' if worst <= 1e-5 else 'ABOVE'} 1e-5)")


if __name__ == "__main__":
    main()
