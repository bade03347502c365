"""once-for-all's elastic ResNet50, computed by once-for-all's own code: the reference that
`benchmarks/ofa_resnet_parity.py` holds ofa's ResNet family to. Imports nothing of our ofa; run it
with a once-for-all checkout first on the path (both packages are called `ofa`):

    PYTHONPATH=path/to/once-for-all python benchmarks/ofa_resnet_reference.py --out /tmp/ref

It builds `OFAResNets` as its model zoo's `ofa_resnet50` (depth offsets 0/1/2, expand 0.2/0.25/0.35,
width 0.65/0.8/1.0) with random weights, then moves what a fresh network leaves at its defaults:
every BatchNorm's statistics and affine parameters. It saves that checkpoint as once-for-all's
`{"state_dict": ...}`. For each subnet (largest, smallest, seeded random ones from its own
`sample_active_subnet`) it writes the logits of the supernet and of
`get_active_subnet(preserve_weight=True)` on seeded random images, the static subnet's parameter
count, and the features of `ResNetArchEncoder` (the input of its ResNet50 accuracy predictor);
with --predictor, that predictor's output for each subnet too.
"""

from __future__ import annotations

import argparse
import json
import random
from pathlib import Path

import torch

RESOLUTIONS = [128, 144, 160, 176, 192, 224, 240, 256]  # its ResNet50 tutorial's
CLASSES = 10


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--random", type=int, default=8)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--max-resolution", type=int, default=160, help="largest input drawn (CPU time)")
    ap.add_argument("--predictor", type=Path, help="ofa_resnet50_acc_predictor.pth: its predictions too")
    args = ap.parse_args()

    from ofa.imagenet_classification.elastic_nn.networks import OFAResNets
    from ofa.nas.accuracy_predictor.arch_encoder import ResNetArchEncoder

    torch.manual_seed(args.seed)
    net = OFAResNets(n_classes=CLASSES, dropout_rate=0, depth_list=[0, 1, 2], expand_ratio_list=[0.2, 0.25, 0.35],
                     width_mult_list=[0.65, 0.8, 1.0])
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.uniform_(-0.3, 0.3)
                m.running_var.uniform_(0.5, 1.5)
                m.weight.uniform_(0.3, 0.9)  # below 1: fifty blocks deep, the logits stay finite
                m.bias.uniform_(-0.1, 0.1)
    net.eval()
    args.out.mkdir(parents=True, exist_ok=True)
    torch.save({"state_dict": net.state_dict()}, args.out / "ofa_resnet50.pth")

    encoder = ResNetArchEncoder(image_size_list=RESOLUTIONS, depth_list=[0, 1, 2], expand_list=[0.2, 0.25, 0.35],
                                width_mult_list=[0.65, 0.8, 1.0])
    small = [r for r in RESOLUTIONS if r <= args.max_resolution]
    n_blocks = len(net.blocks)
    archs = [{"d": [2, 2, 2, 2, 2], "e": [0.35] * n_blocks, "w": [2] * 6, "image_size": small[-1]},
             {"d": [0, 0, 0, 0, 0], "e": [0.2] * n_blocks, "w": [0] * 6, "image_size": small[0]}]
    random.seed(args.seed)
    for _ in range(args.random):
        arch = net.sample_active_subnet()
        archs.append({**arch, "image_size": random.choice(small)})
    subnets = []
    for i, arch in enumerate(archs):
        net.set_active_subnet(d=arch["d"], e=arch["e"], w=arch["w"])
        static = net.get_active_subnet(preserve_weight=True).eval()
        torch.manual_seed(1000 + i)
        x = torch.randn(2, 3, arch["image_size"], arch["image_size"])
        with torch.no_grad():
            subnets.append({"arch": arch, "supernet_logits": net(x).tolist(), "static_logits": static(x).tolist(),
                            "params": sum(p.numel() for p in static.parameters()),
                            "features": encoder.arch2feature(arch).tolist()})
    if args.predictor:
        from ofa.nas.accuracy_predictor.acc_predictor import AccuracyPredictor

        predictor = AccuracyPredictor(encoder, checkpoint_path=str(args.predictor), device="cpu")
        with torch.no_grad():
            for item, acc in zip(subnets, predictor.predict_acc([s["arch"] for s in subnets]).tolist()):
                item["predicted_top1"] = acc
    (args.out / "reference.json").write_text(json.dumps({"subnets": subnets, "classes": CLASSES}))


if __name__ == "__main__":
    main()
