"""A predictor on disk: `NAME.json` (what it is, what it is bound to, its report) beside
`NAME.safetensors` (its arrays). Nothing is unpickled when loading."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ofa import fields
from ofa.errors import OfaError, shown
from ofa.files import read_json, write_atomic, write_json
from ofa.families import FAMILIES
from ofa.predictor.features import DEFAULT_ENCODING, feature_names, features
from ofa.predictor.models import MODELS, FittedModel, check_shapes
from ofa.torch_files import check_finite
from ofa.spaces import Space

PREDICTOR_FORMAT = "ofa-accuracy-predictor/1"


@dataclass(frozen=True)
class AccuracyPredictor:
    """A fitted model with the space it encodes and the supernet whose labels it learned
    (`supernet` is None for a predictor bound only to a space, e.g. an imported one)."""

    space: Space
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
    """NAME.safetensors, then NAME.json (which names it), each replaced atomically."""
    from safetensors.numpy import save

    path = predictor_file(path)
    weights = path.with_suffix(".safetensors")
    write_atomic(weights, save({k: np.ascontiguousarray(v) for k, v in predictor.model.arrays.items()}))
    info = {"format": PREDICTOR_FORMAT, "kind": predictor.model.kind, "space": predictor.space.name,
            "space_fingerprint": predictor.space.fingerprint(), "supernet": predictor.supernet,
            "encoding": predictor.encoding, "num_features": len(feature_names(predictor.space, predictor.encoding)),
            "weights": weights.name, **predictor.meta}
    return write_json(path, info)


def predictor_file(path: str | Path) -> Path:
    """The JSON file of a predictor given with or without its `.json` (`ofa predictor import --out P`
    writes P.json, and users then pass P)."""
    path = Path(path)
    return path if path.suffix == ".json" else path.with_name(path.name + ".json")


_INFO_FIELDS = ("format", "kind", "space", "space_fingerprint", "supernet", "encoding", "num_features", "weights",
                "report", "seed", "trained_on", "source", "description", "ofa_version", "created", "resolutions")
_SUPERNET_FIELDS = ("space", "space_fingerprint", "weights_sha256")
# ofa.predictor.metrics.report's figures: (lowest, highest, may be null where undefined)
_REPORT_FIELDS = {"n": (1, 1e6, False), "rmse": (0, 100, False), "mae": (0, 100, False),
                  "kendall_tau": (-1, 1, True), "spearman": (-1, 1, True), "top10_precision": (0, 1, True),
                  "tau_in_bins": (-1, 1, True), "bins_by": (0, 0, False), "mean_spread": (0, 100, False),
                  "within_1_spread": (0, 1, False)}


def read_predictor_info(path: Path) -> dict[str, Any]:
    """A predictor's JSON file, every field checked (its arrays are checked by `load_predictor`)."""
    path = predictor_file(path)
    info = read_json(path, "predictor")
    if not isinstance(info, dict) or info.get("format") != PREDICTOR_FORMAT:
        raise OfaError(f"{path} is not an accuracy predictor (expected format '{PREDICTOR_FORMAT}')")
    where = str(path)
    fields.mapping(info, where, _INFO_FIELDS, required=("kind", "space", "space_fingerprint", "weights"))
    fields.text(info["kind"], f"{where}: kind", tuple(MODELS))
    fields.name(info["space"], f"{where}: space")
    fields.hex_digits(info["space_fingerprint"], f"{where}: space_fingerprint", 16)
    fields.text(info.get("encoding", DEFAULT_ENCODING), f"{where}: encoding",
                tuple(sorted({e for f in FAMILIES.values() for e in f.encodings})))
    weights = fields.name(info["weights"], f"{where}: weights")
    if not weights.endswith(".safetensors"):
        raise fields.fail(f"{where}: weights", "the name of a .safetensors file beside it", weights)
    if info.get("supernet") is not None:
        sn = fields.mapping(info["supernet"], f"{where}: supernet", _SUPERNET_FIELDS, required=_SUPERNET_FIELDS)
        fields.name(sn["space"], f"{where}: supernet.space")
        fields.hex_digits(sn["space_fingerprint"], f"{where}: supernet.space_fingerprint", 16)
        fields.hex_digits(sn["weights_sha256"], f"{where}: supernet.weights_sha256", 64)
    if "num_features" in info:
        fields.whole(info["num_features"], f"{where}: num_features", "channels")
    if "seed" in info:
        fields.whole(info["seed"], f"{where}: seed", "seed")
    if "report" in info:
        report = fields.mapping(info["report"], f"{where}: report", tuple(_REPORT_FIELDS))
        for key, value in report.items():
            low, high, undefined = _REPORT_FIELDS[key]
            if key == "bins_by":
                fields.text(value, f"{where}: report.bins_by")
            elif key == "n":
                fields.whole(value, f"{where}: report.n", "subnets")
            elif value is not None or not undefined:  # null: a correlation of constant values
                fields.real(value, f"{where}: report.{key}", low, high, what=f"a number from {low:g} to {high:g}")
    for key in ("trained_on", "source"):
        if info.get(key) is not None and not isinstance(info[key], dict):
            raise fields.fail(f"{where}: {key}", "a mapping", info[key])
    for key in ("description", "ofa_version", "created"):
        if key in info:
            fields.text(info[key], f"{where}: {key}")
    return info


