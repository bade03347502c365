"""The search problem as one pymoo `Problem` over integer genes, evaluated a population at a time.
Every strategy evaluates through it, so all of them are counted and archived the same way."""

from __future__ import annotations

import numpy as np
from pymoo.core.problem import Problem

from ofa.search.evaluator import Evaluator
from ofa.spaces import gene_bounds, unique_rows


class SubnetProblem(Problem):
    """Objectives are minimized: `acc` enters as top-1 error (100 - acc), costs as they are.
    Each budget ('latency:DEVICE' in ms, 'macs', 'params') is an inequality constraint value - budget <= 0."""

    def __init__(self, evaluator: Evaluator, columns: list[str], budgets: dict[str, float]):
        lower, upper = gene_bounds(evaluator.space)
        super().__init__(n_var=upper.size, n_obj=len(columns), n_ieq_constr=len(budgets), xl=lower, xu=upper,
                         vtype=int)
        self.evaluator, self.columns, self.budgets = evaluator, columns, dict(budgets)
        self.upper = upper
        self._genes: list[np.ndarray] = []
        self._values: list[dict[str, np.ndarray]] = []
        self.seconds_evaluating = 0.0

    @property
    def evaluations(self) -> int:
        return sum(len(g) for g in self._genes)

    def evaluate_genes(self, genes: np.ndarray) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
        """(F, G, values) of a population; recorded in the archive."""
        import time

        start = time.perf_counter()
        genes = self.evaluator.valid(np.rint(genes).astype(np.int64))
        values = self.evaluator(genes)
        self._genes.append(genes)
        self._values.append(values)
        self.seconds_evaluating += time.perf_counter() - start
        return self.objectives(values), self.constraints(values), values

    def objectives(self, values: dict[str, np.ndarray]) -> np.ndarray:
        return np.column_stack([100.0 - values["acc"] if c == "acc" else values[c] for c in self.columns])

    def constraints(self, values: dict[str, np.ndarray]) -> np.ndarray:
        n = len(values["acc"])
        if not self.budgets:
            return np.zeros((n, 0))
        return np.column_stack([values[c] - b for c, b in self.budgets.items()])

    def _evaluate(self, x, out, *args, **kwargs):
        out["F"], g, _ = self.evaluate_genes(x)
        if self.budgets:
            out["G"] = g

    def archive(self) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """Every evaluated gene vector, once each, with its values."""
        if not self._genes:
            return np.zeros((0, self.n_var), dtype=np.int64), {}
        genes = np.concatenate(self._genes)
        values = {k: np.concatenate([v[k] for v in self._values]) for k in self._values[0]}
        first = unique_rows(genes)
        return genes[first], {k: v[first] for k, v in values.items()}
