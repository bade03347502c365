"""once-for-all's published assets through ofa: prediction parity with once-for-all's own arithmetic,
then search on them at several budgets with NSGA-II and with once-for-all-style evolution.

    python benchmarks/ofa_assets.py --assets ../shared/ofa-reference -n 1000 --seeds 3

Parity: benchmarks/ofa_reference.py (a separate process, importing nothing of ofa) writes the plain
sums and MLP outputs of n random networks at 160-208 px; here the same networks are predicted from
the table and predictor as `ofa latency import` and `ofa predictor import` make them. Search: every
strategy spends population 100 x 100 generations on the note10 latency budget; hypervolume is that
of the front within the budget (ofa.search.result), seconds the search's own time.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from ofa.devices import get_device
from ofa.latency.importers import import_table
from ofa.latency.predict import LatencyPredictor
from ofa.predictor.importers import import_predictor
from ofa.search.evaluator import Evaluator
from ofa.search.run import search
from ofa.search.settings import Settings
from ofa.families.mbconv.subnet import Subnet
from ofa.spaces import encode, get_space
from ofa.families.parts import CostTable


def subnet(spec: dict) -> Subnet:
    stages = [range(4 * i, 4 * i + d) for i, d in enumerate(spec["d"])]
    return Subnet(spec["r"], tuple(tuple(spec["ks"][j] for j in s) for s in stages),
                  tuple(tuple(spec["e"][j] for j in s) for s in stages))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--assets", type=Path, required=True, help="folder with note10/ and acc_predictor.pth")
    ap.add_argument("-n", type=int, default=1000)
    ap.add_argument("--budgets", type=float, nargs="+", default=[15, 20, 25, 30])
    ap.add_argument("--seeds", type=int, default=3)
    args = ap.parse_args()
    space, note10 = get_space("mbv3-w1.2"), get_device("note10")

    start = time.perf_counter()
    table = import_table("ofa", [args.assets / "note10"], note10, space)
    predictor = import_predictor("ofa", args.assets / "acc_predictor.pth", space)
    print(f"import: table and predictor in {time.perf_counter() - start:.2f} s")

    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "reference.jsonl"
        subprocess.run([sys.executable, str(Path(__file__).with_name("ofa_reference.py")), "--tables",
                        str(args.assets / "note10"), "--predictor", str(args.assets / "acc_predictor.pth"),
                        "-n", str(args.n), "--out", str(out)], check=True)
        rows = [json.loads(line) for line in out.read_text().splitlines()]
    genes = np.stack([encode(space, subnet(r)) for r in rows])
    latency = LatencyPredictor(table, space)
    ms = latency.predict_genes(genes)
    acc, _ = predictor.predict_genes(genes)
    ref_ms = np.array([r["latency_ms"] for r in rows])
    ref_acc = np.array([r["accuracy"] for r in rows]) * 100
    print(f"\nparity over {len(rows)} networks at {sorted({r['r'] for r in rows})} px:")
    print(f"  latency: max |ours - once-for-all| {np.abs(ms - ref_ms).max():.2e} ms "
          f"(range {ref_ms.min():.2f}-{ref_ms.max():.2f} ms)")
    print(f"  accuracy: max |ours - once-for-all| {np.abs(acc - ref_acc).max():.2e} points "
          f"(range {ref_acc.min():.2f}-{ref_acc.max():.2f}%)")

    evaluator = Evaluator(space, predictor, {"note10": latency}, CostTable(space, table.num_classes))
    columns = ["acc", "latency:note10"]
    print("\n| budget | strategy | best predicted top-1 (mean ± sd) | latency of best | hypervolume | seconds |")
    print("| --- | --- | --- | --- | --- | --- |")
    for budget in args.budgets:
        for strategy in ("nsga2", "evolution"):
            runs = [search(evaluator, columns, {"latency:note10": budget}, strategy, Settings(100, 100, seed))
                    for seed in range(args.seeds)]
            best = [r.best() for r in runs]
            top1 = [b["accuracy"] for b in best]
            print(f"| {budget:g} ms | {strategy} | {statistics.mean(top1):.2f} ± {statistics.pstdev(top1):.2f} "
                  f"| {statistics.mean(b['latency_ms']['note10'] for b in best):.2f} ms "
                  f"| {statistics.mean(r.hypervolume for r in runs):.4f} "
                  f"| {statistics.mean(r.info['seconds'] for r in runs):.2f} |", flush=True)


if __name__ == "__main__":
    main()
