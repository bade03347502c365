"""A local search at a budget: from the most accurate subnet within it found so far, move to the most
accurate of its neighbours that still fits (every change of one gene; where none is better, every
change of two), until no neighbour is better; then jump off the best so far at random and climb
again, while evaluations last (an iterated local search). A front search spreads its evaluations
over the whole range of latencies; this spends them where a budget puts the answer.

Neighbours are judged on the cost tables first, so predictions are spent only on subnets that fit,
and every prediction goes through the problem (counted and archived like any strategy's)."""

from __future__ import annotations

from typing import Callable

import numpy as np

from ofa.search.operators import random_reset
from ofa.search.problem import SubnetProblem
from ofa.spaces import gene_layout, unique_rows

MAX_STEPS = 200  # a bound only: each step must raise the predicted accuracy, and none has needed 50
KICK_RATE = 0.1  # the share of genes a jump resets: once-for-all's mutation probability


def single_moves(problem: SubnetProblem, genes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(gene index, new value) of every change of one gene that changes the subnet: the resolution
    (to another one searched), a depth, a kernel or expand ratio of a block in use."""
    evaluator = problem.evaluator
    used = gene_layout(evaluator.space).used(genes)[0]
    index, value = [], []
    for i in np.flatnonzero(used):
        choices = evaluator.resolution_ids if i == 0 else np.arange(problem.upper[i] + 1)
        others = choices[choices != genes[i]]
        index += [i] * len(others)
        value += list(others)
    return np.asarray(index, dtype=np.int64), np.asarray(value, dtype=np.int64)


def neighbours(problem: SubnetProblem, genes: np.ndarray, pairs: bool) -> np.ndarray:
    """Canonical gene vectors one change (or, with `pairs`, two changes of different genes) away."""
    index, value = single_moves(problem, genes)
    if pairs:
        a, b = np.triu_indices(len(index), k=1)
        keep = index[a] != index[b]
        a, b = a[keep], b[keep]
        out = np.repeat(genes[None], len(a), axis=0)
        rows = np.arange(len(a))
        out[rows, index[a]] = value[a]
        out[rows, index[b]] = value[b]
    else:
        out = np.repeat(genes[None], len(index), axis=0)
        out[np.arange(len(index)), index] = value
    out = problem.evaluator.valid(out)
    return out[unique_rows(out)]


def climb(problem: SubnetProblem, budget: dict[str, float], start: np.ndarray, start_acc: float,
          max_evaluations: int) -> tuple[np.ndarray, float]:
    """Steepest ascent of predicted accuracy within `budget` from `start`; returns where it stopped."""
    genes, acc, spent = start, start_acc, 0
    for _ in range(MAX_STEPS):
        moved = False
        for pairs in (False, True):
            if spent >= max_evaluations:
                return genes, acc
            near = neighbours(problem, genes, pairs)
            near = near[problem.evaluator.within(near, budget)][: max_evaluations - spent]
            if not len(near):
                continue
            _, _, values = problem.evaluate_genes(near)
            spent += len(near)
            best = int(np.argmax(values["acc"]))
            if values["acc"][best] > acc:
                genes, acc, moved = near[best], float(values["acc"][best]), True
                break
        if not moved:
            break
    return genes, acc


def best_within(problem: SubnetProblem, budget: dict[str, float]) -> tuple[np.ndarray, float] | None:
    """The most accurate subnet of the archive that fits `budget`."""
    genes, values = problem.archive()
    if not len(genes):
        return None
    fits = problem.evaluator.within(genes, budget)
    if not fits.any():
        return None
    i = np.flatnonzero(fits)[np.argmax(values["acc"][fits])]
    return genes[i], float(values["acc"][i])


def kick(problem: SubnetProblem, genes: np.ndarray, budget: dict[str, float], rng: np.random.Generator,
         tries: int = 100) -> np.ndarray | None:
    """A random jump from `genes` (each gene reset w.p. KICK_RATE) that still fits the budget."""
    for _ in range(tries):
        jumped = problem.evaluator.valid(random_reset(genes[None], problem.upper, KICK_RATE, rng))
        if problem.evaluator.within(jumped, budget)[0] and not np.array_equal(jumped[0], genes):
            return jumped
    return None


def refine_at(problem: SubnetProblem, budgets: list[dict[str, float]], max_evaluations: int,
              rng: np.random.Generator, progress: Callable[[str, int, int], None] | None = None) -> None:
    """At each budget, an iterated local search of `max_evaluations` predictions at most: climb from the
    best subnet found within it (the smallest subnet where none was found), then again and again from a
    random jump off the best so far, keeping the best."""
    for done, budget in enumerate(budgets):
        if progress:
            progress("local search", done, len(budgets))
        start = problem.evaluations
        found = best_within(problem, budget)
        if found is None:
            smallest = problem.evaluator.end_genes()[:1]
            if not problem.evaluator.within(smallest, budget)[0]:
                continue
            _, _, v = problem.evaluate_genes(smallest)
            found = smallest[0], float(v["acc"][0])
        best = climb(problem, budget, *found, max_evaluations - (problem.evaluations - start))
        while (left := max_evaluations - (problem.evaluations - start)) > 0:
            jumped = kick(problem, best[0], budget, rng)
            if jumped is None:
                break
            _, _, v = problem.evaluate_genes(jumped)
            found = climb(problem, budget, jumped[0], float(v["acc"][0]), left - 1)
            if found[1] > best[1]:
                best = found
    if progress:
        progress("local search", len(budgets), len(budgets))
