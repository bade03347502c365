"""What ofa knows about a part's latency before measuring it on a device: its multiply-accumulates,
weights, activations, layers, and its time on another device (a prior table). Every feature adds
up over the parts of a subnet, so a model linear in them is again a lookup table (ofa.latency.fit).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from ofa.errors import OfaError
from ofa.latency.parts import Part, fixed_parts, null_key, slot_parts
from ofa.latency.predict import part_ms
from ofa.latency.table import LatencyTable, at_resolution
from ofa.spaces.space import SearchSpace
from ofa.spaces.subnet import Subnet, encode, gather_slots
from ofa.supernet.config import NetConfig, conv_out
from ofa.supernet.cost import block_cost, head_cost, stem_cost

# Each feature in the unit it is fitted in (numbers near 1 keep the fit well conditioned).
ANALYTIC = ("mmacs", "dw_mmacs", "mparams", "mactivations", "layers", "parts")
PRIOR = "prior_ms"
UNITS = {"prior_ms": "ms on the prior device", "mmacs": "million multiply-accumulates per batch",
         "dw_mmacs": "million multiply-accumulates of depthwise convolutions per batch (memory-bound on most devices)",
         "mparams": "million weights", "mactivations": "million activation values per batch",
         "layers": "convolution and linear layers", "parts": "blocks, stem and head"}


def _analytic(part: Part, cfg: NetConfig, batch: int) -> list[float]:
    """MACs (all, and those of depthwise convolutions), weights, activations read and written, and
    layers of one part at this batch."""
    if part.kind == "null":
        return [0.0] * len(ANALYTIC)
    c, n = part.input_shape[0], part.input_shape[-1]
    if part.kind == "stem":
        cost, out = stem_cost(cfg), conv_out(n, 3, cfg.stem_stride)
        values, layers, depthwise = c * n * n + cfg.stem_width * out * out, 1, 0
    elif part.kind == "head":
        cost = head_cost(cfg, n)
        feature = cfg.feature_width or cfg.head_width
        values = c * n * n + cfg.head_width * n * n + cfg.head_width + feature + cfg.num_classes
        layers, depthwise = (3 if cfg.feature_width else 2), 0
    else:
        b = part.block
        cost, out = block_cost(b, n), conv_out(n, b.kernel, b.stride)
        values = c * n * n + (b.mid_channels * n * n if b.expand else 0) + b.mid_channels * out * out
        values += b.out_channels * out * out
        layers = int(b.expand) + 2 + (2 if b.se_channels else 0)
        depthwise = b.mid_channels * b.kernel * b.kernel * out * out
    return [batch * cost.macs / 1e6, batch * depthwise / 1e6, cost.params / 1e6, batch * values / 1e6,
            float(layers), 1.0]


@dataclass
class FeatureLayout:
    """Features of every part over some resolutions, laid out like a latency table (fixed parts per
    resolution, one row per slot, kernel and expand) so that a subnet's features are one gather."""

    space: SearchSpace
    names: tuple[str, ...]
    resolutions: list[int]
    fixed: np.ndarray  # (resolutions of the space, features)
    slots: np.ndarray  # (resolutions of the space, slots, kernels, expands, features)
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
        return gather_slots(self.space, self.fixed, self.slots, np.stack([encode(self.space, s) for s in subnets]))


def feature_layout(space: SearchSpace, resolutions: list[int], num_classes: int, batch: int,
                   prior: LatencyTable | None = None) -> FeatureLayout:
    """The features of every part at `resolutions`; with a prior table, its part times come first."""
    names = ((PRIOR,) if prior is not None else ()) + ANALYTIC
    n_res = len(space.resolutions)
    max_k = max(len(s.kernels) for s in space.stages)
    max_e = max(len(s.expands) for s in space.stages)
    fixed = np.zeros((n_res, len(names)))
    slots = np.zeros((n_res, space.num_blocks, max_k, max_e, len(names)))
    parts: dict[str, np.ndarray] = {}

    def features(part: Part, cfg: NetConfig, r: int) -> np.ndarray:
        values = _analytic(part, cfg, batch)
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

    for r in resolutions:
        r_idx = space.resolutions.index(r)
        cfg, fixed_list = fixed_parts(space, r, num_classes)
        fixed[r_idx] = sum(features(p, cfg, r) for p in fixed_list)
        for s_idx, rows in enumerate(slot_parts(space, r)):
            for k_idx, row in enumerate(rows):
                for e_idx, part in enumerate(row):
                    slots[r_idx, s_idx, k_idx, e_idx] = features(part, cfg, r)
    return FeatureLayout(space, names, sorted(resolutions), fixed, slots, parts)
