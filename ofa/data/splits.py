"""Deterministic train/val splits for data sets that ship without a validation set."""

from __future__ import annotations

from typing import Sequence

import numpy as np


def split_indices(
    labels: Sequence[int], val_fraction: float, seed: int
) -> tuple[list[int], list[int]]:
    """(train, val) indices: disjoint, sorted, together covering every item.

    Stratified, so a small validation set still sees every class: each class with at least two
    items gives round(n * val_fraction) of them to val, at least one and never all. The result
    depends only on the labels, the fraction and the seed, so the "train" and "val" calls of one
    run agree without sharing any state.
    """
    labels = np.asarray(labels)
    rng = np.random.default_rng(seed)
    val: list[int] = []
    for label in np.unique(labels):  # sorted, so the generator is consumed in a fixed order
        members = np.flatnonzero(labels == label)
        if len(members) < 2:
            continue
        take = min(len(members) - 1, max(1, int(len(members) * val_fraction + 0.5)))
        val.extend(int(i) for i in rng.permutation(members)[:take])
    val.sort()
    chosen = set(val)
    train = [i for i in range(len(labels)) if i not in chosen]
    return train, val
