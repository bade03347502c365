"""Search strategies: one registry, one signature. Each spends `population x generations`
evaluations of the same problem (nsga2-local, given targets, its own share: see `_nsga2_local`);
what they found is the problem's archive.

`targets` are the budgets the answer is wanted at (keyed by the value they limit: 'latency:cpu',
'macs'): the search's own budgets, or a specialize run's targets. Single-objective strategies
(evolution, REINFORCE) maximize accuracy under each; given none, they split their evaluations over
budgets spread across the range of the first cost objective, so that their archive forms a front
too. The default, nsga2-local, searches the front and then climbs at each target (ofa.search.local).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Callable

import numpy as np

from ofa.errors import OfaError
from ofa.search.local import refine_at
from ofa.search.operators import (CanonicalRepair, CanonicalSampling,
                                  RandomResetMutation, random_genes, random_reset, uniform_crossover)
from ofa.search.problem import SubnetProblem
from ofa.search.settings import DEFAULT_STRATEGY, Settings
from ofa.spaces import gene_layout

Progress = Callable[[str, int, int], None]
Targets = list[dict[str, float]]
# nsga2-local with targets (BENCHMARKS.md, "Search against once-for-all's"): NSGA-II's share of the
# generations, and each target's local search's predictions as a multiple of population x generations
FRONT_SHARE, LOCAL_SHARE = 0.4, 2.0


def _nsga2(problem: SubnetProblem, s: Settings, progress: Progress, targets: Targets) -> None:
    from pymoo.algorithms.moo.nsga2 import NSGA2
    from pymoo.operators.crossover.ux import UX
    from pymoo.optimize import minimize

    algorithm = NSGA2(pop_size=s.population, sampling=CanonicalSampling(), crossover=UX(),
                      mutation=RandomResetMutation(s.mutation_rate), repair=CanonicalRepair(),
                      eliminate_duplicates=True)
    minimize(problem, algorithm, ("n_gen", s.generations), seed=s.seed, verbose=False,
             callback=lambda alg: progress("search", alg.n_gen, s.generations))


def _nsga2_local(problem: SubnetProblem, s: Settings, progress: Progress, targets: Targets) -> None:
    """NSGA-II for the front, then at each target an iterated local search from the best subnet within
    it. With targets, NSGA-II runs FRONT_SHARE of the generations and each local search has up to
    LOCAL_SHARE x population x generations predictions; without, NSGA-II has all the generations."""
    targets = given_targets(problem, targets)
    if not targets:
        _nsga2(problem, s, progress, targets)
        return
    _nsga2(problem, replace(s, generations=max(1, round(s.generations * FRONT_SHARE))), progress, targets)
    refine_at(problem, targets, round(LOCAL_SHARE * s.evaluations), np.random.default_rng([s.seed, 1]), progress)


def _random(problem: SubnetProblem, s: Settings, progress: Progress, targets: Targets) -> None:
    rng = np.random.default_rng(s.seed)
    for gen in range(1, s.generations + 1):
        problem.evaluate_genes(random_genes(problem, s.population, rng))
        progress("search", gen, s.generations)


def given_targets(problem: SubnetProblem, targets: Targets) -> Targets:
    """The targets, else the problem's budgets together as one."""
    return targets or ([dict(problem.budgets)] if problem.budgets else [])


def budget_targets(problem: SubnetProblem, targets: Targets, count: int = 5) -> Targets:
    """The budgets single-objective strategies search under: the given targets, else `count` budgets on
    the first cost, evenly between its smallest and largest subnet."""
    given = given_targets(problem, targets)
    if given:
        return given
    cost = next(c for c in problem.columns if c != "acc")
    ends = problem.evaluator.extremes()
    low, high = ends["min"][cost], ends["max"][cost]
    return [{cost: float(b)} for b in np.linspace(low, high, count + 2)[1:-1]]


