"""Search strategies compared by hypervolume at equal evaluations, and the time of one search.

    python benchmarks/search_strategies.py --supernet runs/cifar4k --device cpu \
        --evaluations 1000 5000 10000 --seeds 5

Every strategy searches the same problem (the run's predictor and the device's table, accuracy
against latency, no budget) with population 100; hypervolume is pymoo's HV on the box between the
ideal point (0% error, the smallest subnet's latency) and the reference (the smallest subnet's
error, the largest subnet's latency). `--rates` also compares NSGA-II mutation rates at the
largest evaluation count. `--timing` (alone) times 100 x 100 NSGA-II at the `--rates` given (default
0.02, 0.05, 0.1), interleaved over 5 seeds, and the share spent in pymoo.
"""

from __future__ import annotations

import argparse
import statistics

from ofa.search.run import make_evaluator, open_run_predictor, search
from ofa.search.settings import Settings
from ofa.search.strategies import STRATEGIES


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--supernet", required=True)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--evaluations", type=int, nargs="+", default=[1000, 5000, 10000])
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--strategies", nargs="+", default=list(STRATEGIES))
    ap.add_argument("--rates", type=float, nargs="*", default=[])
    ap.add_argument("--timing", action="store_true")
    ap.add_argument("--predictor", default=None, help="predictor .json (default: the run's)")
    args = ap.parse_args()
    predictor, _, classes = open_run_predictor(args.supernet, args.predictor)
    evaluator, _ = make_evaluator(predictor.space, predictor, [args.device], classes)
    columns = ["acc", f"latency:{args.device}"]
    if args.timing:
        # rates interleaved seed by seed: this VM's speed drifts, so side by side is the only fair order
        rates = args.rates or [0.02, 0.05, 0.1]
        runs: dict[float, list] = {r: [] for r in rates}
        for seed in range(5):
            for r in rates:
                runs[r].append(search(evaluator, columns, {}, "nsga2", Settings(100, 100, seed, r)))
        print("| mutation rate | total | predictor + table + MACs | pymoo and operators | hypervolume |")
        print("| --- | --- | --- | --- | --- |")
        for r, results in runs.items():
            total = statistics.median(x.info["seconds"] for x in results)
            evaluating = statistics.median(x.info["seconds_evaluating"] for x in results)
            print(f"| {r} | {total:.3f} s | {evaluating:.3f} s | {total - evaluating:.3f} s ({(total - evaluating) / total:.0%}) "
                  f"| {statistics.mean(x.hypervolume for x in results):.4f} |")
        r = search(evaluator, columns, {}, "evolution", Settings(100, 500, 0))
        print(f"once-for-all's evolution at its defaults (population 100, 500 generations): {r.info['seconds']:.3f} s")
        return
    print("| strategy | evaluations | hypervolume (mean ± sd over seeds) | front size | seconds |")
    print("| --- | --- | --- | --- | --- |")
    for evaluations in args.evaluations:
        for name in args.strategies:
            hv, size, secs = [], [], []
            for seed in range(args.seeds):
                r = search(evaluator, columns, {}, name, Settings(100, evaluations // 100, seed))
                hv.append(r.hypervolume)
                size.append(len(r.genes))
                secs.append(r.info["seconds"])
            print(f"| {name} | {evaluations} | {statistics.mean(hv):.4f} ± {statistics.stdev(hv) if len(hv) > 1 else 0:.4f} "
                  f"| {statistics.mean(size):.0f} | {statistics.mean(secs):.2f} |", flush=True)
    if args.rates:
        print("\n| NSGA-II mutation rate | evaluations | hypervolume |\n| --- | --- | --- |")
        evaluations = max(args.evaluations)
        for rate in args.rates:
            hv = [search(evaluator, columns, {}, "nsga2", Settings(100, evaluations // 100, seed, rate)).hypervolume
                  for seed in range(args.seeds)]
            print(f"| {rate} | {evaluations} | {statistics.mean(hv):.4f} ± {statistics.stdev(hv):.4f} |", flush=True)


if __name__ == "__main__":
    main()
