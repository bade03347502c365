"""What a search found: the non-dominated subnets within every budget, their hypervolume, and the
files and JSON object that scripts read."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ofa.errors import OfaError
from ofa.files import write_atomic, write_json
from ofa.outputs import check_own_files
from ofa.outputs import KINDS, kind_of
from ofa.search.problem import SubnetProblem
from ofa.spaces import decode
from ofa.search.columns import column_device, latency_column, latency_budgets


@dataclass
class SearchResult:
    problem: SubnetProblem
    genes: np.ndarray  # the front, sorted by the first cost
    values: dict[str, np.ndarray]
    hypervolume: float
    reference: dict[str, dict[str, float]]
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def devices(self) -> list[str]:
        return list(self.problem.evaluator.latency)

    def point(self, i: int) -> dict[str, Any]:
        v = {k: float(a[i]) for k, a in self.values.items()}
        return {"subnet": str(decode(self.problem.evaluator.space, self.genes[i])), "accuracy": round(v["acc"], 3),
                "accuracy_std": round(v["acc_std"], 3),
                "latency_ms": {d: round(v[latency_column(d)], 4) for d in self.devices},
                "macs": int(v["macs"]), "params": int(v["params"])}

    def front(self) -> list[dict[str, Any]]:
        return [self.point(i) for i in range(len(self.genes))]

    def best(self) -> dict[str, Any] | None:
        """The most accurate point within every budget (only when budgets were given)."""
        if not self.problem.budgets or not len(self.genes):
            return None
        return self.point(int(np.argmax(self.values["acc"])))

    def to_dict(self) -> dict[str, Any]:
        out = {**self.info, "objectives": self.problem.columns, "budgets_ms": latency_budgets(self.problem.budgets),
               "cost_budgets": {c: b for c, b in self.problem.budgets.items() if column_device(c) is None},
               "evaluations": self.problem.evaluations, "hypervolume": self.hypervolume,
               "hypervolume_box": self.reference, "front": self.front()}
        if self.problem.budgets:
            out["best"] = self.best()
        return out


def hypervolume_box(problem: SubnetProblem) -> dict[str, dict[str, float]]:
    """Ideal and reference point per objective. Costs run from the smallest to the largest subnet;
    error from 0 to the smallest subnet's (any point less accurate than the smallest subnet is
    dominated by it). Hypervolume is the share of this box that the front dominates."""
    ends = problem.evaluator.extremes()
    box = {}
    for c in problem.columns:
        if c == "acc":
            box[c] = {"ideal": 0.0, "reference": 100.0 - ends["min"]["acc"]}
        else:
            box[c] = {"ideal": ends["min"][c], "reference": ends["max"][c]}
    return box


def hypervolume(problem: SubnetProblem, f: np.ndarray, box: dict[str, dict[str, float]]) -> float:
    from pymoo.indicators.hv import HV

    if not len(f):
        return 0.0
    ideal = np.array([box[c]["ideal"] for c in problem.columns])
    ref = np.array([box[c]["reference"] for c in problem.columns])
    scaled = (f - ideal) / np.maximum(ref - ideal, 1e-12)
    return float(HV(ref_point=np.ones(len(ideal)))(scaled))


def collect_result(problem: SubnetProblem, info: dict[str, Any] | None = None) -> SearchResult:
    """Non-dominated feasible points of everything the strategy evaluated."""
    from pymoo.util.nds.non_dominated_sorting import NonDominatedSorting

    genes, values = problem.archive()
    box = hypervolume_box(problem)
    if len(genes):
        feasible = (problem.constraints(values) <= 0).all(axis=1)
        genes, values = genes[feasible], {k: v[feasible] for k, v in values.items()}
    if len(genes):
        f = problem.objectives(values)
        keep = NonDominatedSorting().do(f, only_non_dominated_front=True)
        first_cost = next(i for i, c in enumerate(problem.columns) if c != "acc")
        order = keep[np.argsort(f[keep, first_cost], kind="stable")]
        genes, values, f = genes[order], {k: v[order] for k, v in values.items()}, f[order]
    else:
        f = np.zeros((0, problem.n_obj))
    return SearchResult(problem, genes, values, hypervolume(problem, f, box), box, dict(info or {}))


RESULT_FILES = ("front.json", "front.csv", "front.png")


def check_result_out(out: Path) -> None:
    """Before the search: the folder and its three files can be written (no link, no special file),
    and any of them there is an earlier search's; never into a run or a model folder of ofa's."""
    if kind_of(out):
        raise OfaError(f"--out {out} holds {KINDS[kind_of(out)]}; a search writes a folder of its own (by default "
                       f"RUN/search): choose another --out")
    check_own_files(out, RESULT_FILES, "front.json", ("front", "hypervolume", "objectives"), "--out")


def write_result(result: SearchResult, out: Path, cloud: tuple[np.ndarray, dict[str, np.ndarray]] | None) -> list[Path]:
    data = result.to_dict()
    write_json(out / "front.json", data)
    rows = io.StringIO()
    writer = csv.writer(rows)
    writer.writerow(["subnet", "accuracy", "accuracy_std"] + [f"latency_ms_{d}" for d in result.devices]
                    + ["macs", "params"])
    for p in data["front"]:
        writer.writerow([p["subnet"], p["accuracy"], p["accuracy_std"]]
                        + [p["latency_ms"][d] for d in result.devices] + [p["macs"], p["params"]])
    write_atomic(out / "front.csv", rows.getvalue())
    paths = [out / "front.json", out / "front.csv"]
    if cloud is not None:
        from ofa.search.plot import plot_front

        paths.append(plot_front(result, cloud, out / "front.png"))
    return paths
