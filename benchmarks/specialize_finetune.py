"""Held-out accuracy of a specialized model after BN calibration and after 1 and 3 epochs of
fine-tuning (at the recipe's last peak learning rate and at a tenth of it), against the same
architecture trained from scratch for the same total epochs (the supernet's plus the fine-tuning's).

    python benchmarks/specialize_finetune.py --supernet runs/cifar4k --subnet SUBNET
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).parent))
from supernet_vs_scratch import train_from_scratch  # noqa: E402

from ofa.spaces import to_subnet  # noqa: E402
from ofa.specialize.finetune import finetune  # noqa: E402
from ofa.train.run_accuracy import SubnetMeter  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--supernet", type=Path, required=True)
    ap.add_argument("--subnet", required=True)
    ap.add_argument("--epochs", type=int, nargs="+", default=[1, 3])
    ap.add_argument("--lr-scales", type=float, nargs="+", default=[1.0, 0.1],
                    help="fine-tuning peak learning rates, as fractions of the recipe's last phase's")
    args = ap.parse_args()
    torch.set_num_threads(2)
    meter = SubnetMeter(args.supernet, device="cpu")
    recipe = meter.recipe
    net = to_subnet(meter.model.space, args.subnet)
    supernet_epochs = sum(p.epochs for p in recipe.phases)
    teacher = meter.calibrated("max")
    print(f"subnet {net}; supernet trained {supernet_epochs} epochs on {recipe.data}")
    print("| model | epochs in all | top-1 (held-out) | seconds |")
    print("| --- | --- | --- | --- |")
    print(f"| supernet subnet, BN re-calibrated | {supernet_epochs} | {meter.accuracy(meter.calibrated(net))['top1']:.2f} | - |")
    for scale in args.lr_scales:
        for n in args.epochs:
            static = meter.calibrated(net)
            start = time.perf_counter()
            with tempfile.TemporaryDirectory() as tmp:
                finetune(static, teacher, recipe, n, Path(tmp), torch.device("cpu"), lr_scale=scale)
            took = time.perf_counter() - start
            print(f"| + {n} epoch(s) fine-tuning, peak lr x{scale:g} | {supernet_epochs + n} | "
                  f"{meter.accuracy(static)['top1']:.2f} | {took:.0f} |", flush=True)
    for n in args.epochs:
        start = time.perf_counter()
        acc = train_from_scratch(recipe, net, supernet_epochs + n, recipe.phases[0].lr * recipe.batch_size / recipe.lr_batch_size,
                                 recipe.phases[0].warmup_epochs)
        print(f"| from scratch | {supernet_epochs + n} | {acc['top1']:.2f} | {time.perf_counter() - start:.0f} |")


if __name__ == "__main__":
    main()
