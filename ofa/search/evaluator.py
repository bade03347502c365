"""Everything search knows about a population of gene vectors, computed in one call each: predicted
accuracy and its spread, latency on every device, MACs and parameters."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ofa.errors import OfaError
from ofa.latency.predict import LatencyPredictor
from ofa.predictor.store import AccuracyPredictor
from ofa.search.columns import column_device, latency_column
from ofa.spaces import Space, canonical_genes, encode, gene_layout, sample_subnet
from ofa.families.parts import CostTable

# Objective names as `--objectives` takes them; `latency` stands for one objective per device.
OBJECTIVES = ("acc", "latency", "macs", "params")


@dataclass
class Evaluator:
    space: Space
    predictor: AccuracyPredictor | None  # None: costs only (tables, MACs), as a table's own checks use it
    latency: dict[str, LatencyPredictor]  # device name -> its table's predictor
    costs: CostTable

    def __post_init__(self):
        """Resolutions every table has in full (a table may time a few of a space's many, and an
        imported one may lack parts at some) and the predictor speaks for: the search keeps to these,
        so no subnet is evaluated where a table cannot say its latency or the predictor never learnt."""
        fitted = self.space.resolutions if self.predictor is None else self.predictor.resolutions  # None: tables only
        shared = set(self.space.resolutions) & set(fitted)
        for device, table in self.latency.items():
            shared &= set(table.table.complete_resolutions)
        if not shared:
            raise OfaError(f"the latency tables of {', '.join(self.latency)} and the predictor (speaking for "
                           f"{list(fitted)} px) share no resolution of space '{self.space.name}'")
        self.resolution_ids = np.asarray(sorted(self.space.resolutions.index(r) for r in shared), dtype=np.int64)

    def valid(self, genes: np.ndarray) -> np.ndarray:
        """Canonical genes (unused slots zeroed) with the resolution snapped to the nearest one searched."""
        genes = canonical_genes(self.space, np.asarray(genes, dtype=np.int64))
        ids, res = self.resolution_ids, gene_layout(self.space).slice("resolution")
        nearest = np.abs(genes[:, res] - ids[None, :]).argmin(axis=1)
        genes[:, res.start] = ids[nearest]
        return genes

    def __call__(self, genes: np.ndarray) -> dict[str, np.ndarray]:
        acc, spread = self.predictor.predict_genes(genes)
        macs_params = self.costs.macs_params(genes)
        values = {"acc": acc, "acc_std": spread, "macs": macs_params[:, 0], "params": macs_params[:, 1]}
        for device, table in self.latency.items():
            values[latency_column(device)] = table.predict_genes(genes)
        return values

    def within(self, genes: np.ndarray, budget: dict[str, float]) -> np.ndarray:
        """Which subnets fit a budget on costs ('latency:DEVICE', 'macs', 'params'), from the
        tables alone: no accuracy prediction is spent on them."""
        ok = np.ones(len(genes), dtype=bool)
        for key, limit in budget.items():
            device = column_device(key)
            if device is not None:
                value = self.latency[device].predict_genes(genes)
            else:
                value = self.costs.macs_params(genes)[:, ("macs", "params").index(key)]
            ok &= value <= limit
        return ok

    def end_genes(self) -> np.ndarray:
        """The smallest and the largest subnet, at the smallest and largest resolution searched."""
        genes = np.stack([encode(self.space, sample_subnet(self.space, k)) for k in ("min", "max")])
        genes[:, gene_layout(self.space).slice("resolution").start] = self.resolution_ids[[0, -1]]
        return genes

    def extremes(self) -> dict[str, dict[str, float]]:
        """Every value of the smallest and the largest subnet: the feasible range of each cost."""
        values = self(self.end_genes())
        return {"min": {k: float(v[0]) for k, v in values.items()}, "max": {k: float(v[1]) for k, v in values.items()}}


def objective_columns(names: list[str], devices: list[str]) -> list[str]:
    """`acc,latency,macs` -> ['acc', 'latency:cpu', 'latency:gpu', 'macs']; acc is always searched."""
    columns: list[str] = []
    for name in (n.strip().lower() for n in names):
        if name not in OBJECTIVES:
            raise OfaError(f"unknown objective '{name}'; choose from: {', '.join(OBJECTIVES)}")
        if name == "latency" and not devices:
            raise OfaError("the latency objective needs a device (--device cpu); without one, search MACs or "
                           "parameters: --objectives acc,macs")
        columns += [latency_column(d) for d in devices] if name == "latency" else [name]
    if "acc" not in columns:
        raise OfaError("--objectives must include acc: search trades accuracy against cost")
    if len(columns) < 2:
        raise OfaError("--objectives needs a cost besides acc (latency, macs or params)")
    if len(set(columns)) != len(columns):
        raise OfaError(f"--objectives names an objective twice: {','.join(names)}")
    return columns
