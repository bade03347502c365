"""Tensors from files other tools wrote with `torch.save`: read with `torch.load(weights_only=True)`,
so a pickle that would build any other object is refused, never run, and every tensor is checked
once (floating values finite) before anything uses it."""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

from ofa.errors import OfaError


def _first_line(e: BaseException) -> str:
    text = str(e).strip()
    return (text.splitlines()[0] if text else type(e).__name__)[:160]


def load_torch_file(path: str | Path, what: str) -> Any:
    """What `torch.save` wrote to `path`, restricted to tensors and plain containers and numbers."""
    import torch

    path = Path(path)
    if not path.is_file():
        raise OfaError(f"{what} not found: {path}")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as e:
        raise OfaError(f"{path}: refused: it holds more than plain tensors, and loading it could run code "
                       f"({_first_line(e)})") from None
    except Exception as e:  # truncated, not a torch file at all: zip, pickle and storage errors of every kind
        raise OfaError(f"{path}: not a readable PyTorch file ({type(e).__name__}: {_first_line(e)})") from None


def tensor_dict(data: Any, path: str | Path, wrapper: str | None = None) -> dict[str, Any]:
    """A state dict of tensors: `data` itself, or `data[wrapper]` when `data` is a checkpoint that wraps
    one (once-for-all's {"state_dict": ..., "epoch": ...}). Floating tensors must be finite."""
    import torch

    if wrapper is not None and isinstance(data, dict) and isinstance(data.get(wrapper), dict):
        data = data[wrapper]
    if not isinstance(data, dict) or not data:
        raise OfaError(f"{path}: expected a state dict of tensors, got {type(data).__name__}"
                       + (" (empty)" if isinstance(data, dict) else ""))
    for key, value in data.items():
        if not isinstance(key, str) or not isinstance(value, torch.Tensor):
            raise OfaError(f"{path}: expected a state dict of tensors; {key!r} holds {type(value).__name__}")
        if value.layout != torch.strided or value.is_quantized:
            raise OfaError(f"{path}: tensor '{key}' is {value.layout} / quantized; expected plain dense weights")
    return check_finite(data, str(path))


LARGEST_WEIGHT = 1e12  # no trained network's or predictor's weight is larger in magnitude


def check_finite(tensors: dict[str, Any], source: str) -> dict[str, Any]:
    """Every tensor (or array) real, and every floating one finite and at most LARGEST_WEIGHT in
    magnitude; else one line naming the first that is not."""
    import numpy as np

    for key, value in tensors.items():
        array = value.detach().cpu().numpy() if hasattr(value, "detach") else np.asarray(value)
        if array.dtype.kind not in "fiub":
            raise OfaError(f"{source}: '{key}' holds {array.dtype} values; expected real numbers")
        if array.dtype.kind == "f" and not (np.isfinite(array).all() and (np.abs(array) <= LARGEST_WEIGHT).all()):
            raise OfaError(f"{source}: '{key}' holds NaN, infinite or absurd values (beyond {LARGEST_WEIGHT:g})")
    return tensors
