"""A subnet: one choice of resolution, depth, kernel and expand ratio per block of a space.

Three interchangeable forms: the frozen `Subnet` value, its dict/JSON form, a compact string
(`r160/k3e4,k5e6/...`), and a fixed-length integer gene vector for search algorithms.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Literal, Sequence

import numpy as np

from ofa import fields
from ofa.errors import OfaError, shown
from ofa.families.genes import GeneGroup, GeneLayout
from ofa.families.subnet_forms import PICKS, subnet_from
from ofa.families.mbconv.space import SearchSpace, _number

SampleKind = Literal["uniform", "max", "min", "mid"]


@dataclass(frozen=True)
class Subnet:
    """Kernels and expands hold one tuple per stage, one entry per active block."""

    resolution: int
    kernels: tuple[tuple[int, ...], ...]
    expands: tuple[tuple[int | float, ...], ...]

    @property
    def depths(self) -> tuple[int, ...]:
        return tuple(len(k) for k in self.kernels)

    def to_dict(self) -> dict[str, Any]:
        return {
            "resolution": self.resolution,
            "depths": list(self.depths),
            "kernels": [list(k) for k in self.kernels],
            "expands": [list(e) for e in self.expands],
        }

    @classmethod
    def from_dict(cls, d: Any) -> "Subnet":
        if not isinstance(d, dict) or not {"resolution", "kernels", "expands"} <= set(d):
            raise OfaError(f"a subnet needs 'resolution', 'kernels' and 'expands', got {shown(d)}")

        def stages(key: str, check) -> tuple[tuple, ...]:
            value = fields.items(d[key], f"subnet {key}", "a list of stages, each a list of blocks", longest=64)
            return tuple(tuple(check(v) for v in fields.items(stage, f"subnet {key}", "lists of blocks", longest=64))
                         for stage in value)

        kernels = stages("kernels", lambda k: fields.whole(k, "subnet kernels", "kernel"))
        expands = stages("expands", lambda e: _number(fields.real(e, "subnet expands", 0, 64, low_open=True,
                                                                  what="expand ratios")))
        resolution = fields.whole(d["resolution"], "subnet resolution", "resolution")
        if [len(k) for k in kernels] != [len(e) for e in expands]:
            raise OfaError("subnet kernels and expands must list the same number of blocks per stage")
        if "depths" in d and [fields.whole(n, "subnet depths", "depth") for n in
                              fields.items(d["depths"], "subnet depths", "a list of depths", longest=64)] != [len(k) for k in kernels]:
            raise OfaError(f"subnet depths {shown(d['depths'])} disagree with its kernel lists")
        return cls(resolution, kernels, expands)

    def __str__(self) -> str:
        stages = ",".join(
            "-".join(f"k{k}e{e}" for k, e in zip(ks, es)) for ks, es in zip(self.kernels, self.expands)
        )
        return f"r{self.resolution}:{stages}"

    @classmethod
    def parse(cls, text: str) -> "Subnet":
        """Inverse of str(): `r160:k3e4-k5e6,k7e3-k3e3` (stages by ',', blocks by '-')."""
        m = re.fullmatch(r"\s*r([0-9]{1,5}):(.+?)\s*", text) if len(text) < 10_000 else None
        if not m:
            raise OfaError(f"cannot read subnet {shown(text)}; expected e.g. 'r160:k3e4-k5e6,k7e3-k3e3'")
        kernels, expands = [], []
        for stage in m.group(2).split(","):
            ks, es = [], []
            for block in stage.split("-"):
                bm = re.fullmatch(r"k([0-9]{1,3})e([0-9]{1,3}(?:\.[0-9]{1,6})?)", block.strip())
                if not bm:
                    raise OfaError(f"cannot read block {shown(block)} of subnet {shown(text)}; expected e.g. 'k3e4'")
                ks.append(int(bm.group(1)))
                es.append(_number(bm.group(2)))
            kernels.append(tuple(ks))
            expands.append(tuple(es))
        return cls(int(m.group(1)), tuple(kernels), tuple(expands))


def check_subnet(space: SearchSpace, subnet: Subnet) -> Subnet:
    """Raise a one-line OfaError naming the first value outside the space."""
    if subnet.resolution not in space.resolutions:
        raise OfaError(
            f"resolution {subnet.resolution} is not in space '{space.name}' (allowed: {list(space.resolutions)})"
        )
    if len(subnet.kernels) != len(space.stages):
        raise OfaError(f"subnet has {len(subnet.kernels)} stages, space '{space.name}' has {len(space.stages)}")
    for i, (stage, ks, es) in enumerate(zip(space.stages, subnet.kernels, subnet.expands)):
        if len(ks) not in stage.depths:
            raise OfaError(f"stage {i + 1}: depth {len(ks)} is not allowed (allowed: {list(stage.depths)})")
        for j, (k, e) in enumerate(zip(ks, es)):
            if k not in stage.kernels:
                raise OfaError(f"stage {i + 1} block {j + 1}: kernel {k} is not allowed (allowed: {list(stage.kernels)})")
            if e not in stage.expands:
                raise OfaError(f"stage {i + 1} block {j + 1}: expand {e} is not allowed (allowed: {list(stage.expands)})")
    return subnet


def to_subnet(space: SearchSpace, value: "Subnet | str | dict") -> Subnet:
    """Accept a Subnet, its string, its dict, or 'max' / 'min'; always checked against the space."""
    return subnet_from(space, value, Subnet, sample_subnet, check_subnet)


def sample_subnet(
    space: SearchSpace, kind: SampleKind = "uniform", seed: int | np.random.Generator | None = None
) -> Subnet:
    """Largest, smallest, middle or uniformly random subnet; random needs a seed or a Generator."""
    if kind in PICKS:
        pick = PICKS[kind]
        return Subnet(
            pick(space.resolutions),
            tuple((pick(s.kernels),) * pick(s.depths) for s in space.stages),
            tuple((pick(s.expands),) * pick(s.depths) for s in space.stages),
        )
    if kind != "uniform":
        raise ValueError(f"unknown sample kind {kind!r}")
    if seed is None:
        raise ValueError("uniform sampling needs an explicit seed or numpy Generator")
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    kernels, expands = [], []
    for s in space.stages:
        d = int(rng.choice(s.depths))
        kernels.append(tuple(int(rng.choice(s.kernels)) for _ in range(d)))
        expands.append(tuple(s.expands[int(rng.integers(len(s.expands)))] for _ in range(d)))
    return Subnet(int(rng.choice(space.resolutions)), tuple(kernels), tuple(expands))


# -- integer genes -------------------------------------------------------------------------------
# Layout (`gene_layout`): [resolution, depth per stage, kernel per block slot, expand per block
# slot], each an index into the space's choice list. Slots past a stage's depth are ignored when
# decoding and written as 0 when encoding, so every subnet has exactly one gene vector.


@lru_cache(maxsize=64)
def gene_layout(space: SearchSpace) -> GeneLayout:
    slots = [(i, j) for i, stage in enumerate(space.stages) for j in range(stage.max_depth)]
    stages, positions = tuple(i for i, _ in slots), tuple(j for _, j in slots)
    return GeneLayout((
        GeneGroup("resolution", (space.resolutions,)),
        GeneGroup("depth", tuple(stage.depths for stage in space.stages)),
        GeneGroup("kernel", tuple(space.stages[i].kernels for i in stages), stages, positions),
        GeneGroup("expand", tuple(space.stages[i].expands for i in stages), stages, positions),
    ))


def encode(space: SearchSpace, subnet: Subnet) -> np.ndarray:
    check_subnet(space, subnet)
    genes = [space.resolutions.index(subnet.resolution)]
    genes += [s.depths.index(len(ks)) for s, ks in zip(space.stages, subnet.kernels)]
    for attr in ("kernels", "expands"):
        for s, values in zip(space.stages, getattr(subnet, attr)):
            choices = getattr(s, attr)
            genes += [choices.index(v) for v in values] + [0] * (s.max_depth - len(values))
    return np.asarray(genes, dtype=np.int64)


def decode(space: SearchSpace, genes: Sequence[int] | np.ndarray) -> Subnet:
    layout = gene_layout(space)
    genes = layout.checked(genes, space.name)
    kernels, expands = layout.take(genes, "kernel")[0], layout.take(genes, "expand")[0]
    stage_of = np.asarray(layout.group("kernel").stages)
    used = layout.in_use(genes, "kernel")[0]
    pick = [np.flatnonzero((stage_of == i) & used) for i in range(len(space.stages))]
    return Subnet(space.resolutions[layout.take(genes, "resolution")[0, 0]],
                  tuple(tuple(s.kernels[g] for g in kernels[slots]) for s, slots in zip(space.stages, pick)),
                  tuple(tuple(s.expands[g] for g in expands[slots]) for s, slots in zip(space.stages, pick)))


def slot_choices(space: SearchSpace, genes: np.ndarray) -> np.ndarray:
    """(n, num_blocks) choice of every block slot, kernel index x expands + expand index, -1 where
    the slot is past its stage's depth."""
    layout = gene_layout(space)
    genes = np.atleast_2d(np.asarray(genes, dtype=np.int64))
    n_expands = max(len(s.expands) for s in space.stages)
    choice = layout.take(genes, "kernel") * n_expands + layout.take(genes, "expand")
    return np.where(layout.in_use(genes, "kernel"), choice, -1)
