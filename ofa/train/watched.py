"""The subnets a training run follows from start to end: the largest, a middle one, the smallest and
a few seeded random ones, validated after each epoch and plotted in accuracy.png."""

from __future__ import annotations

import numpy as np

from ofa.spaces import Space, Subnet, sample_subnet


def validation_subnets(space: Space, seed: int, n_random: int = 2) -> dict[str, Subnet]:
    """Largest, middle, smallest and a few seeded random subnets: the same set all run long."""
    nets = {"max": sample_subnet(space, "max"), "mid": sample_subnet(space, "mid"), "min": sample_subnet(space, "min")}
    rng = np.random.default_rng([seed, 7])
    for i in range(n_random):
        nets[f"random-{i + 1}"] = sample_subnet(space, "uniform", rng)
    return nets


def validate_subnets(model, subnets: dict[str, Subnet], loaders, device, num_images: int) -> dict[str, dict]:
    """Each subnet extracted, BN re-calibrated on training images (`loaders`: ofa.train.loaders),
    then evaluated; the supernet itself is left untouched, and no global random state is consumed."""
    import torch

    from ofa.train.accuracy import evaluate
    from ofa.train.bn_calibration import recalibrate_bn

    results = {}
    with torch.random.fork_rng(devices=[]):
        for name, subnet in subnets.items():
            static = model.extract(subnet).to(device, memory_format=loaders.memory_format)
            recalibrate_bn(static, loaders.calibration(), num_images, subnet.resolution, device)
            acc = evaluate(static, loaders.validation(), subnet.resolution, device)
            results[name] = {"subnet": str(subnet), "top1": acc.top1, "top5": acc.top5, "loss": acc.loss}
    return results
