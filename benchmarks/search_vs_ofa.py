"""Our search against once-for-all's own at its own game: the best subnet predicted within a note10
latency budget, on once-for-all's published note10 tables and accuracy predictor (imported), against
`EvolutionFinder` at its default settings run by once-for-all's code in a separate process
(benchmarks/ofa_evolution_reference.py, a checkout first on its path). Per budget and seed: best
predicted top-1, its latency, and the seconds of the search itself (tables and predictor loaded).

    python benchmarks/search_vs_ofa.py --checkout /tmp/once-for-all --assets ../shared/ofa-reference \
        --budgets 15 20 25 30 --seeds 0 1 2

`--reference FILE` reuses an earlier reference run (its JSON lines) instead of running it again.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from ofa.devices import get_device
from ofa.latency.importers import import_table
from ofa.latency.predict import LatencyPredictor
from ofa.predictor.importers import import_predictor
from ofa.search.evaluator import Evaluator
from ofa.search.run import search
from ofa.search.settings import DEFAULT_STRATEGY, Settings
from ofa.spaces import encode, get_space
from ofa.families.parts import CostTable
from ofa_assets import subnet  # once-for-all's spec as our subnet (benchmarks/ofa_assets.py)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--checkout", type=Path, help="a once-for-all checkout (to run its EvolutionFinder)")
    ap.add_argument("--reference", type=Path, help="JSON lines of an earlier reference run, instead of --checkout")
    ap.add_argument("--assets", type=Path, required=True, help="folder with note10/ and acc_predictor.pth")
    ap.add_argument("--budgets", type=float, nargs="+", default=[15, 20, 25, 30])
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--strategies", nargs="+", default=[DEFAULT_STRATEGY])
    args = ap.parse_args()
    if args.reference is None:
        if args.checkout is None:
            ap.error("give --checkout (to run once-for-all's search) or --reference")
        args.reference = Path(tempfile.mkdtemp()) / "evolution.jsonl"
        env = {**os.environ, "PYTHONPATH": str(args.checkout.resolve())}
        subprocess.run([sys.executable, str(Path(__file__).with_name("ofa_evolution_reference.py")), "--assets",
                        str(args.assets.resolve()), "--budgets", *map(str, args.budgets), "--seeds", *map(str, args.seeds),
                        "--out", str(args.reference)], env=env, check=True, cwd=tempfile.gettempdir())
    reference = [json.loads(line) for line in args.reference.read_text().splitlines()]

    space = get_space("mbv3-w1.2")
    table = import_table("ofa", [args.assets / "note10"], get_device("note10"), space)
    predictor = import_predictor("ofa", args.assets / "acc_predictor.pth", space)
    latency = LatencyPredictor(table, space)
    evaluator = Evaluator(space, predictor, {"note10": latency}, CostTable(space, table.num_classes))
    print("| budget | search | seed | best predicted top-1 | its latency | seconds |")
    print("| --- | --- | --- | --- | --- | --- |")
    summary = []
    for budget in args.budgets:
        theirs = [r for r in reference if r["budget_ms"] == budget]
        for r in theirs:  # their best, predicted by our imported assets: the same numbers
            genes = encode(space, subnet(r["spec"]))[None]
            ours_acc, ours_ms = predictor.predict_genes(genes)[0][0], latency.predict_genes(genes)[0]
            assert abs(ours_acc - r["accuracy"]) < 1e-3 and abs(ours_ms - r["latency_ms"]) < 1e-9, (r, ours_acc, ours_ms)
            print(f"| {budget:g} ms | once-for-all EvolutionFinder | {r['seed']} | {r['accuracy']:.3f}% | "
                  f"{r['latency_ms']:.2f} ms | {r['seconds']:.2f} |")
        for strategy in args.strategies:
            runs = []
            for seed in args.seeds:
                result = search(evaluator, ["acc", "latency:note10"], {"latency:note10": budget}, strategy, Settings(seed=seed))
                best = result.best()
                runs.append((best["accuracy"], result.info["seconds"]))
                print(f"| {budget:g} ms | ofa {strategy} | {seed} | {best['accuracy']:.3f}% | "
                      f"{best['latency_ms']['note10']:.2f} ms | {result.info['seconds']:.2f} |", flush=True)
            summary.append((budget, strategy, np.mean([a for a, _ in runs]), min(a for a, _ in runs),
                            np.mean([r["accuracy"] for r in theirs]), max(r["accuracy"] for r in theirs),
                            np.mean([s for _, s in runs]), np.mean([r["seconds"] for r in theirs])))
    print("\n| budget | search | mean top-1 (worst seed) | EvolutionFinder mean (best seed) | seconds | its seconds | share |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for budget, strategy, mean, worst, their_mean, their_best, s, their_s in summary:
        print(f"| {budget:g} ms | {strategy} | {mean:.3f}% ({worst:.3f}%) | {their_mean:.3f}% ({their_best:.3f}%) | "
              f"{s:.2f} | {their_s:.2f} | {s / their_s:.3f} |")


if __name__ == "__main__":
    main()
