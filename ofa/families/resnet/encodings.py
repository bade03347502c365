"""Predictor features of ResNet gene vectors, built for a whole population at once.

- `default`: per block slot a one-hot expand ratio (all zeros where the depth skips the slot), a
  one-hot depth per stage, a one-hot multiplier per width position, a one-hot of whether the
  stem's middle block runs, a one-hot resolution.
- `ofa-resnet50`: the input of once-for-all's published `ofa_resnet50_acc_predictor.pth` (its
  `ResNetArchEncoder` with the resolutions of its ResNet50 tutorial): a one-hot resolution over
  128, 144, 160, 176, 192, 224, 240, 256; a one-hot of whether the stem's middle block runs; per
  width position a one-hot multiplier; per block slot a one-hot expand ratio, zeros where skipped.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from ofa.errors import OfaError
from ofa.families.resnet.space import ResNetSpace
from ofa.families.resnet.subnet import gene_layout

OFA_RESOLUTIONS = (128, 144, 160, 176, 192, 224, 240, 256)
OFA_SHAPE = {"widths": (0.65, 0.8, 1), "expands": (0.2, 0.25, 0.35), "slots": (4, 4, 6, 4)}


def _one_hot(genes: np.ndarray, size: int) -> np.ndarray:
    return genes[:, :, None] == np.arange(size)[None, None, :]


def _expand_columns(space: ResNetSpace, genes: np.ndarray) -> np.ndarray:
    layout = gene_layout(space)
    hot = _one_hot(layout.take(genes, "expand"), len(space.expands)) & layout.in_use(genes, "expand")[:, :, None]
    return hot.reshape(len(genes), -1)


def _width_columns(space: ResNetSpace, genes: np.ndarray) -> np.ndarray:
    return _one_hot(gene_layout(space).take(genes, "width"), len(space.widths)).reshape(len(genes), -1)


def _stem_column(space: ResNetSpace, genes: np.ndarray) -> np.ndarray:
    layout = gene_layout(space)
    runs = np.asarray(layout.group("stem").values[0])[layout.take(genes, "stem")[:, 0]]
    return np.stack([~runs, runs], axis=1)


def _slot_names(space: ResNetSpace) -> list[str]:
    return [f"s{i}b{j}:e{e}" for i, stage in enumerate(space.stages, 1) for j in range(1, stage.max_depth + 1)
            for e in space.expands]


def _width_names(space: ResNetSpace) -> list[str]:
    positions = ["stem-mid", "stem-out"] + [f"s{i}" for i in range(1, len(space.stages) + 1)]
    return [f"{p}:w{w}" for p in positions for w in space.widths]


# -- default ------------------------------------------------------------------------------------------

def _default_names(space: ResNetSpace) -> list[str]:
    names = _slot_names(space) + [f"s{i}:d{d}" for i, stage in enumerate(space.stages, 1) for d in stage.depths]
    return names + _width_names(space) + ["stem:skipped", "stem:runs"] + [f"r{r}" for r in space.resolutions]


def _default(space: ResNetSpace, genes: np.ndarray) -> list[np.ndarray]:
    layout = gene_layout(space)
    depths = layout.take(genes, "depth")
    columns = [_expand_columns(space, genes)]
    columns += [depths[:, i : i + 1] == np.arange(len(stage.depths)) for i, stage in enumerate(space.stages)]
    columns += [_width_columns(space, genes), _stem_column(space, genes)]
    return columns + [layout.take(genes, "resolution") == np.arange(len(space.resolutions))]


# -- once-for-all's ResNet50 predictor -----------------------------------------------------------------

def check_ofa_shape(space: ResNetSpace) -> None:
    """once-for-all's encoding fits only its own ResNet50 shape of space."""
    shape = {"widths": space.widths, "expands": space.expands, "slots": tuple(s.max_depth for s in space.stages)}
    if shape != OFA_SHAPE:
        raise OfaError(f"once-for-all's ResNet50 encoding needs width multipliers {list(OFA_SHAPE['widths'])}, "
                       f"expand ratios {list(OFA_SHAPE['expands'])} and {list(OFA_SHAPE['slots'])} block slots per "
                       f"stage; space '{space.name}' has {list(shape['widths'])}, {list(shape['expands'])} and "
                       f"{list(shape['slots'])}")


def ofa_resolution_slot(resolution: int) -> int:
    if resolution not in OFA_RESOLUTIONS:
        raise OfaError(f"once-for-all's ResNet50 encoding has no slot for {resolution} px "
                       f"(it covers {', '.join(map(str, OFA_RESOLUTIONS))})")
    return OFA_RESOLUTIONS.index(resolution)


def _ofa_names(space: ResNetSpace) -> list[str]:
    check_ofa_shape(space)
    return [f"r{r}" for r in OFA_RESOLUTIONS] + ["stem:skipped", "stem:runs"] + _width_names(space) + _slot_names(space)


def _ofa(space: ResNetSpace, genes: np.ndarray) -> list[np.ndarray]:
    check_ofa_shape(space)
    resolution = gene_layout(space).take(genes, "resolution")[:, 0]
    slots = np.asarray([ofa_resolution_slot(r) for r in space.resolutions])[resolution]
    return [slots[:, None] == np.arange(len(OFA_RESOLUTIONS)), _stem_column(space, genes), _width_columns(space, genes),
            _expand_columns(space, genes)]


ENCODINGS: dict[str, tuple[Callable[[ResNetSpace], list[str]], Callable[[ResNetSpace, np.ndarray], list[np.ndarray]]]] = {
    "default": (_default_names, _default),
    "ofa-resnet50": (_ofa_names, _ofa),
}
