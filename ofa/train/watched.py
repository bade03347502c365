"""The subnets a training run follows from start to end: the largest, a middle one, the smallest and
a few seeded random ones, validated after each epoch and plotted in accuracy.png."""

from __future__ import annotations

import numpy as np

from ofa.spaces.space import SearchSpace
from ofa.spaces.subnet import Subnet, sample_subnet


def middle_subnet(space: SearchSpace) -> Subnet:
    """The middle choice of every list: a fixed 'typical' subnet to follow during training."""
    mid = lambda xs: xs[len(xs) // 2]  # noqa: E731
    return Subnet(
        mid(space.resolutions),
        tuple((mid(s.kernels),) * mid(s.depths) for s in space.stages),
        tuple((mid(s.expands),) * mid(s.depths) for s in space.stages),
    )


def validation_subnets(space: SearchSpace, seed: int, n_random: int = 2) -> dict[str, Subnet]:
    """Largest, middle, smallest and a few seeded random subnets: the same set all run long."""
    nets = {"max": sample_subnet(space, "max"), "mid": middle_subnet(space), "min": sample_subnet(space, "min")}
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
