"""`ofa specialize` on the local CPU for many budgets at once: each exported model's measured
latency against its budget and against the table's prediction, and the wall time by stage.

    python benchmarks/specialize_sweep.py --supernet runs/cifar4k --budgets 10 --out /tmp/sweep
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from ofa.latency.recalibrate import open_device_table
from ofa.spaces import get_space
from ofa.specialize.run import Request, specialize
from ofa.specialize.targets import Target
from ofa.train.run_folder import RunFolder


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--supernet", type=Path, required=True)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--budgets", type=int, default=10, help="budgets spread from 15%% to 95%% of the latency range")
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args()
    space = get_space(RunFolder(args.supernet).read_info()["space"])
    table, path, profile = open_device_table(args.device, space, warn=print)  # recalibrated here if needed
    lo, hi = table.extremes()
    budgets = [float(f"{lo + f * (hi - lo):.3g}") for f in np.linspace(0.15, 0.95, args.budgets)]
    start = time.perf_counter()
    summary = specialize(Request(args.supernet, [Target(profile.name, b) for b in budgets], args.out, force=True))
    wall = time.perf_counter() - start
    print(f"table {path}; range {lo:.3f}-{hi:.3f} ms; {len(budgets)} models in {wall:.1f} s")
    print("| budget ms | predicted ms | measured ms | measured / budget | measured / predicted | tries | predicted top-1 | top-1 after BN |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for m in summary["models"]:
        card = json.loads((Path(m["folder"]) / "card.json").read_text())
        lat, acc = card["latency"], card["accuracy"]
        print(f"| {card['budget_ms']:.3f} | {lat['predicted_ms']:.3f} | {lat['measured_ms']:.3f} | "
              f"{lat['measured_ms'] / card['budget_ms']:.2f} | {lat['measured_ms'] / lat['predicted_ms']:.2f} | "
              f"{len(lat['attempts'])} | {acc['predicted']:.2f} | {acc['bn_calibrated']['top1']:.2f} |")
    within = [m["latency"]["within_budget"] for m in summary["models"]]
    used = [m["latency"]["measured_ms"] / m["budget_ms"] for m in summary["models"]]
    print(f"within budget: {sum(within)}/{len(within)}; budget used: median {np.median(used):.2f}, "
          f"min {min(used):.2f}; seconds by stage: {json.dumps({k: round(v, 1) for k, v in summary['seconds'].items()})}")


if __name__ == "__main__":
    main()
