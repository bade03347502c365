"""How long and how a search runs (kept free of pymoo, so the command line loads fast)."""

from __future__ import annotations

from dataclasses import dataclass

# NSGA-II's per-gene mutation rate: about one of the 46 genes of the MobileNetV3 spaces per child
# (the classic 1/n rate). Of 0.02, 0.05, 0.1, 0.2 and 0.3, it gave the largest hypervolume at 10k
# evaluations (BENCHMARKS.md); uniform crossover does the rest of the exploring.
MUTATION_RATE = 0.02
# The strategy `ofa search` and `ofa specialize` use: the front, then a local search at each budget.
DEFAULT_STRATEGY = "nsga2-local"


@dataclass(frozen=True)
class Settings:
    population: int = 100
    generations: int = 100
    seed: int = 0
    mutation_rate: float = MUTATION_RATE

    @property
    def evaluations(self) -> int:
        return self.population * self.generations
