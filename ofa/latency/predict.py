"""Latency of many subnets at once from a lookup table: one gather and one sum per batch of genes."""

from __future__ import annotations

import numpy as np

from ofa.errors import OfaError
from ofa.latency.parts import Part, fixed_parts, null_key, slot_parts
from ofa.latency.table import LatencyTable
from ofa.spaces.space import SearchSpace
from ofa.spaces.subnet import Subnet, encode, gather_slots


class LatencyPredictor:
    """Built once per (table, space); `predict_genes` takes an (n, genes) integer array."""

    def __init__(self, table: LatencyTable, space: SearchSpace):
        table.check(table.device, space.name, space.fingerprint())
        self.table, self.space = table, space
        n_res = len(space.resolutions)
        max_k = max(len(s.kernels) for s in space.stages)
        max_e = max(len(s.expands) for s in space.stages)
        self.fixed = np.full(n_res, np.nan)
        self.slots = np.full((n_res, space.num_blocks, max_k, max_e), np.nan)
        missing = []

        field = f"{table.statistic}_ms"

        def entry_ms(key: str) -> float:
            entry = table.entries.get(key)
            if entry is None:
                missing.append(key)
                return np.nan
            return entry[field]

        def lookup(part: Part) -> float:
            """The part's own time: its call minus an empty call on the same input."""
            return max(0.0, entry_ms(part.key) - entry_ms(null_key(part.input_shape)))

        for r_idx, r in enumerate(space.resolutions):
            if r not in table.resolutions:
                continue
            _, parts = fixed_parts(space, r, table.num_classes)
            self.fixed[r_idx] = sum(lookup(p) for p in parts)
            for s_idx, rows in enumerate(slot_parts(space, r)):
                for k_idx, row in enumerate(rows):
                    for e_idx, part in enumerate(row):
                        self.slots[r_idx, s_idx, k_idx, e_idx] = lookup(part)
        if missing:
            raise OfaError(f"latency table lacks {len(missing)} entries (first: {missing[0]}); "
                           f"resume the build to complete it")

    def sum_of_parts(self, genes: np.ndarray) -> np.ndarray:
        """Uncalibrated: sum of the parts' latencies, each less the empty call, in ms."""
        genes = np.atleast_2d(np.asarray(genes, dtype=np.int64))
        res = genes[:, 0]
        if np.isnan(self.fixed[res]).any():
            bad = sorted({self.space.resolutions[i] for i in res[np.isnan(self.fixed[res])]})
            raise OfaError(f"latency table has no entries at resolution(s) {bad}; "
                           f"measured: {self.table.resolutions}")
        return gather_slots(self.space, self.fixed, self.slots, genes)

    def predict_genes(self, genes: np.ndarray, calibrated: bool = True) -> np.ndarray:
        summed = self.sum_of_parts(genes)
        if calibrated and self.table.calibration is not None:
            return self.table.calibration.apply(summed)
        return summed

    def extremes(self) -> tuple[float, float]:
        """Predicted latency of the smallest and the largest subnet at the resolutions measured."""
        from ofa.spaces.subnet import sample_subnet

        measured = self.space.restrict(resolutions=self.table.resolutions)
        lo, hi = self.predict([sample_subnet(measured, k) for k in ("min", "max")])
        return float(lo), float(hi)

    def predict(self, subnets: list[Subnet], calibrated: bool = True) -> np.ndarray:
        genes = np.stack([encode(self.space, s) for s in subnets])
        return self.predict_genes(genes, calibrated)
