"""The reference: once-for-all's own OFAMobileNetV3 training step, timed at the settings of
benchmarks/train_throughput.py. Run by that script in a separate process with a once-for-all checkout
first on sys.path (its package is also called `ofa`); imports nothing of ours.

    python benchmarks/ofa_reference_step.py --checkout PATH --resolution 64 --batch 32 --threads 2
"""

from __future__ import annotations

import argparse
import json
import sys
import time


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--checkout", required=True)
    ap.add_argument("--resolution", type=int, default=64)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--channels-last", action="store_true", help="not what once-for-all does: for comparison")
    ap.add_argument("--device", default="cpu", help="cpu or cuda (timed with a synchronize around the steps)")
    ap.add_argument("--bf16", action="store_true", help="bfloat16 autocast on CUDA, as ofa trains there")
    args = ap.parse_args()
    sys.path.insert(0, args.checkout)
    import torch
    import torch.nn.functional as F
    from ofa.imagenet_classification.elastic_nn.networks import OFAMobileNetV3

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    net = OFAMobileNetV3(n_classes=1000, width_mult=1.0, ks_list=[3, 5, 7], expand_ratio_list=[3, 4, 6],
                         depth_list=[2, 3, 4]).train().to(args.device)
    optimizer = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9, nesterov=True)
    x = torch.randn(args.batch, 3, args.resolution, args.resolution, device=args.device)
    if args.channels_last:
        net = net.to(memory_format=torch.channels_last)
        x = x.contiguous(memory_format=torch.channels_last)
    y = torch.randint(0, 1000, (args.batch,), device=args.device)
    cuda = torch.device(args.device).type == "cuda"
    autocast = torch.autocast("cuda", dtype=torch.bfloat16, enabled=cuda and args.bf16)

    def random_step() -> None:
        net.sample_active_subnet()
        optimizer.zero_grad(set_to_none=True)
        F.cross_entropy(net(x), y).backward()
        optimizer.step()

    def sandwich_step() -> None:
        """Largest on the labels; smallest and two random subnets on its detached output (KL)."""
        optimizer.zero_grad(set_to_none=True)
        net.set_max_net()
        logits = net(x)
        F.cross_entropy(logits, y).backward()
        soft = F.softmax(logits.detach(), dim=1)
        net.set_active_subnet(ks=3, e=3, d=2)
        students = [None, net.sample_active_subnet, net.sample_active_subnet]
        for choose in students:
            if choose is not None:
                choose()
            F.kl_div(F.log_softmax(net(x), dim=1), soft, reduction="batchmean").backward()
        optimizer.step()

    def timed(step) -> float:
        with autocast:
            for _ in range(args.warmup):
                step()
            if cuda:
                torch.cuda.synchronize()
            start = time.perf_counter()
            for _ in range(args.steps):
                step()
            if cuda:
                torch.cuda.synchronize()
        return args.batch * args.steps / (time.perf_counter() - start)

    print(json.dumps({"random_subnet_step_images_per_s": round(timed(random_step), 1),
                      "sandwich_step_images_per_s": round(timed(sandwich_step), 1)}))


if __name__ == "__main__":
    main()
