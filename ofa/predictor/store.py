"""A predictor on disk: `NAME.json` (what it is, what it is bound to, its report) beside
`NAME.safetensors` (its arrays). Nothing is unpickled when loading."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ofa.errors import OfaError
from ofa.files import read_json, usual_mode
from ofa.predictor.features import DEFAULT_ENCODING, feature_names, features
from ofa.predictor.models import MODELS, FittedModel
from ofa.spaces.space import SearchSpace

PREDICTOR_FORMAT = "ofa-accuracy-predictor/1"


@dataclass(frozen=True)
class AccuracyPredictor:
    """A fitted model with the space it encodes and the supernet whose labels it learned
    (`supernet` is None for a predictor bound only to a space, e.g. an imported one)."""

    space: SearchSpace
    model: FittedModel
    supernet: dict[str, str] | None
    meta: dict[str, Any]
    encoding: str = DEFAULT_ENCODING  # how gene vectors become its inputs (ofa.predictor.features)

    def predict_genes(self, genes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Top-1 % and its uncertainty for an (n, genes) array, in one vectorized call."""
        return self.model.predict(features(self.space, genes, self.encoding))

    @property
    def resolutions(self) -> tuple[int, ...]:
        """The resolutions it speaks for: those it was fitted at (`resolutions` of an imported one), else
        all of its space's. Search keeps to these: elsewhere its inputs are ones it never saw."""
        return tuple(self.meta.get("resolutions") or self.space.resolutions)


def default_predictor_path(run: Path) -> Path:
    return Path(run) / "predictor" / "predictor.json"


def save_predictor(predictor: AccuracyPredictor, path: Path) -> Path:
    from safetensors.numpy import save_file

    path = Path(path).with_suffix(".json")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise OfaError(f"cannot write the predictor to {path}: {e.strerror or e}") from None
    weights = path.with_suffix(".safetensors")
    tmp = weights.with_name(f".{weights.name}.tmp")
    save_file({k: np.ascontiguousarray(v) for k, v in predictor.model.arrays.items()}, str(tmp))
    os.replace(usual_mode(tmp), weights)
    info = {"format": PREDICTOR_FORMAT, "kind": predictor.model.kind, "space": predictor.space.name,
            "space_fingerprint": predictor.space.fingerprint(), "supernet": predictor.supernet,
            "encoding": predictor.encoding, "num_features": len(feature_names(predictor.space, predictor.encoding)),
            "weights": weights.name, **predictor.meta}
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(info, indent=2))
    os.replace(tmp, path)
    return path


def load_predictor(path: Path, space: SearchSpace) -> AccuracyPredictor:
    """Refuses a predictor of another space, another version of it, or with arrays that do not fit."""
    from safetensors import SafetensorError
    from safetensors.numpy import load_file

    path = Path(path)
    info = read_json(path, "predictor")
    if not isinstance(info, dict) or info.get("format") != PREDICTOR_FORMAT:
        raise OfaError(f"{path} is not an accuracy predictor (expected format '{PREDICTOR_FORMAT}')")
    if info.get("space") != space.name:
        raise OfaError(f"{path} predicts for space '{info.get('space')}', not '{space.name}'")
    if info.get("space_fingerprint") != space.fingerprint():
        raise OfaError(f"{path} was trained on another version of space '{space.name}'; train it again")
    if info.get("kind") not in MODELS:
        raise OfaError(f"{path}: unknown predictor kind {info.get('kind')!r}")
    weights = path.with_name(str(info.get("weights", path.with_suffix(".safetensors").name)))
    try:
        arrays = load_file(str(weights))
    except (SafetensorError, OSError, ValueError) as e:
        raise OfaError(f"{weights}: cannot read predictor weights ({e})") from None
    model = FittedModel(info["kind"], arrays)
    fitted = info.get("resolutions")
    if fitted is not None and (not isinstance(fitted, list) or not fitted
                               or any(r not in space.resolutions or isinstance(r, bool) for r in fitted)):
        raise OfaError(f"{path}: 'resolutions' must list resolutions of space '{space.name}', got {fitted!r}")
    meta = {k: v for k, v in info.items() if k not in ("format", "kind", "space", "space_fingerprint", "supernet",
                                                        "encoding", "num_features", "weights")}
    predictor = AccuracyPredictor(space, model, info.get("supernet"), meta, str(info.get("encoding", DEFAULT_ENCODING)))
    try:
        out, _ = predictor.predict_genes(np.zeros((1, len(_bounds(space))), dtype=np.int64))
    except (ValueError, KeyError, IndexError) as e:
        raise OfaError(f"{weights}: predictor arrays do not fit space '{space.name}' ({e})") from None
    if not np.isfinite(out).all():
        raise OfaError(f"{weights}: predictor gives non-finite accuracies")
    return predictor


def _bounds(space: SearchSpace) -> np.ndarray:
    from ofa.spaces.subnet import gene_bounds

    return gene_bounds(space)[1]
