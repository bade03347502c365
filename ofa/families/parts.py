"""What every family's parts share: the empty model that a part's time is taken against, the set of
distinct parts a space is made of, and one table of per-part values (latency, cost, features)
summed over whole populations of gene vectors.

A family describes its subnets as a sum over parts: `fixed_parts(space, resolution, num_classes)`
are in every subnet at that resolution; `slot_parts(space, resolution, num_classes)[slot][choice]`
is the part (or None where the choice cannot occur) that a slot becomes for each choice; and
`slot_choices(space, genes)` gives each slot's choice for a population (-1: the slot is left out).
A part has `key` (everything its latency depends on), `input_shape` (without the batch),
`onnx(batch_size)`, `module()` and `cost()`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from ofa import families
from ofa.families.genes import sum_over_slots
from ofa.layers.cost import Cost


def null_key(shape: tuple[int, ...]) -> str:
    """The empty model on this input: the fixed cost of one call, taken off every part."""
    return "null:" + "x".join(str(d) for d in shape)


@dataclass(frozen=True)
class NullPart:
    """The empty model (input to output unchanged) on one input shape."""

    input_shape: tuple[int, ...]
    kind = "null"

    @property
    def key(self) -> str:
        return null_key(self.input_shape)

    def onnx(self, batch_size: int = 1):
        from ofa.layers.onnx_graph import identity_onnx

        return identity_onnx(self.input_shape, batch_size)

    def module(self):
        from torch import nn

        return nn.Identity()

    def cost(self) -> Cost:
        return Cost(0, 0)


def resolution_parts(space: Any, resolution: int, num_classes: int) -> tuple[list, list[list]]:
    """(fixed parts, parts[slot][choice]) of a space at one resolution."""
    family = families.family_of(space)
    return family.fixed_parts(space, resolution, num_classes), family.slot_parts(space, resolution, num_classes)


def all_parts(space: Any, resolutions: list[int], num_classes: int) -> list:
    """Every distinct part over the given resolutions, once each, and the empty model for every
    input shape they take."""
    seen: dict[str, Any] = {}
    for r in resolutions:
        fixed, slots = resolution_parts(space, r, num_classes)
        for part in fixed + [p for choices in slots for p in choices if p is not None]:
            seen.setdefault(part.key, part)
            seen.setdefault(null_key(part.input_shape), NullPart(part.input_shape))
    return list(seen.values())


class PartValues:
    """Per resolution, the value of the fixed parts together and of every (slot, choice) part, from
    `value(part, resolution)` (a number or a vector); `total(genes)` sums them for a population
    in one gather. Cells of choices that cannot occur hold NaN."""

    def __init__(self, space: Any, num_classes: int, value: Callable[[Any, int], Any],
                 resolutions: tuple[int, ...] | None = None, width: tuple[int, ...] = ()):
        self.family, self.space = families.family_of(space), space
        wanted = space.resolutions if resolutions is None else resolutions
        parts = {r: resolution_parts(space, r, num_classes) for r in wanted}
        slot_count = len(next(iter(parts.values()))[1]) if parts else 0
        choices = max((len(c) for _, slots in parts.values() for c in slots), default=1)
        self.fixed = np.full((len(space.resolutions),) + width, np.nan)
        self.slots = np.full((len(space.resolutions), slot_count, choices) + width, np.nan)
        for r, (fixed, slots) in parts.items():
            r_idx = space.resolutions.index(r)
            self.fixed[r_idx] = sum((np.asarray(value(p, r), dtype=float) for p in fixed), np.zeros(width))
            for s_idx, slot in enumerate(slots):
                for c_idx, part in enumerate(slot):
                    if part is not None:
                        self.slots[r_idx, s_idx, c_idx] = value(part, r)

    def total(self, genes: np.ndarray) -> np.ndarray:
        genes = np.atleast_2d(np.asarray(genes, dtype=np.int64))
        res = self.family.gene_layout(self.space).take(genes, "resolution")[:, 0]
        return self.fixed[res] + sum_over_slots(self.slots, res, self.family.slot_choices(self.space, genes))


class CostTable:
    """MACs and parameters of whole populations of gene vectors in one gather."""

    def __init__(self, space: Any, num_classes: int):
        def cost(part: Any, _resolution: int) -> tuple[int, int]:
            c = part.cost()
            return c.macs, c.params

        self.values = PartValues(space, num_classes, cost, width=(2,))

    def macs_params(self, genes: np.ndarray) -> np.ndarray:
        """(n, 2) array: MACs and parameters of each gene vector."""
        return self.values.total(genes)
