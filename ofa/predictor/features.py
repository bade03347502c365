"""Predictor features of gene vectors, as once-for-all encodes architectures: per block slot a
one-hot kernel and a one-hot expand ratio (all zeros where the stage is too shallow to use the
slot), a one-hot depth per stage and a one-hot resolution. Built for a whole population at once."""

from __future__ import annotations

import numpy as np

from ofa.spaces.space import SearchSpace
from ofa.spaces.subnet import active_slots


def feature_names(space: SearchSpace) -> list[str]:
    names: list[str] = []
    slot = 0
    for i, stage in enumerate(space.stages, 1):
        for j in range(1, stage.max_depth + 1):
            names += [f"s{i}b{j}:k{k}" for k in stage.kernels]
            names += [f"s{i}b{j}:e{e}" for e in stage.expands]
            slot += 1
    names += [f"s{i}:d{d}" for i, stage in enumerate(space.stages, 1) for d in stage.depths]
    names += [f"r{r}" for r in space.resolutions]
    return names


def features(space: SearchSpace, genes: np.ndarray) -> np.ndarray:
    """(n, len(feature_names(space))) float32 matrix of 0/1 for an (n, genes) integer array."""
    genes = np.atleast_2d(np.asarray(genes, dtype=np.int64))
    n = genes.shape[0]
    n_stages, n_blocks = len(space.stages), space.num_blocks
    active = active_slots(space, genes)
    k_genes = genes[:, 1 + n_stages : 1 + n_stages + n_blocks]
    e_genes = genes[:, 1 + n_stages + n_blocks : 1 + n_stages + 2 * n_blocks]
    columns: list[np.ndarray] = []
    slot = 0
    for stage in space.stages:
        for _ in range(stage.max_depth):
            on = active[:, slot : slot + 1]
            columns.append((k_genes[:, slot : slot + 1] == np.arange(len(stage.kernels))) & on)
            columns.append((e_genes[:, slot : slot + 1] == np.arange(len(stage.expands))) & on)
            slot += 1
    for i, stage in enumerate(space.stages):
        columns.append(genes[:, 1 + i : 2 + i] == np.arange(len(stage.depths)))
    columns.append(genes[:, :1] == np.arange(len(space.resolutions)))
    out = np.concatenate(columns, axis=1).astype(np.float32)
    assert out.shape == (n, len(feature_names(space)))
    return out