def load_predictor(path: Path, space: Space) -> AccuracyPredictor:
    """Refuses a predictor of another space, another version of it, or with arrays that do not fit."""
    from safetensors import SafetensorError
    from safetensors.numpy import load_file

    path = predictor_file(path)
    info = read_predictor_info(path)
    if info["space"] != space.name:
        raise OfaError(f"{path} predicts for space '{info['space']}', not '{space.name}'")
    if info["space_fingerprint"] != space.fingerprint():
        raise OfaError(f"{path} was trained on another version of space '{space.name}'; train it again")
    encoding = info.get("encoding", DEFAULT_ENCODING)
    wanted = len(feature_names(space, encoding))
    if info.get("num_features", wanted) != wanted:
        raise OfaError(f"{path}: num_features is {info['num_features']}, space '{space.name}' has {wanted}")
    weights = path.with_name(info["weights"])
    try:
        arrays = load_file(str(weights))
    except (SafetensorError, OSError, ValueError) as e:
        raise OfaError(f"{weights}: cannot read predictor weights ({e})") from None
    check_finite(arrays, str(weights))
    check_shapes(info["kind"], arrays, wanted, str(weights))
    model = FittedModel(info["kind"], arrays)
    fitted = info.get("resolutions")
    if fitted is not None and (not isinstance(fitted, list) or not fitted
                               or any(r not in space.resolutions or isinstance(r, bool) for r in fitted)):
        raise OfaError(f"{path}: 'resolutions' must list resolutions of space '{space.name}', got {shown(fitted)}")
    meta = {k: v for k, v in info.items() if k not in ("format", "kind", "space", "space_fingerprint", "supernet",
                                                        "encoding", "num_features", "weights")}
    predictor = AccuracyPredictor(space, model, info.get("supernet"), meta, encoding)
    try:
        out, _ = predictor.predict_genes(np.zeros((1, len(_bounds(space))), dtype=np.int64))
    except (ValueError, KeyError, IndexError, TypeError) as e:
        raise OfaError(f"{weights}: predictor arrays do not fit space '{space.name}' ({str(e)[:100]})") from None
    if not np.isfinite(out).all():
        raise OfaError(f"{weights}: predictor gives non-finite accuracies")
    return predictor


def _bounds(space: Space) -> np.ndarray:
    from ofa.spaces import gene_bounds

    return gene_bounds(space)[1]


def check_predictor_out(path: Path, force: bool) -> None:
    """Before any work: a predictor may be written at `path` (its .json and .safetensors): both free or
    regular files, and an existing one replaced only with `force`, and only if it is a predictor."""
    from ofa.outputs import check_writable_file

    given, path = Path(path), predictor_file(path)
    if given != path and (given.exists() or given.is_symlink()):
        raise OfaError(f"--out {given} exists and is not a predictor's .json; give the name of a new predictor "
                       f"(it writes NAME.json and NAME.safetensors)")
    pair = (path, path.with_suffix(".safetensors"))
    for file in pair:
        check_writable_file(file, "--out")
    if any(f.exists() for f in pair):
        if not force:
            raise OfaError(f"{path} exists; pass --force to replace it, or another --out")
        try:
            read_predictor_info(path)
        except OfaError:
            raise OfaError(f"{path} is not a predictor ofa wrote; it is not replaced (choose another --out)") from None
