"""What ofa knows about a part's latency before measuring it on a device: its multiply-accumulates,
weights, activations, layers, and its time on another device (a prior table). Every feature adds
up over the parts of a subnet, so a model linear in them is again a lookup table (ofa.latency.fit).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from ofa.errors import OfaError
from ofa.families.parts import PartValues, null_key
from ofa.latency.predict import part_ms
from ofa.latency.table import LatencyTable, at_resolution
from ofa.spaces import Space, Subnet, encode

# Each feature in the unit it is fitted in (numbers near 1 keep the fit well conditioned).
ANALYTIC = ("mmacs", "dw_mmacs", "mparams", "mactivations", "layers", "parts")
PRIOR = "prior_ms"
UNITS = {"prior_ms": "ms on the prior device", "mmacs": "million multiply-accumulates per batch",
         "dw_mmacs": "million multiply-accumulates of depthwise convolutions per batch (memory-bound on most devices)",
         "mparams": "million weights", "mactivations": "million activation values per batch",
         "layers": "convolution and linear layers", "parts": "blocks, stem and head"}


def _analytic(part, batch: int) -> list[float]:
    """MACs (all, and those of depthwise convolutions), weights, activations read and written, and
    layers of one part at this batch (each family's part reports its own `traffic()`)."""
    cost = part.cost()
    values, layers, depthwise = part.traffic()
    return [batch * cost.macs / 1e6, batch * depthwise / 1e6, cost.params / 1e6, batch * values / 1e6,
            float(layers), 1.0]


@dataclass
class FeatureLayout:
    """Features of every part over some resolutions, laid out like a latency table (ofa.families.parts)
    so that a subnet's features are one gather."""

    space: Space
    names: tuple[str, ...]
    resolutions: list[int]
    values: PartValues  # every part's features, summed over a subnet's parts in one gather
    parts: dict[str, np.ndarray]  # table key (at its resolution) -> features; empty calls included

    @cached_property
    def matrix(self) -> np.ndarray:
        """(parts, features): every part's features, one row each."""
        return np.stack(list(self.parts.values()))

    def columns(self, names) -> list[int]:
        return [self.names.index(n) for n in names]

    def of(self, subnets: list[Subnet]) -> np.ndarray:
        """(n, features): each subnet's features, summed over its parts."""
        bad = sorted({s.resolution for s in subnets} - set(self.resolutions))
        if bad:
            raise OfaError(f"subnets at {bad} px, where the features are not known (known at {self.resolutions} px)")
        return self.values.total(np.stack([encode(self.space, s) for s in subnets]))


def feature_layout(space: Space, resolutions: list[int], num_classes: int, batch: int,
                   prior: LatencyTable | None = None) -> FeatureLayout:
    """The features of every part at `resolutions`; with a prior table, its part times come first."""
    names = ((PRIOR,) if prior is not None else ()) + ANALYTIC
    parts: dict[str, np.ndarray] = {}

    def features(part, r: int) -> np.ndarray:
        values = _analytic(part, batch)
        if prior is not None:
            ms = part_ms(prior, part, r)
            if isinstance(ms, str):
                raise OfaError(f"the prior table ({prior.device}) has no entry for part {ms} at {r} px; "
                               f"it predicts at {prior.complete_resolutions} px")
            values = [ms] + values
        row = np.asarray(values)
        parts[at_resolution(part.key, r)] = row
        parts.setdefault(null_key(part.input_shape), np.zeros(len(names)))
        return row

    values = PartValues(space, num_classes, features, tuple(resolutions), (len(names),))
    return FeatureLayout(space, names, sorted(resolutions), values, parts)
