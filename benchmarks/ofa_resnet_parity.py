"""ofa's ResNet family against once-for-all's own `OFAResNets`, run in a separate process
(benchmarks/ofa_resnet_reference.py; both packages are called `ofa`):

    python benchmarks/ofa_resnet_parity.py --reference /tmp/once-for-all --work /tmp/resnet-parity

The reference's checkpoint goes into our `ResNetSupernet` of the `resnet50` shape, key by key
(`ofa.families.resnet.once_for_all.source_key`, every key placed and every shape equal). Then, for
every subnet the reference ran, this checks four things against once-for-all's figures:

- our supernet's logits with that subnet active;
- the logits of our extracted static network;
- the static network's parameter count and our analytic count (`net_cost`);
- our `ofa-resnet50` predictor features against its `ResNetArchEncoder`;

and, with --predictor, the published predictor's top-1 through our MLP against its `AccuracyPredictor`.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import torch

from ofa.families.resnet.config import net_config, net_cost
from ofa.families.resnet.encodings import ENCODINGS
from ofa.families.resnet.once_for_all import subnet_from_arch
from ofa.spaces import get_space
from ofa.supernet.importers import read_supernet_weights
from ofa.families.resnet.subnet import encode
from ofa.families.resnet.supernet import ResNetSupernet


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--reference", type=Path, required=True, help="a checkout of mit-han-lab/once-for-all")
    ap.add_argument("--work", type=Path, required=True)
    ap.add_argument("--random", type=int, default=8)
    ap.add_argument("--predictor", type=Path, help="ofa_resnet50_acc_predictor.pth (../shared/ofa-reference/)")
    args = ap.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    ref = args.work / "reference"
    env = {**os.environ, "PYTHONPATH": str(args.reference.resolve())}
    subprocess.run([sys.executable, str(Path(__file__).with_name("ofa_resnet_reference.py")), "--out", str(ref),
                    "--random", str(args.random)] + (["--predictor", str(args.predictor.resolve())] if args.predictor else []),
                   env=env, check=True, cwd=args.work)

    space = get_space("resnet50")
    reference = json.loads((ref / "reference.json").read_text())
    # what `ofa import-supernet --format ofa` reads: every key placed, every shape checked, none left over
    ours = read_supernet_weights("ofa", ref / "ofa_resnet50.pth", space)
    model = ResNetSupernet(space, reference["classes"]).eval()
    model.load_state_dict(ours)
    print(f"keys: {len(ours)} placed by the importer of `ofa import-supernet --format ofa`")

    _, features = ENCODINGS["ofa-resnet50"]
    print("| subnet | px | supernet logits, max abs diff | static logits, max abs diff | params (theirs / ours / net_cost) "
          "| features equal |")
    print("| --- | --- | --- | --- | --- | --- |")
    worst = 0.0
    for i, item in enumerate(reference["subnets"]):
        subnet = subnet_from_arch(space, item["arch"])
        torch.manual_seed(1000 + i)
        x = torch.randn(2, 3, subnet.resolution, subnet.resolution)
        with torch.no_grad(), model.active(subnet):
            super_logits = model(x)
        static = model.extract(subnet).eval()
        with torch.no_grad():
            static_logits = static(x)
        d_super = (super_logits - torch.tensor(item["supernet_logits"])).abs().max().item()
        d_static = (static_logits - torch.tensor(item["static_logits"])).abs().max().item()
        worst = max(worst, d_super, d_static)
        params = sum(p.numel() for p in static.parameters())
        counted = net_cost(net_config(space, subnet, reference["classes"])).params
        ours_features = np.concatenate(features(space, encode(space, subnet)[None]), axis=1)[0]
        same = bool((ours_features == np.asarray(item["features"])).all())
        scale = float(np.abs(item["static_logits"]).max())
        print(f"| {i + 1} | {subnet.resolution} | {d_super:.1e} | {d_static:.1e} (logits up to {scale:.2f}) "
              f"| {item['params']:,} / {params:,} / {counted:,} | {same} |")
    print(f"largest difference in any logit: {worst:.2e}")
    if args.predictor:
        from ofa.families.resnet.once_for_all import predictor_arrays
        from ofa.predictor.models import FittedModel

        state = {k: v.float().numpy() for k, v in torch.load(args.predictor, map_location="cpu", weights_only=True).items()}
        mlp = FittedModel("mlp", predictor_arrays(state, len(ENCODINGS["ofa-resnet50"][0](space)), args.predictor.name))
        genes = np.stack([encode(space, subnet_from_arch(space, item["arch"])) for item in reference["subnets"]])
        ours = mlp.predict(np.concatenate(features(space, genes), axis=1))[0]
        theirs = 100 * np.asarray([item["predicted_top1"] for item in reference["subnets"]])
        print(f"published predictor, top-1 % of the {len(ours)} subnets: ours {np.round(ours, 3).tolist()}, "
              f"largest difference from once-for-all's {np.abs(ours - theirs).max():.1e} points")


if __name__ == "__main__":
    main()
