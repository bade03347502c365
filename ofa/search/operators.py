"""Variation operators that really change 3-way genes.

pymoo's polynomial mutation perturbs a real value and rounds it: with its default eta a gene of
three choices almost never moves, so populations collapse to one architecture. Random reset
replaces each gene, with probability `rate`, by one of its *other* choices, so the share of
changed genes is exactly the rate. The repair keeps one gene vector per subnet (slots past a
stage's depth set to 0), so pymoo's duplicate elimination sees one gene vector per subnet.
"""

from __future__ import annotations

import numpy as np
from pymoo.core.mutation import Mutation
from pymoo.core.repair import Repair
from pymoo.core.sampling import Sampling

from ofa.search.settings import MUTATION_RATE


def random_reset(genes: np.ndarray, upper: np.ndarray, rate: float, rng: np.random.Generator) -> np.ndarray:
    """Each gene w.p. `rate` moved to a uniformly drawn different value in [0, upper]."""
    genes = np.asarray(genes, dtype=np.int64)
    hit = (rng.random(genes.shape) < rate) & (upper > 0)
    shift = 1 + (rng.random(genes.shape) * np.maximum(upper, 1)).astype(np.int64)  # 1..upper
    moved = (genes + shift) % (upper + 1)
    return np.where(hit, moved, genes)


def uniform_crossover(a: np.ndarray, b: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    return np.where(rng.random(a.shape) < 0.5, a, b)


class RandomResetMutation(Mutation):
    def __init__(self, rate: float = MUTATION_RATE):
        super().__init__(prob=1.0, prob_var=None)
        self.rate = rate

    def _do(self, problem, x, random_state=None, **kwargs):
        rng = random_state if random_state is not None else np.random.default_rng()
        return random_reset(np.rint(x).astype(np.int64), problem.upper, self.rate, rng)


class CanonicalRepair(Repair):
    def _do(self, problem, x, **kwargs):
        return problem.evaluator.valid(np.rint(x).astype(np.int64))


class CanonicalSampling(Sampling):
    """The smallest and the largest subnet, then uniformly random genes, repaired: every subnet of
    the space is reachable. Random genes are mid-sized subnets; without the two ends NSGA-II did not
    reach the large end of the front in 10,000 evaluations where the predictor is flat there
    (BENCHMARKS.md, "Specialize"), and a budget near the largest subnet got a subnet half its size."""

    def _do(self, problem, n_samples, random_state=None, **kwargs):
        rng = random_state if random_state is not None else np.random.default_rng()
        genes = random_genes(problem, n_samples, rng)
        ends = problem.evaluator.end_genes()[:n_samples]
        genes[:len(ends)] = ends
        return genes


def random_genes(problem, n: int, rng: np.random.Generator) -> np.ndarray:
    genes = (rng.random((n, problem.upper.size)) * (problem.upper + 1)).astype(np.int64)
    return problem.evaluator.valid(genes)
