"""A subnet: one choice of resolution, depth, kernel and expand ratio per block of a space.

Three interchangeable forms: the frozen `Subnet` value, its dict/JSON form, a compact string
(`r160/k3e4,k5e6/...`), and a fixed-length integer gene vector for search algorithms.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal, Sequence

import numpy as np

from ofa import fields
from ofa.errors import OfaError, shown
from ofa.families.genes import GeneGroup, GeneLayout, sum_over_slots
from ofa.files import parse_json, read_json
from ofa.limits import LIMITS
from ofa.spaces.space import SearchSpace, _number

SampleKind = Literal["uniform", "max", "min"]


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
    if isinstance(value, str) and value in ("max", "min"):
        return sample_subnet(space, value)
    if isinstance(value, str):
        value = Subnet.parse(value)
    elif isinstance(value, dict):
        value = Subnet.from_dict(value)
    return check_subnet(space, value)


SUBNET_FILE_SUFFIXES = (".txt", ".json", ".jsonl")


def is_subnet_file(value: str) -> bool:
    """A command-line subnet names a file when it ends like one or one is there ('max' never is)."""
    if value in ("max", "min"):
        return False
    path = Path(value)
    return path.suffix.lower() in SUBNET_FILE_SUFFIXES or path.is_file()


def read_subnet_file(path: str | Path) -> list[str | dict[str, Any]]:
    """Subnets in a file, unchecked: .json holds one subnet or a list of them (dicts or compact
    strings), .jsonl one per line, any other file one compact string per line ('#' comments)."""
    path = Path(path)
    if not path.is_file():
        raise OfaError(f"subnet file not found: {path}")
    suffix = path.suffix.lower()
    if suffix == ".json":
        data = read_json(path, "subnet file")
        items = data if isinstance(data, list) else [data]
    else:
        items = _read_lines(path, jsonl=suffix == ".jsonl")
    for i, item in enumerate(items, 1):
        if not isinstance(item, (str, dict)):
            raise OfaError(f"{path}: subnet {i} is {type(item).__name__}; expected a dict or a compact string")
    if not items:
        raise OfaError(f"{path}: no subnets in the file")
    if len(items) > LIMITS["subnets"][1]:
        raise OfaError(f"{path}: {len(items):,} subnets, more than {LIMITS['subnets'][1]:,}")
    return items


def _read_lines(path: Path, jsonl: bool) -> list[Any]:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as e:
        raise OfaError(f"{path}: cannot read ({getattr(e, 'strerror', None) or e})") from None
    items = []
    for number, line in enumerate(lines, 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if not jsonl:
            items.append(line)
            continue
        items.append(parse_json(line, f"{path} line {number}"))
    return items


def subnet_values(values: Sequence[str]) -> list[str | dict[str, Any]]:
    """Command-line subnets with every file among them replaced by the subnets it holds."""
    out: list[str | dict[str, Any]] = []
    for value in values:
        out += read_subnet_file(value) if is_subnet_file(value) else [value]
    return out


def sample_subnet(
    space: SearchSpace, kind: SampleKind = "uniform", seed: int | np.random.Generator | None = None
) -> Subnet:
    """Largest, smallest, or uniformly random subnet; random needs a seed or a Generator."""
    if kind in ("max", "min"):
        pick = max if kind == "max" else min
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


def gene_bounds(space: SearchSpace) -> tuple[np.ndarray, np.ndarray]:
    """Inclusive lower and upper bounds of each gene (for integer search algorithms)."""
    return gene_layout(space).bounds()


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
    genes = np.asarray(genes, dtype=np.int64)
    lower, upper = layout.bounds()
    if genes.shape != upper.shape or (genes < lower).any() or (genes > upper).any():
        raise OfaError(f"gene vector does not fit space '{space.name}' (expected {upper.size} genes within bounds)")
    kernels, expands = layout.take(genes, "kernel")[0], layout.take(genes, "expand")[0]
    stage_of = np.asarray(layout.group("kernel").stages)
    used = layout.in_use(genes, "kernel")[0]
    pick = [np.flatnonzero((stage_of == i) & used) for i in range(len(space.stages))]
    return Subnet(space.resolutions[layout.take(genes, "resolution")[0, 0]],
                  tuple(tuple(s.kernels[g] for g in kernels[slots]) for s, slots in zip(space.stages, pick)),
                  tuple(tuple(s.expands[g] for g in expands[slots]) for s, slots in zip(space.stages, pick)))


def active_slots(space: SearchSpace, genes: np.ndarray) -> np.ndarray:
    """Boolean (n, num_blocks) mask of the block slots in use, for a batch of gene vectors."""
    return gene_layout(space).in_use(genes, "kernel")


def slot_choices(space: SearchSpace, genes: np.ndarray) -> np.ndarray:
    """(n, num_blocks) choice of every block slot, kernel index x expands + expand index, -1 where
    the slot is past its stage's depth."""
    layout = gene_layout(space)
    genes = np.atleast_2d(np.asarray(genes, dtype=np.int64))
    n_expands = max(len(s.expands) for s in space.stages)
    choice = layout.take(genes, "kernel") * n_expands + layout.take(genes, "expand")
    return np.where(layout.in_use(genes, "kernel"), choice, -1)


def gather_slots(space: SearchSpace, fixed: np.ndarray, slots: np.ndarray, genes: np.ndarray) -> np.ndarray:
    """Per gene vector: fixed[resolution] plus slots[resolution, slot, kernel, expand] summed over
    the slots in use. Tables may carry trailing dimensions (e.g. MACs and parameters together)."""
    genes = np.atleast_2d(np.asarray(genes, dtype=np.int64))
    res = gene_layout(space).take(genes, "resolution")[:, 0]
    flat = slots.reshape(slots.shape[:2] + (slots.shape[2] * slots.shape[3],) + slots.shape[4:])
    return fixed[res] + sum_over_slots(flat, res, slot_choices(space, genes))


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


def canonical_genes(space: SearchSpace, genes: np.ndarray) -> np.ndarray:
    """Slots past a stage's depth set to 0, so that one subnet has one gene vector (what
    duplicate elimination and encode() rely on)."""
    return gene_layout(space).canonical(genes)
