"""Predictor features of MobileNetV3-style gene vectors, built for a whole population at once.

- `default`: per block slot a one-hot kernel and a one-hot expand ratio (all zeros where the stage
  is too shallow to use the slot), a one-hot depth per stage and a one-hot resolution.
- `ofa-tutorial`: once-for-all's tutorial predictor input (its published `acc_predictor.pth`):
  every slot's one-hot kernel, then every slot's one-hot expand ratio (zeros for skipped slots),
  then 8 resolution slots, r at (r - 112) // 16. No depth: zeroed slots carry it."""

from __future__ import annotations

from typing import Callable

import numpy as np

from ofa.errors import OfaError
from ofa.families.mbconv.space import SearchSpace
from ofa.families.mbconv.subnet import gene_layout

OFA_RESOLUTION_BASE, OFA_RESOLUTION_STEP, OFA_RESOLUTION_SLOTS = 112, 16, 8


def _slot_columns(space: SearchSpace, genes: np.ndarray) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Per block slot, its one-hot kernel and one-hot expand columns, zero where the slot is unused."""
    layout = gene_layout(space)
    active = layout.in_use(genes, "kernel")
    k_genes, e_genes = layout.take(genes, "kernel"), layout.take(genes, "expand")
    kernels, expands, slot = [], [], 0
    for stage in space.stages:
        for _ in range(stage.max_depth):
            on = active[:, slot : slot + 1]
            kernels.append((k_genes[:, slot : slot + 1] == np.arange(len(stage.kernels))) & on)
            expands.append((e_genes[:, slot : slot + 1] == np.arange(len(stage.expands))) & on)
            slot += 1
    return kernels, expands


def _slot_names(space: SearchSpace, what: str) -> list[list[str]]:
    values = {"k": lambda s: s.kernels, "e": lambda s: s.expands}[what]
    return [[f"s{i}b{j}:{what}{v}" for v in values(stage)]
            for i, stage in enumerate(space.stages, 1) for j in range(1, stage.max_depth + 1)]


# -- default ----------------------------------------------------------------------------------------

def _default_names(space: SearchSpace) -> list[str]:
    names = [n for k, e in zip(_slot_names(space, "k"), _slot_names(space, "e")) for n in k + e]
    names += [f"s{i}:d{d}" for i, stage in enumerate(space.stages, 1) for d in stage.depths]
    return names + [f"r{r}" for r in space.resolutions]


def _default(space: SearchSpace, genes: np.ndarray) -> list[np.ndarray]:
    kernels, expands = _slot_columns(space, genes)
    columns = [c for pair in zip(kernels, expands) for c in pair]
    layout = gene_layout(space)
    depths = layout.take(genes, "depth")
    columns += [depths[:, i : i + 1] == np.arange(len(stage.depths)) for i, stage in enumerate(space.stages)]
    return columns + [layout.take(genes, "resolution") == np.arange(len(space.resolutions))]


# -- once-for-all's tutorial ------------------------------------------------------------------------

def ofa_resolution_slot(resolution: int) -> int:
    slot = (resolution - OFA_RESOLUTION_BASE) // OFA_RESOLUTION_STEP
    if not 0 <= slot < OFA_RESOLUTION_SLOTS:
        low, high = OFA_RESOLUTION_BASE, OFA_RESOLUTION_BASE + OFA_RESOLUTION_SLOTS * OFA_RESOLUTION_STEP - 1
        raise OfaError(f"once-for-all's encoding has no slot for {resolution} px (it covers {low}-{high} px)")
    return slot


def _ofa_names(space: SearchSpace) -> list[str]:
    names = [n for slot in _slot_names(space, "k") for n in slot] + [n for slot in _slot_names(space, "e") for n in slot]
    return names + [f"r{OFA_RESOLUTION_BASE + OFA_RESOLUTION_STEP * i}+" for i in range(OFA_RESOLUTION_SLOTS)]


def _ofa(space: SearchSpace, genes: np.ndarray) -> list[np.ndarray]:
    kernels, expands = _slot_columns(space, genes)
    resolution = gene_layout(space).take(genes, "resolution")[:, 0]
    slots = np.asarray([ofa_resolution_slot(r) for r in space.resolutions])[resolution]
    return kernels + expands + [slots[:, None] == np.arange(OFA_RESOLUTION_SLOTS)]


ENCODINGS: dict[str, tuple[Callable[[SearchSpace], list[str]], Callable[[SearchSpace, np.ndarray], list[np.ndarray]]]] = {
    "default": (_default_names, _default),
    "ofa-tutorial": (_ofa_names, _ofa),
}
