"""A space's gene layout: the integer vector that search, predictors and tables see a subnet as.

A layout is a row of named groups (`resolution`, `depth`, `kernel`, `expand`, ...). Each gene is
an index into its own list of values. The genes of a block slot (`stage`, `position`) are in use
only where the stage's depth reaches the slot; the `depth` group holds one gene per stage. Every
consumer asks the layout for a group (`take`) instead of counting offsets itself, so a family of
spaces can lay its genes out as it needs.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np

from ofa.errors import OfaError


@dataclass(frozen=True)
class GeneGroup:
    """Genes of one kind: `values[i]` are the choices gene i indexes. Genes of block slots also
    name their stage and their block's place in it (from 0), and are unused past the stage's depth."""

    name: str
    values: tuple[tuple[Any, ...], ...]
    stages: tuple[int, ...] = ()
    positions: tuple[int, ...] = ()

    def __len__(self) -> int:
        return len(self.values)

    @property
    def per_slot(self) -> bool:
        return bool(self.positions)


@dataclass(frozen=True)
class GeneLayout:
    groups: tuple[GeneGroup, ...]

    @cached_property
    def _offsets(self) -> dict[str, int]:
        out, start = {}, 0
        for group in self.groups:
            out[group.name] = start
            start += len(group)
        return out

    @property
    def size(self) -> int:
        return sum(len(g) for g in self.groups)

    def group(self, name: str) -> GeneGroup:
        return next(g for g in self.groups if g.name == name)

    def slice(self, name: str) -> slice:
        start = self._offsets[name]
        return slice(start, start + len(self.group(name)))

    def checked(self, genes, space_name: str) -> np.ndarray:
        """One gene vector as an int array, refused in one line unless it has this layout's length and
        every gene is within its bounds."""
        genes = np.asarray(genes, dtype=np.int64)
        lower, upper = self.bounds()
        if genes.shape != upper.shape or (genes < lower).any() or (genes > upper).any():
            raise OfaError(f"gene vector does not fit space '{space_name}' (expected {upper.size} genes within bounds)")
        return genes

    def take(self, genes: np.ndarray, name: str) -> np.ndarray:
        """The genes of one group: (n, len(group)) for an (n, size) array."""
        return np.atleast_2d(genes)[:, self.slice(name)]

    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        """Inclusive lower and upper bounds of each gene (for integer search algorithms)."""
        upper = np.asarray([len(v) - 1 for g in self.groups for v in g.values], dtype=np.int64)
        return np.zeros_like(upper), upper

    def depths(self, genes: np.ndarray) -> np.ndarray:
        """(n, stages) depth of each stage."""
        group = self.group("depth")
        genes = self.take(genes, "depth")
        return np.stack([np.asarray(v)[genes[:, i]] for i, v in enumerate(group.values)], axis=1)

    def in_use(self, genes: np.ndarray, name: str) -> np.ndarray:
        """(n, len(group)) mask of a group's genes that the subnet uses (all, unless per slot)."""
        genes = np.atleast_2d(genes)
        group = self.group(name)
        if not group.per_slot:
            return np.ones((genes.shape[0], len(group)), dtype=bool)
        depths = self.depths(genes)
        return np.asarray(group.positions)[None, :] < depths[:, np.asarray(group.stages)]

    def used(self, genes: np.ndarray) -> np.ndarray:
        """(n, size) mask of every gene a subnet uses: what a mutation may change to any effect."""
        return np.concatenate([self.in_use(genes, g.name) for g in self.groups], axis=1)

    def canonical(self, genes: np.ndarray) -> np.ndarray:
        """Unused genes set to 0, so that one subnet has one gene vector (what duplicate elimination
        and encoding rely on)."""
        genes = np.atleast_2d(np.asarray(genes, dtype=np.int64))
        return genes * self.used(genes)


def sum_over_slots(values: np.ndarray, resolution: np.ndarray, choices: np.ndarray) -> np.ndarray:
    """Per subnet, the sum over its slots of values[resolution, slot, choice], where a family's
    `slot_choices` gives each slot's choice (-1: the subnet leaves the slot out). `values` may carry
    trailing dimensions (MACs and parameters together). One gather for a whole population: what
    keeps latency, cost and feature tables vectorised for every family."""
    picked = values[resolution[:, None], np.arange(choices.shape[1])[None, :], np.maximum(choices, 0)]
    used = (choices >= 0).reshape(choices.shape + (1,) * (values.ndim - 3))
    return np.where(used, picked, 0).sum(axis=1)


def unique_rows(genes: np.ndarray) -> np.ndarray:
    """Indices of the first occurrence of each distinct gene vector, in order. Rows compared as bytes:
    numpy's unique(axis=0) sorts column by column and took 5-10x longer on search-sized arrays."""
    genes = np.asarray(genes)
    if not len(genes):
        return np.zeros(0, dtype=np.int64)
    small = genes.astype(np.int8 if genes.max() < 128 and genes.min() >= -128 else np.int64)
    rows = np.ascontiguousarray(small).view(np.dtype((np.void, small.itemsize * small.shape[1]))).ravel()
    _, first = np.unique(rows, return_index=True)
    return np.sort(first)
