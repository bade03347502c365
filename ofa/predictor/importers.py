"""Accuracy predictors fitted by other tools, turned into ours: one registry of source formats
(today once-for-all's: its tutorial MLP for MobileNetV3 spaces, its ResNet50 predictor for ResNet
spaces). An imported predictor is bound to a space, not to a supernet run: it speaks for weights we
do not hold (once-for-all's ImageNet supernets)."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Callable

import numpy as np

from ofa import __version__
from ofa.errors import OfaError
from ofa.files import file_sha256
from ofa.families.mbconv.encodings import ofa_resolution_slot
from ofa.families.resnet import encodings as resnet_encodings
from ofa.families.resnet.once_for_all import predictor_arrays
from ofa.predictor.features import feature_names
from ofa.predictor.models import FittedModel
from ofa.predictor.store import AccuracyPredictor
from ofa.spaces import Space

OFA_ENCODING = "ofa-tutorial"
OFA_RESNET_ENCODING = "ofa-resnet50"
# The resolutions once-for-all's tutorial predictor was fitted at (its EvolutionFinder's): slots 0-2 of
# its resolution one-hot (112-159 px) never saw an input, and it scores 128 px subnets above the largest.
OFA_RESOLUTIONS = (160, 176, 192, 208, 224)


def read_state_dict(path: Path) -> dict[str, np.ndarray]:
    """A torch state dict of finite tensors, as float32 arrays (see ofa.torch_files)."""
    import torch

    from ofa.torch_files import load_torch_file, tensor_dict

    state = tensor_dict(load_torch_file(path, "predictor file"), path)
    return {k: v.detach().to(torch.float32).numpy() for k, v in state.items()}


def import_ofa(path: Path, space: Space) -> AccuracyPredictor:
    """once-for-all's accuracy predictor for the space's family (its MobileNetV3 tutorial's or its
    ResNet50's)."""
    return (_import_ofa_resnet if space.family == "resnet" else _import_ofa_mbconv)(path, space)


def _meta(path: Path, what: str, shape: str, fitted: list[int]) -> dict:
    return {"source": {"format": "ofa", "file": path.name, "sha256": file_sha256(path)},
            "description": f"once-for-all's {what}, an MLP {shape} (ImageNet top-1 of its supernet)",
            "ofa_version": __version__, "created": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
            "resolutions": fitted}


def _shape(inputs: int, arrays: dict[str, np.ndarray]) -> str:
    return " -> ".join([str(inputs)] + [str(arrays[f"w{j}"].shape[2]) for j in range(len(arrays) // 2)])


def _import_ofa_resnet(path: Path, space: Space) -> AccuracyPredictor:
    """once-for-all's ResNet50 predictor (`layers.i.0` Linear + ReLU, a last `layers.n` without bias,
    plus `base_acc`), input in its ResNet50 encoding, output top-1 as a fraction."""
    resnet_encodings.check_ofa_shape(space)
    for r in space.resolutions:
        resnet_encodings.ofa_resolution_slot(r)
    inputs = len(feature_names(space, OFA_RESNET_ENCODING))
    arrays = predictor_arrays(read_state_dict(path), inputs, str(path))
    return AccuracyPredictor(space, FittedModel("mlp", arrays), None,
                             _meta(path, "ResNet50 accuracy predictor", _shape(inputs, arrays), list(space.resolutions)),
                             OFA_RESNET_ENCODING)


def _import_ofa_mbconv(path: Path, space: Space) -> AccuracyPredictor:
    """once-for-all's tutorial predictor: nn.Sequential of Linear layers with ReLU between (state
    keys `0.*`, `2.*`, ...), input in its tutorial encoding, output top-1 as a fraction."""
    for r in space.resolutions:
        ofa_resolution_slot(r)
    fitted = [r for r in space.resolutions if r in OFA_RESOLUTIONS]
    if not fitted:
        raise OfaError(f"space '{space.name}' has none of the resolutions once-for-all's predictor was fitted at "
                       f"({', '.join(map(str, OFA_RESOLUTIONS))} px)")
    state = read_state_dict(path)
    inputs = len(feature_names(space, OFA_ENCODING))
    layers = sorted({int(m.group(1)) for k in state if (m := re.fullmatch(r"(\d+)\.(weight|bias)", k))})
    expected = {f"{i}.{p}" for i in layers for p in ("weight", "bias")}
    if not layers or set(state) != expected:
        raise OfaError(f"{path}: expected the keys of an nn.Sequential of Linear layers ('0.weight', '0.bias', ...), "
                       f"got {sorted(state)[:6]}")
    arrays, width = {}, inputs
    for j, i in enumerate(layers):
        w, b = state[f"{i}.weight"], state[f"{i}.bias"]
        last = j == len(layers) - 1
        if w.ndim != 2 or w.shape[1] != width or b.shape != (w.shape[0],) or (last and w.shape[0] != 1):
            want = f"({'1' if last else 'any'}, {width})"
            raise OfaError(f"{path}: layer '{i}' has weight shape {tuple(w.shape)} and bias {tuple(b.shape)}, expected "
                           f"{want} for space '{space.name}' ({inputs} inputs in once-for-all's encoding)")
        arrays[f"w{j}"], arrays[f"b{j}"] = w.T[None].copy(), b[None].copy()
        width = w.shape[0]
    return AccuracyPredictor(space, FittedModel("mlp", arrays), None,
                             _meta(path, "accuracy predictor", _shape(inputs, arrays), fitted), OFA_ENCODING)


IMPORTERS: dict[str, tuple[str, Callable[[Path, Space], AccuracyPredictor]]] = {
    "ofa": ("once-for-all's acc_predictor.pth or ofa_resnet50_acc_predictor.pth (state dicts of its MLPs)",
            import_ofa),
}


def import_predictor(fmt: str, path: Path, space: Space) -> AccuracyPredictor:
    if fmt not in IMPORTERS:
        raise OfaError(f"unknown predictor format '{fmt}'; known: {', '.join(IMPORTERS)}")
    from ofa.torch_files import check_finite

    predictor = IMPORTERS[fmt][1](Path(path), space)
    check_finite(predictor.model.arrays, str(path))
    return predictor
