"""Our search against once-for-all's on its ResNet50 tutorial's terms: the best subnet predicted by
its published ResNet50 accuracy predictor (imported) within a MACs budget, against `EvolutionFinder`
at its default settings run by once-for-all's own code in a separate process
(benchmarks/ofa_resnet_evolution_reference.py, a checkout first on its path). First checks that
both sides count the same MACs and predict the same accuracy for the same subnets.

    python benchmarks/resnet_search_vs_ofa.py --reference /tmp/resnet-evolution.jsonl \
        --predictor ../shared/ofa-reference/ofa_resnet50_acc_predictor.pth --seeds 0 1 2
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from ofa.families.resnet.once_for_all import subnet_from_arch
from ofa.predictor.importers import import_predictor
from ofa.search.evaluator import Evaluator
from ofa.search.run import DEFAULT_CLASSES, search
from ofa.search.settings import DEFAULT_STRATEGY, Settings
from ofa.spaces import encode, get_space
from ofa.families.parts import CostTable


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--reference", type=Path, required=True, help="JSON lines of ofa_resnet_evolution_reference.py")
    ap.add_argument("--predictor", type=Path, required=True, help="ofa_resnet50_acc_predictor.pth")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--strategies", nargs="+", default=[DEFAULT_STRATEGY, "evolution"])
    args = ap.parse_args()
    lines = [json.loads(line) for line in args.reference.read_text().splitlines()]
    counted, reference = lines[0]["counted"], lines[1:]

    space = get_space("resnet50")
    predictor = import_predictor("ofa", args.predictor, space)
    evaluator = Evaluator(space, predictor, {}, CostTable(space, DEFAULT_CLASSES))

    def ours(arch) -> tuple[float, float]:
        genes = encode(space, subnet_from_arch(space, arch))[None]
        return float(predictor.predict_genes(genes)[0][0]), float(evaluator.costs.macs_params(genes)[0, 0]) / 1e6

    worst = max(abs(ours(c["arch"])[1] - c["mmacs"]) for c in counted)
    print(f"MACs of {len(counted)} random subnets: largest difference to once-for-all's count {worst:.6f} MMACs")
    assert worst < 1e-6, worst
    print("| MACs budget | search | seed | best predicted top-1 | its MMACs | evaluations | seconds |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    summary = []
    for budget in sorted({r["budget_mmacs"] for r in reference}):
        theirs = [r for r in reference if r["budget_mmacs"] == budget]
        for r in theirs:
            acc, mmacs = ours(r["arch"])  # their best, by our imported predictor and our count: the same numbers
            assert abs(acc - r["accuracy"]) < 1e-3 and abs(mmacs - r["mmacs"]) < 1e-6, (r, acc, mmacs)
            print(f"| {budget:g}M | once-for-all EvolutionFinder | {r['seed']} | {r['accuracy']:.3f}% | "
                  f"{r['mmacs']:.1f} | {100 * (1 + r['generations'])} | {r['seconds']:.1f} |")
        for strategy in args.strategies:
            runs = []
            for seed in args.seeds:
                result = search(evaluator, ["acc", "macs"], {"macs": budget * 1e6}, strategy, Settings(seed=seed))
                best = result.best()
                runs.append(best["accuracy"])
                print(f"| {budget:g}M | ofa {strategy} | {seed} | {best['accuracy']:.3f}% | {best['macs'] / 1e6:.1f} | "
                      f"{result.problem.evaluations} | {result.info['seconds']:.1f} |", flush=True)
            summary.append((budget, strategy, np.mean(runs), min(runs), np.mean([r["accuracy"] for r in theirs]),
                            max(r["accuracy"] for r in theirs)))
    print("\n| MACs budget | search | mean top-1 (worst seed) | EvolutionFinder mean (best seed) |")
    print("| --- | --- | --- | --- |")
    for budget, strategy, mean, low, their_mean, their_best in summary:
        print(f"| {budget:g}M | {strategy} | {mean:.3f}% ({low:.3f}%) | {their_mean:.3f}% ({their_best:.3f}%) |")


if __name__ == "__main__":
    main()
