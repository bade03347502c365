"""Nested training state (optimizer and scheduler state dicts, RNG states, counters) as named
tensors plus a JSON skeleton that refers to them, so that a checkpoint holds no pickle.

Dicts with non-string keys (an optimizer's int parameter ids), tuples and numpy arrays get a
tagged form (`{"__tuple__": [...]}` and the like), so that `unflatten_tree` gives back exactly the
same structure and types.
"""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np
import torch

_MARKERS = ("__tensor__", "__tuple__", "__map__", "__ndarray__")


def flatten_tree(tree: Any, prefix: str = "") -> tuple[dict[str, torch.Tensor], Any]:
    """Split nested data into named CPU tensors and a JSON-able skeleton that refers to them.

    Dicts with non-string keys (an optimizer's int parameter ids), tuples and numpy arrays get a
    tagged form, so `unflatten_tree` gives back exactly the same structure and types.
    """
    tensors: dict[str, torch.Tensor] = {}

    def tensor_key(path: str) -> str:
        key, n = path or "tensor", 1
        while key in tensors:
            key, n = f"{path}#{n}", n + 1
        return key

    def enc(value: Any, path: str) -> Any:
        if isinstance(value, torch.Tensor):
            key = tensor_key(path)
            tensors[key] = value.detach().to("cpu", copy=True).contiguous()
            return {"__tensor__": key}
        if isinstance(value, np.ndarray):
            if value.dtype.hasobject:
                raise TypeError(f"cannot store a numpy object array at '{path}' in a checkpoint")
            return {"__ndarray__": {"dtype": value.dtype.str, "shape": list(value.shape),
                                    "data": value.ravel().tolist()}}
        if isinstance(value, np.generic):
            return value.item()
        if value is None or isinstance(value, (bool, int, float, str)):
            return value
        if isinstance(value, tuple):
            return {"__tuple__": [enc(v, f"{path}/{i}") for i, v in enumerate(value)]}
        if isinstance(value, list):
            return [enc(v, f"{path}/{i}") for i, v in enumerate(value)]
        if isinstance(value, Mapping):
            plain = all(isinstance(k, str) for k in value) and not (len(value) == 1 and next(iter(value)) in _MARKERS)
            if plain:
                return {k: enc(v, f"{path}/{k}" if path else k) for k, v in value.items()}
            return {"__map__": [[enc_key(k, path), enc(v, f"{path}/{k}" if path else str(k))]
                                for k, v in value.items()]}
        raise TypeError(f"cannot store {type(value).__name__} at '{path}' in a checkpoint")

    def enc_key(key: Any, path: str) -> Any:
        if isinstance(key, (torch.Tensor, np.ndarray, list, Mapping)):
            raise TypeError(f"cannot store a {type(key).__name__} dict key at '{path}' in a checkpoint")
        return enc(key, path)

    return tensors, enc(tree, prefix)


def unflatten_tree(data: Any, tensors: Mapping[str, torch.Tensor]) -> Any:
    """Inverse of `flatten_tree`; raises KeyError / ValueError on a skeleton that does not fit."""
    if isinstance(data, list):
        return [unflatten_tree(v, tensors) for v in data]
    if not isinstance(data, dict):
        return data
    if len(data) == 1:
        (tag, body), = data.items()
        if tag == "__tensor__":
            return tensors[body]
        if tag == "__tuple__":
            return tuple(unflatten_tree(v, tensors) for v in body)
        if tag == "__map__":
            return {_hashable(unflatten_tree(k, tensors)): unflatten_tree(v, tensors) for k, v in body}
        if tag == "__ndarray__":
            return np.asarray(body["data"], dtype=np.dtype(body["dtype"])).reshape(body["shape"])
    return {k: unflatten_tree(v, tensors) for k, v in data.items()}


def _hashable(key: Any) -> Any:
    hash(key)  # TypeError for a malformed key
    return key
