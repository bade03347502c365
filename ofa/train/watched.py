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
