"""once-for-all's own subnets, computed by once-for-all's own code: the reference that
`benchmarks/ofa_supernet_parity.py` holds `ofa import-supernet` to. Imports nothing of our ofa; run it
with a once-for-all checkout first on the path (both packages are called `ofa`):

    PYTHONPATH=path/to/once-for-all python benchmarks/ofa_supernet_reference.py --net mbv3-w1.2 --out /tmp/ref

It builds `OFAMobileNetV3` (w1.0, w1.2) or `OFAProxylessNASNets` (w1.3), kernel 3/5/7, expand 3/4/6,
depth 2/3/4, with random weights, then moves
what a fresh network leaves at its defaults: BatchNorm statistics (estimated on random images, then
scaled and shifted) and affine parameters, and the kernel transform matrices (identity plus noise,
not symmetric). It saves that checkpoint as once-for-all's `{"state_dict": ...}` (in the newer key
spelling, and with --old-spelling in the older `.mobile_inverted_conv.` / `.bn.` one), then for each
subnet runs `set_active_subnet` + `get_active_subnet(preserve_weight=True)` and writes the static
subnet's logits on fixed random images, in float32 and float64.
"""

from __future__ import annotations

import argparse
import json
import random
from pathlib import Path

import torch

KERNELS, EXPANDS, DEPTHS = [3, 5, 7], [3, 4, 6], [2, 3, 4]
NETS = {"mbv3-w1.0": ("OFAMobileNetV3", 1.0), "mbv3-w1.2": ("OFAMobileNetV3", 1.2),
        "proxyless-w1.3": ("OFAProxylessNASNets", 1.3)}


def named_subnets(resolutions: list[int], n_random: int, seed: int, slots: int, stages: int) -> list[dict]:
    """Smallest, largest, one per kind of mixing, and seeded random ones; a resolution each. `slots`
    kernels and expands (one per block slot), `stages` depths (once-for-all caps each at its blocks)."""
    rng = random.Random(seed)
    same = lambda value, n: [value] * n  # noqa: E731
    mixed = lambda choices: [choices[i % 3] for i in range(slots)]  # noqa: E731
    nets = [
        {"name": "smallest", "ks": same(3, slots), "e": same(3, slots), "d": same(2, stages), "r": min(resolutions)},
        {"name": "largest", "ks": same(7, slots), "e": same(6, slots), "d": same(4, stages), "r": max(resolutions)},
        {"name": "mixed kernels", "ks": mixed(KERNELS), "e": same(6, slots), "d": same(4, stages), "r": 160},
        {"name": "mixed expands", "ks": same(7, slots), "e": mixed(EXPANDS), "d": same(4, stages), "r": 176},
        {"name": "mixed depths", "ks": same(5, slots), "e": same(4, slots), "d": [2, 3, 4, 3, 2, 4][:stages], "r": 192},
        {"name": "kernel 5, expand 4", "ks": same(5, slots), "e": same(4, slots), "d": same(3, stages), "r": 132},
    ]
    for i in range(n_random):
        nets.append({"name": f"random-{i + 1}", "ks": [rng.choice(KERNELS) for _ in range(slots)],
                     "e": [rng.choice(EXPANDS) for _ in range(slots)], "d": [rng.choice(DEPTHS) for _ in range(stages)],
                     "r": rng.choice(resolutions)})
    return nets


@torch.no_grad()
def perturb(net: torch.nn.Module, seed: int) -> None:
    """BatchNorm statistics from random images (the largest subnet, train mode), then every BN's
    statistics and affine parameters moved, and every kernel transform matrix moved off identity."""
    g = torch.Generator().manual_seed(seed)
    bns = [m for m in net.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    for m in bns:
        m.reset_running_stats()
        m.momentum = None
    net.train()
    net(torch.randn(16, 3, 224, 224, generator=g))
    net.eval()
    for m in bns:
        c = m.num_features
        m.running_mean.add_(0.1 * torch.randn(c, generator=g) * m.running_var.sqrt())
        m.running_var.mul_(torch.empty(c).uniform_(0.8, 1.25, generator=g))
        m.weight.copy_(torch.empty(c).uniform_(0.8, 1.2, generator=g))
        m.bias.copy_(0.1 * torch.randn(c, generator=g))
    for name, p in net.named_parameters():
        if name.endswith("_matrix"):
            p.add_(0.08 * torch.randn(p.shape, generator=g))
        elif name.endswith(".bias"):  # squeeze-excite and classifier biases start at zero
            p.copy_(0.1 * torch.randn(p.shape, generator=g))


def old_spelling(state: dict) -> dict:
    """The key spelling of once-for-all's first releases."""
    out = {}
    for k, v in state.items():
        k = k.replace(".conv.inverted_bottleneck.", ".mobile_inverted_conv.inverted_bottleneck.")
        k = k.replace(".conv.depth_conv.", ".mobile_inverted_conv.depth_conv.")
        k = k.replace(".conv.point_linear.", ".mobile_inverted_conv.point_linear.")
        out[k.replace(".bn.bn.", ".bn.").replace(".conv.conv.weight", ".conv.weight")] = v
    return out


def main() -> None:
    from ofa.imagenet_classification.elastic_nn import networks  # once-for-all's

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--net", default="mbv3-w1.2", choices=sorted(NETS))
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--random", type=int, default=4, help="random subnets besides the six named ones")
    ap.add_argument("--batch", type=int, default=2)
    ap.add_argument("--old-spelling", action="store_true")
    ap.add_argument("--residual-gamma", type=float, default=1.0,
                    help="scale the last BatchNorm of every residual block by this (a random network's "
                         "activations grow through its residual sums; 0.2 keeps them in range for an export check)")
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(args.seed)
    cls, width = NETS[args.net]
    net = getattr(networks, cls)(n_classes=1000, dropout_rate=0, width_mult=width, ks_list=KERNELS,
                                 expand_ratio_list=EXPANDS, depth_list=DEPTHS)
    perturb(net, args.seed)
    with torch.no_grad():
        for block in net.blocks:
            if block.shortcut is not None:
                bn = block.conv.point_linear.bn
                getattr(bn, "bn", bn).weight.mul_(args.residual_gamma)  # a dynamic block's BN wraps one
    state = net.state_dict()
    torch.save({"state_dict": old_spelling(state) if args.old_spelling else state}, args.out / "checkpoint.pth")
    inputs, rows = {}, []
    slots, stages = len(net.blocks) - 1, len(net.block_group_info)
    for spec in named_subnets(list(range(128, 225, 4)), args.random, args.seed, slots, stages):
        net.set_active_subnet(ks=spec["ks"], e=spec["e"], d=spec["d"])
        sub = net.get_active_subnet(preserve_weight=True).eval()
        x = torch.randn(args.batch, 3, spec["r"], spec["r"], generator=torch.Generator().manual_seed(spec["r"]))
        inputs[spec["name"]] = x
        with torch.no_grad():
            f32 = sub(x)
            f64 = sub.double()(x.double())
        rows.append({**spec, "logits_f32": f32.tolist(), "logits_f64": f64.tolist(),
                     "logit_range": [float(f32.min()), float(f32.max())]})
    torch.save(inputs, args.out / "inputs.pth")
    (args.out / "reference.json").write_text(json.dumps({"net": args.net, "seed": args.seed, "subnets": rows,
                                                         "stage_blocks": [len(g) for g in net.block_group_info]}))
    print(f"{args.out}: checkpoint.pth, inputs.pth, reference.json ({len(rows)} subnets, once-for-all's code)")


if __name__ == "__main__":
    main()
