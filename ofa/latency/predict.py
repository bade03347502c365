"""Latency of many subnets at once from a lookup table: one gather and one sum per batch of genes."""

from __future__ import annotations

import numpy as np

from ofa.errors import OfaError
from ofa.families.parts import PartValues, null_key, resolution_parts
from ofa.latency.table import LatencyTable, at_resolution
from ofa.spaces import Space, Subnet, decode, encode, gene_layout, sample_subnet, slot_choices


def part_ms(table: LatencyTable, part, resolution: int) -> float | str:
    """A part's own time in a table at `resolution`: its call less an empty call on the same input
    (never below 0); or, where the table lacks an entry, the key it lacks."""
    times = []
    for key in (part.key, null_key(part.input_shape)):
        entry = table.entries.get(at_resolution(key, resolution)) or table.entries.get(key)
        if entry is None:
            return key
        times.append(entry[f"{table.statistic}_ms"])
    return max(0.0, times[0] - times[1])


class LatencyPredictor:
    """Built once per (table, space); `predict_genes` takes an (n, genes) integer array."""

    def __init__(self, table: LatencyTable, space: Space):
        table.check(table.device, space.name, space.fingerprint())
        extra = [r for r in table.resolutions if r not in space.resolutions]
        if extra:
            raise OfaError(f"the {table.device} latency table lists resolution(s) {extra} that space '{space.name}' "
                           f"does not have (its resolutions: {list(space.resolutions)}); rebuild it")
        self.table, self.space = table, space
        # where an imported table lacks a part: the key it lacks, by (resolution, its table key), to name
        # it when a subnet needs it
        self.gaps: dict[int, dict[str, str]] = {}
        missing = []

        def lookup(part, r: int) -> float:
            value = part_ms(table, part, r)
            if isinstance(value, str):
                if value in table.incomplete.get(r, {}):
                    self.gaps.setdefault(r, {})[part.key] = value
                else:
                    missing.append(value)
                return np.nan
            return value

        self.values = PartValues(space, table.num_classes, lookup, tuple(r for r in space.resolutions
                                                                          if r in table.resolutions))
        if missing:
            raise OfaError(f"latency table lacks {len(missing)} entries (first: {missing[0]}); "
                           f"resume the build to complete it")

    def _refuse_gap(self, genes: np.ndarray) -> None:
        """Name the first part a subnet needs that an incomplete resolution lacks."""
        subnet = decode(self.space, genes[0])
        fixed, slots = resolution_parts(self.space, subnet.resolution, self.table.num_classes)
        choices = slot_choices(self.space, genes[:1])[0]
        used = fixed + [slots[s][c] for s, c in enumerate(choices) if c >= 0]
        gaps = self.gaps[subnet.resolution]
        key = next(gaps[p.key] for p in used if p.key in gaps)
        r = subnet.resolution
        source = self.table.incomplete[r][key]
        raise OfaError(f"the {self.table.device} latency table has no entry at {r} px for part {key}"
                       + (f" (source key {source})" if source and source != key else "")
                       + f": its {r} px source was incomplete; predict at {self.table.complete_resolutions} px")

    def sum_of_parts(self, genes: np.ndarray) -> np.ndarray:
        """Uncalibrated: sum of the parts' latencies, each less the empty call, in ms."""
        genes = np.atleast_2d(np.asarray(genes, dtype=np.int64))
        res = gene_layout(self.space).take(genes, "resolution")[:, 0]
        measured = np.isin(np.asarray(self.space.resolutions)[res], self.table.resolutions)
        if not measured.all():
            bad = sorted({self.space.resolutions[i] for i in res[~measured]})
            raise OfaError(f"latency table has no entries at resolution(s) {bad}; "
                           f"measured: {self.table.resolutions}")
        summed = self.values.total(genes)
        if self.gaps and np.isnan(summed).any():
            self._refuse_gap(genes[np.isnan(summed)])
        return summed

    def predict_genes(self, genes: np.ndarray, calibrated: bool = True) -> np.ndarray:
        summed = self.sum_of_parts(genes)
        if calibrated and self.table.calibration is not None:
            return self.table.calibration.apply(summed)
        return summed

    def extremes(self) -> tuple[float, float]:
        """Predicted latency of the smallest and the largest subnet at the resolutions measured."""
        measured = self.space.restrict(resolutions=self.table.complete_resolutions)
        lo, hi = self.predict([sample_subnet(measured, k) for k in ("min", "max")])
        return float(lo), float(hi)

    def predict(self, subnets: list[Subnet], calibrated: bool = True) -> np.ndarray:
        genes = np.stack([encode(self.space, s) for s in subnets])
        return self.predict_genes(genes, calibrated)
