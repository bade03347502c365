"""Subnets to label for the predictor, spread over the whole size range.

Uniform sampling crowds the middle: with 20 independent 3-way choices, almost no subnet is near
the smallest or largest. Here each round draws a pool with a per-subnet bias toward small or
large choices, bins it by MACs into equal-width bins between the smallest and largest subnet,
and takes one new subnet from every bin. The stream is prefix-stable: asking for more subnets
later (a resumed or extended collect) continues it instead of drawing a different set.
"""

from __future__ import annotations

from typing import Iterator

import numpy as np

from ofa.spaces import Space, canonical_genes, encode, gene_bounds, sample_subnet
from ofa.families.parts import CostTable


def biased_genes(space: Space, n: int, rng: np.random.Generator) -> np.ndarray:
    """n canonical gene vectors; each leans toward low or high choice indices by its own amount
    (index = floor(choices * u ** a), log a uniform in [-2.5, 2.5]), so sizes span the range."""
    _, upper = gene_bounds(space)
    lean = np.exp(rng.uniform(-2.5, 2.5, size=(n, 1)))
    u = rng.random((n, upper.size)) ** lean
    genes = np.minimum((u * (upper + 1)).astype(np.int64), upper)
    return canonical_genes(space, genes)


def stratified_stream(space: Space, seed: int, num_classes: int = 1000, bins: int = 10,
                      pool_per_bin: int = 40) -> Iterator[np.ndarray]:
    """Canonical gene vectors, one at a time: the largest and smallest subnet first, then rounds
    of one subnet per MACs bin (bins that a round's pool misses are skipped), never a repeat."""
    rng = np.random.default_rng(seed)
    costs = CostTable(space, num_classes)
    extremes = [encode(space, sample_subnet(space, kind)) for kind in ("max", "min")]
    low, high = costs.macs_params(np.stack(extremes[::-1]))[:, 0]
    edges = np.linspace(low, high, bins + 1)[1:-1]
    seen: set[bytes] = set()
    for genes in extremes:
        seen.add(genes.tobytes())
        yield genes
    while True:
        pool = biased_genes(space, bins * pool_per_bin, rng)
        which = np.digitize(costs.macs_params(pool)[:, 0], edges)
        for b in range(bins):
            for genes in pool[which == b]:
                key = genes.tobytes()
                if key not in seen:
                    seen.add(key)
                    yield genes
                    break
