"""once-for-all's tutorial search, run by once-for-all's own code: `EvolutionFinder` at its default
settings (population 100, 500 generations, parents 25%, mutants 50%, mutation probability 0.1) on its
note10 latency tables and its accuracy predictor. Imports nothing of our ofa; run it with a
once-for-all checkout first on the path (both packages are called `ofa`). Its tutorial needs tqdm and gdown.

    PYTHONPATH=path/to/once-for-all python benchmarks/ofa_evolution_reference.py \
        --assets ../shared/ofa-reference --budgets 15 20 25 30 --seeds 0 1 2 --out /tmp/evolution.jsonl

Two things differ from the tutorial notebook, neither in the search: the tables and the predictor
are read from local files (the notebook downloads them), with yaml.safe_load (the tutorial's
`yaml.load` without a Loader fails on PyYAML 6); and the search keeps to 160-208 px, because the
published 224 px table lacks half of its block entries (the finder raises a KeyError there).
"""

from __future__ import annotations

import argparse
import json
import random
import time
from pathlib import Path

import numpy as np
import torch
import yaml

RESOLUTIONS = [160, 176, 192, 208]


def main() -> None:
    from ofa.tutorial.accuracy_predictor import AccuracyPredictor  # once-for-all's
    from ofa.tutorial.evolution_finder import EvolutionFinder
    from ofa.tutorial.latency_table import LatencyEstimator, LatencyTable

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--assets", type=Path, required=True, help="folder with note10/ and acc_predictor.pth")
    ap.add_argument("--budgets", type=float, nargs="+", default=[15, 20, 25, 30])
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args()
    torch.set_num_threads(2)
    predictor = AccuracyPredictor(pretrained=False, device="cpu")
    predictor.model.load_state_dict(torch.load(args.assets / "acc_predictor.pth", map_location="cpu", weights_only=True))
    table = LatencyTable.__new__(LatencyTable)  # its __init__ downloads; the same tables, read from disk
    table.latency_tables = {}
    for r in RESOLUTIONS:
        estimator = LatencyEstimator.__new__(LatencyEstimator)
        estimator.lut = yaml.safe_load((args.assets / "note10" / f"{r}_lookup_table.yaml").read_text())
        table.latency_tables[r] = estimator
    with args.out.open("w") as f:
        for budget in args.budgets:
            for seed in args.seeds:
                random.seed(seed)
                np.random.seed(seed)
                torch.manual_seed(seed)
                finder = EvolutionFinder("note10", budget, table, predictor)
                finder.arch_manager.resolutions = RESOLUTIONS
                start = time.perf_counter()
                _, (acc, spec, latency) = finder.run_evolution_search()
                seconds = time.perf_counter() - start
                row = {"budget_ms": budget, "seed": seed, "accuracy": 100 * acc, "latency_ms": latency,
                       "seconds": seconds, "spec": {"r": spec["r"][0], "d": spec["d"], "ks": spec["ks"], "e": spec["e"]}}
                f.write(json.dumps(row) + "\n")
                f.flush()
                print(json.dumps({k: row[k] for k in ("budget_ms", "seed", "accuracy", "latency_ms", "seconds")}),
                      flush=True)


if __name__ == "__main__":
    main()