def _progress(problem: SubnetProblem, s: Settings, progress: Progress) -> None:
    progress("search", min(s.generations, problem.evaluations // s.population), s.generations)


OFA_MUTATE_PROB = 0.1  # once-for-all's evolution mutates each gene with this probability


def _draw_within(problem: SubnetProblem, budget: dict[str, float], make: Callable[[int], np.ndarray], n: int,
                 batch: int = 1000, tries: int = 100) -> np.ndarray:
    """Up to n subnets from `make(k)` that fit the budget, judged on the cost tables alone: as
    once-for-all's evolution draws again until a subnet fits, so no prediction is spent on one
    that does not. Under a tight budget few random subnets fit (0.13% at 15 ms on note10)."""
    kept, have = [], 0
    for _ in range(tries):
        genes = problem.evaluator.valid(make(max(n, batch)))
        genes = genes[problem.evaluator.within(genes, budget)]
        kept.append(genes)
        have += len(genes)
        if have >= n:
            break
    return np.concatenate(kept)[:n]


def _evolution(problem: SubnetProblem, s: Settings, progress: Progress, targets: Targets) -> None:
    """Once-for-all's evolution at its own settings: keep the best quarter as parents, refill with
    half mutants (each gene reset w.p. 0.1) and the rest uniform crossovers; only subnets within
    the budget enter the population."""
    rng = np.random.default_rng(s.seed)
    targets = budget_targets(problem, targets)
    share = s.evaluations // len(targets)
    n_parents, n_mutants = max(2, s.population // 4), s.population // 2
    for budget in targets:
        start = problem.evaluations
        pop_genes = _draw_within(problem, budget, lambda k: random_genes(problem, k, rng), min(s.population, share))
        if not len(pop_genes):
            continue
        _, _, v = problem.evaluate_genes(pop_genes)
        pop_acc = v["acc"]
        while problem.evaluations - start < share and len(pop_genes) >= 2:
            order = np.argsort(-pop_acc)[:n_parents]
            parents, parent_acc = pop_genes[order], pop_acc[order]
            room = share - (problem.evaluations - start)
            mutants = _draw_within(problem, budget, lambda k: random_reset(
                parents[rng.integers(0, len(parents), k)], problem.upper, OFA_MUTATE_PROB, rng), min(n_mutants, room))
            crossed = _draw_within(problem, budget, lambda k: uniform_crossover(
                *parents[rng.integers(0, len(parents), (2, k))], rng), min(s.population - n_parents - n_mutants,
                                                                           room - len(mutants)))
            children = np.concatenate([mutants, crossed])
            if not len(children):
                break
            _, _, v = problem.evaluate_genes(children)
            pop_genes = np.concatenate([parents, children])
            pop_acc = np.concatenate([parent_acc, v["acc"]])
            _progress(problem, s, progress)
    progress("search", s.generations, s.generations)


def _reinforce(problem: SubnetProblem, s: Settings, progress: Progress, targets: Targets, lr: float = 0.2) -> None:
    """REINFORCE: an independent categorical distribution per gene, updated with the policy
    gradient of reward = accuracy - 100 x (relative overshoot of the budget), against a
    moving-average baseline; genes of unused slots get no gradient (they change nothing)."""
    rng = np.random.default_rng(s.seed)
    layout = gene_layout(problem.evaluator.space)
    width = int(problem.upper.max()) + 1
    valid = np.arange(width)[None, :] <= problem.upper[:, None]
    targets = budget_targets(problem, targets)
    share = s.evaluations // len(targets)
    for budget in targets:
        logits = np.where(valid, 0.0, -np.inf)
        baseline = None
        start = problem.evaluations
        while problem.evaluations - start < share:
            n = min(s.population, share - (problem.evaluations - start))
            p = np.exp(logits - logits.max(axis=1, keepdims=True))
            p /= p.sum(axis=1, keepdims=True)
            draws = (rng.random((n, problem.n_var, 1)) > np.cumsum(p, axis=1)[None]).sum(axis=2)
            genes = np.minimum(draws, problem.upper)
            _, _, v = problem.evaluate_genes(genes)
            overshoot = np.zeros(n)
            for key, limit in budget.items():
                overshoot = np.maximum(overshoot, v[key] / limit - 1.0)
            reward = v["acc"] - 100.0 * np.maximum(overshoot, 0.0)
            baseline = reward.mean() if baseline is None else 0.9 * baseline + 0.1 * reward.mean()
            advantage = (reward - baseline) / (reward.std() + 1e-8)
            used = layout.used(genes)
            onehot = np.arange(width)[None, None, :] == genes[:, :, None]
            grad = ((onehot - p[None]) * (advantage[:, None] * used)[:, :, None]).mean(axis=0)
            logits = np.where(valid, logits + lr * grad * width, -np.inf)
            _progress(problem, s, progress)
    progress("search", s.generations, s.generations)


STRATEGIES: dict[str, tuple[str, Callable[[SubnetProblem, Settings, Progress, Targets], None]]] = {
    DEFAULT_STRATEGY: ("NSGA-II for the front, then a local search at each budget (the default)", _nsga2_local),
    "nsga2": ("NSGA-II (pymoo): uniform crossover, random-reset mutation, no duplicates", _nsga2),
    "random": ("uniformly random subnets", _random),
    "evolution": ("once-for-all's evolution: best accuracy under a budget", _evolution),
    "reinforce": ("REINFORCE policy gradient over per-gene choices, under a budget", _reinforce),
}


def run_strategy(name: str, problem: SubnetProblem, settings: Settings, progress: Progress | None = None,
                 targets: Targets | None = None) -> None:
    if name not in STRATEGIES:
        raise OfaError(f"unknown strategy '{name}'; choose one of: {', '.join(STRATEGIES)}")
    if settings.population < 2 or settings.generations < 1:
        raise OfaError("--population must be at least 2 and --generations at least 1")
    if not 0 < settings.mutation_rate <= 1:
        raise OfaError(f"--mutation-rate must be in (0, 1], got {settings.mutation_rate}")
    STRATEGIES[name][1](problem, settings, progress or (lambda *a: None), list(targets or []))
