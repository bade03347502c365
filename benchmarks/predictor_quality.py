"""Predictor quality against the number of labelled subnets, for every model, on one fixed test set.

    python benchmarks/predictor_quality.py --supernet runs/cifar4k --train 100 250 500 --test 200

Uses RUN/predictor/accuracy.jsonl (`ofa predictor collect -n 700` first): the first N collected
subnets train (the stream is stratified, so any prefix spans the size range), the last --test rows
are held out for every row of the table. Tau in bins uses the device's latency table when given.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from ofa.predictor.accuracy_data import default_data_path, read_accuracy_data
from ofa.predictor.models import MODELS
from ofa.predictor.train import design, evaluate_model, latency_of
from ofa.spaces import get_space
from ofa.train.run_folder import RunFolder


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--supernet", required=True, type=Path)
    ap.add_argument("--train", type=int, nargs="+", default=[100, 250, 500])
    ap.add_argument("--test", type=int, default=200)
    ap.add_argument("--device", default=None)
    ap.add_argument("--models", nargs="+", default=list(MODELS))
    args = ap.parse_args()
    data = read_accuracy_data(default_data_path(args.supernet))
    rows = sorted((r for r in data.rows if r.get("source") == "collect"), key=lambda r: r["index"])
    space = get_space(data.supernet["space"])
    genes, top1 = design(space, rows)
    num_classes = int(RunFolder(args.supernet).read_info()["num_classes"])
    by, by_name = latency_of(space, genes, args.device, num_classes)
    test = np.arange(len(top1) - args.test, len(top1))
    print(f"{len(top1)} subnets, top-1 {top1.min():.1f}-{top1.max():.1f}% (sd {top1.std():.2f}); "
          f"test: last {len(test)}; bins by {by_name}")
    print("| model | train | RMSE | MAE | Kendall tau | Spearman | top-10% precision | tau in bins | fit s |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for n in args.train:
        if n > len(top1) - args.test:
            print(f"(skipping {n}: only {len(top1) - args.test} rows before the test set)")
            continue
        for kind in args.models:
            start = time.perf_counter()
            r, _, _ = evaluate_model(kind, space, genes, top1, by, by_name, np.arange(n), test)
            took = time.perf_counter() - start
            print(f"| {kind} | {n} | {r['rmse']:.2f} | {r['mae']:.2f} | {r['kendall_tau']:.3f} | {r['spearman']:.3f} "
                  f"| {r['top10_precision']:.2f} | {r['tau_in_bins']:.3f} | {took:.1f} |", flush=True)


if __name__ == "__main__":
    main()
