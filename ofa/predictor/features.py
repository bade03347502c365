"""Predictor features of gene vectors: each family's registry of encodings (its `encodings`), a
whole population at once. A predictor records the encoding it was fitted on."""

from __future__ import annotations

import numpy as np

from ofa.errors import OfaError
from ofa.families import family_of

DEFAULT_ENCODING = "default"


def _encoding(space, name: str):
    family = family_of(space)
    if name not in family.encodings:
        raise OfaError(f"unknown predictor encoding '{name}' for {family.name} spaces; "
                       f"known: {', '.join(family.encodings)}")
    return family.encodings[name]


def feature_names(space, encoding: str = DEFAULT_ENCODING) -> list[str]:
    return _encoding(space, encoding)[0](space)


def features(space, genes: np.ndarray, encoding: str = DEFAULT_ENCODING) -> np.ndarray:
    """(n, len(feature_names(space, encoding))) float32 matrix of 0/1 for an (n, genes) integer array."""
    genes = np.atleast_2d(np.asarray(genes, dtype=np.int64))
    out = np.concatenate(_encoding(space, encoding)[1](space, genes), axis=1).astype(np.float32)
    assert out.shape == (genes.shape[0], len(feature_names(space, encoding)))
    return out
