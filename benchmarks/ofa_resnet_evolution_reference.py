"""once-for-all's ResNet50 search, run by once-for-all's own code: `EvolutionFinder` at its default
settings (population 100, 500 generations, parents 25%, mutants 50%, mutation probability 0.1) under
a MACs constraint (`ResNet50FLOPsModel`, MMACs) with its published ResNet50 accuracy predictor, as its
`ofa_resnet50_example` tutorial builds them. Imports nothing of our ofa; run it with a once-for-all
checkout first on the path (both packages are called `ofa`):

    PYTHONPATH=path/to/once-for-all python benchmarks/ofa_resnet_evolution_reference.py \
        --predictor ../shared/ofa-reference/ofa_resnet50_acc_predictor.pth --budgets 1000 2000 \
        --seeds 0 1 --out /tmp/resnet-evolution.jsonl

Differences from the tutorial, none in the search: the network is built without its weights (MACs
need none) and the predictor is read from a local file. `--generations` shortens the run; each line
also holds the MACs once-for-all counts for a few random subnets (`--count`), for the side that
compares to check that both count the same.
"""

from __future__ import annotations

import argparse
import json
import random
import time
from pathlib import Path

import numpy as np
import torch

IMAGE_SIZES = [128, 144, 160, 176, 192, 224, 240, 256]


def main() -> None:
    from ofa.imagenet_classification.elastic_nn.networks import OFAResNets  # once-for-all's
    from ofa.nas.accuracy_predictor import AccuracyPredictor, ResNetArchEncoder
    from ofa.nas.efficiency_predictor import ResNet50FLOPsModel
    from ofa.nas.search_algorithm import EvolutionFinder

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--predictor", type=Path, required=True, help="ofa_resnet50_acc_predictor.pth")
    ap.add_argument("--budgets", type=float, nargs="+", default=[1000, 2000], help="MMACs")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    ap.add_argument("--generations", type=int, default=500)
    ap.add_argument("--count", type=int, default=20, help="random subnets whose MACs are written for comparison")
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args()
    torch.set_num_threads(1)
    net = OFAResNets(dropout_rate=0, depth_list=[0, 1, 2], expand_ratio_list=[0.2, 0.25, 0.35],
                     width_mult_list=[0.65, 0.8, 1.0])
    encoder = ResNetArchEncoder(image_size_list=IMAGE_SIZES, depth_list=net.depth_list, expand_list=net.expand_ratio_list,
                                width_mult_list=net.width_mult_list, base_depth_list=net.BASE_DEPTH_LIST)
    predictor = AccuracyPredictor(encoder, 400, 3, checkpoint_path=str(args.predictor), device="cpu")
    efficiency = ResNet50FLOPsModel(net)
    random.seed(0)
    counted = []
    for _ in range(args.count):
        arch = encoder.random_sample_arch()
        counted.append({"arch": arch, "mmacs": efficiency.get_efficiency(arch)})
    with args.out.open("w") as f:
        f.write(json.dumps({"counted": counted}) + "\n")
        for budget in args.budgets:
            for seed in args.seeds:
                random.seed(seed)
                np.random.seed(seed)
                torch.manual_seed(seed)
                finder = EvolutionFinder(efficiency, predictor, max_time_budget=args.generations)
                start = time.perf_counter()
                _, (acc, arch, mmacs) = finder.run_evolution_search(budget)
                row = {"budget_mmacs": budget, "seed": seed, "generations": args.generations, "accuracy": 100 * acc,
                       "mmacs": mmacs, "seconds": time.perf_counter() - start, "arch": arch}
                f.write(json.dumps(row) + "\n")
                f.flush()
                print(json.dumps({k: row[k] for k in ("budget_mmacs", "seed", "accuracy", "mmacs", "seconds")}),
                      flush=True)


if __name__ == "__main__":
    main()
