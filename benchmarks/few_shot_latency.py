"""Few-shot device models (`ofa latency fit`) against the plain linear fit on MACs and block count,
on devices of different character measured here: ONNX Runtime on the CPU at 1 and 2 threads, at
batch 1 and 32, and PyTorch eager (timed by torch itself, as a user's own benchmark tool would).

Per device: N random subnets of mbv3-w1.2 are measured end to end twice (the mean is the truth;
the second against the first says how repeatable the device is, a ceiling for any model); then, for each K, R random
draws of K of them fit a model that predicts the other N - K (held out, never seen by the fit).
Reported per K: mean Spearman, mean share within +-10% and mean MAPE over the draws, for the model
with once-for-all's Note10 table as prior (a phone: another device entirely), the model without a
prior (analytic features only) and the linear baseline.

    taskset -c 0,1 python benchmarks/few_shot_latency.py --out bench-few-shot.json
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np

from ofa.devices import profile_from_dict
from ofa.latency.features import feature_layout
from ofa.latency.fit import BASELINE, Errors, fit_model, fit_plain, predict
from ofa.latency.measure import measure_subnets
from ofa.latency.table import find_table, load_table
from ofa.spaces import get_space, sample_subnet

SPACE, PRIOR_DEVICE, RESOLUTIONS = "mbv3-w1.2", "note10", [160, 176, 192, 208]  # note10 is complete there
SETTINGS = {  # name -> (runtime, threads, batch, warmup, iterations); each time is the p10 of the runs
    "ort-cpu-1t-b1": ("ort", 1, 1, 5, 30),
    "ort-cpu-2t-b1": ("ort", 2, 1, 5, 30),
    "ort-cpu-1t-b32": ("ort", 1, 32, 1, 5),
    "torch-eager-1t-b1": ("torch", 1, 1, 5, 30),
}


def profile(name: str, threads: int, batch: int, warmup: int, iterations: int):
    return profile_from_dict({"name": name, "backend": "onnxruntime-cpu", "precision": "fp32", "batch_size": batch,
                              "threads": threads, "warmup": warmup, "iterations": iterations, "rounds": 1,
                              "statistic": "p10", "resolutions": RESOLUTIONS})


def torch_eager(space, subnets, threads: int, warmup: int, iterations: int) -> list[float]:
    """p10 ms of the subnet's StaticNet forward in eager PyTorch, no grad, batch 1."""
    import torch

    from ofa.supernet import net_config
    from ofa.families.mbconv.static import StaticNet

    torch.set_num_threads(threads)
    out = []
    for s in subnets:
        torch.manual_seed(0)
        model = StaticNet(net_config(space, s, 1000)).eval()
        x = torch.randn(1, 3, s.resolution, s.resolution)
        with torch.no_grad():
            for _ in range(warmup):
                model(x)
            times = []
            for _ in range(iterations):
                t = time.perf_counter_ns()
                model(x)
                times.append((time.perf_counter_ns() - t) / 1e6)
        out.append(float(np.percentile(times, 10)))
    return out


def evaluate(layouts: dict, y: np.ndarray, ks: list[int], draws: int) -> dict:
    """Held-out errors of each model at each K, averaged over `draws` random draws."""
    rng = np.random.default_rng(0)
    out = {}
    for k in ks:
        rows: dict[str, list[Errors]] = {"with prior": [], "no prior": [], "linear MACs+blocks": []}
        for _ in range(draws):
            train = rng.choice(len(y), size=k, replace=False)
            test = np.setdiff1d(np.arange(len(y)), train)
            for label, (layout, x) in layouts.items():
                report = fit_model(layout, x[train], y[train])
                rows[label].append(Errors.of(predict(layout, report, x[test]), y[test]))
            layout, x = layouts["no prior"]
            cols = [layout.names.index(n) for n in BASELINE]
            w, b = fit_plain(x[train][:, cols], y[train])
            rows["linear MACs+blocks"].append(Errors.of(x[test][:, cols] @ w + b, y[test]))
        out[k] = {label: {"spearman": float(np.mean([e.spearman for e in errs])),
                          "within_10pct": float(np.mean([e.within_10pct for e in errs])),
                          "mape": float(np.mean([e.mape for e in errs]))} for label, errs in rows.items()}
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("-n", type=int, default=80, help="subnets measured per device")
    ap.add_argument("--draws", type=int, default=20)
    ap.add_argument("--only", nargs="*", default=list(SETTINGS))
    args = ap.parse_args()
    space = get_space(SPACE)
    rng = np.random.default_rng(1)
    sub = space.restrict(resolutions=RESOLUTIONS)
    subnets = [sample_subnet(sub, "max"), sample_subnet(sub, "min")]
    subnets += [sample_subnet(sub, "uniform", rng) for _ in range(args.n - 2)]
    prior = load_table(find_table(PRIOR_DEVICE, SPACE))
    results = json.loads(args.out.read_text()) if args.out.is_file() else {}
    for name in args.only:
        kind, threads, batch, warmup, iterations = SETTINGS[name]
        if name not in results:
            start, runs = time.perf_counter(), []
            for _ in range(2):  # twice, in two passes: how far two measurements of one device agree
                if kind == "ort":
                    runs.append(measure_subnets(space, subnets, profile(name, threads, batch, warmup, iterations), 1000))
                else:
                    runs.append(torch_eager(space, subnets, threads, warmup, iterations))
            results[name] = {"subnets": [str(s) for s in subnets], "runs_ms": runs,
                             "seconds": time.perf_counter() - start, "threads": threads, "batch": batch}
            args.out.write_text(json.dumps(results, indent=1))
        first, second = (np.asarray(r) for r in results[name]["runs_ms"])
        results[name]["repeatability"] = asdict(Errors.of(second, first))
        y = (first + second) / 2
        layouts = {}
        for label, p in (("with prior", prior), ("no prior", None)):
            layout = feature_layout(space, RESOLUTIONS, 1000, batch, p)
            layouts[label] = (layout, layout.of(subnets))
        results[name]["few_shot"] = evaluate(layouts, y, [k for k in (5, 10, 20, 50) if k <= len(y) - 5], args.draws)
        args.out.write_text(json.dumps(results, indent=1))
        again = results[name]["repeatability"]
        print(f"{name}: {len(y)} subnets, {y.min():.2f}-{y.max():.2f} ms, measured twice in "
              f"{results[name]['seconds']:.0f} s; second against first: rho {again['spearman']:.3f}, "
              f"{again['within_10pct']:.0f}% within ±10%, MAPE {again['mape']:.1f}", file=sys.stderr)
        for k, rows in results[name]["few_shot"].items():
            print("  K=%-3s " % k + "  ".join(f"{label}: rho {r['spearman']:.3f} ±10% {r['within_10pct']:.0f}% "
                                              f"MAPE {r['mape']:.1f}" for label, r in rows.items()), file=sys.stderr)


if __name__ == "__main__":
    main()
