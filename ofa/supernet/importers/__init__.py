"""Supernet weights trained by other tools, one module per source format, in one registry: name ->
Importer. An importer turns the source's state dict into the state dict of our `Supernet` of a
space, checking every key, shape and value first; it names the checkpoints its source publishes,
for `ofa import-supernet --download`."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from ofa.errors import OfaError
from ofa.supernet.importers import once_for_all

if TYPE_CHECKING:
    import torch

    from ofa.spaces import Space


@dataclass(frozen=True)
class Published:
    """A checkpoint its source publishes: where it is, and the space it fills."""

    name: str
    space: str
    url: str


@dataclass(frozen=True)
class Importer:
    name: str
    convert: Callable[[dict[str, "torch.Tensor"], "Space", str], dict[str, "torch.Tensor"]]
    wrapper: str | None  # the key under which the source's checkpoints keep their state dict
    published: dict[str, Published]


def _from_module(module) -> Importer:
    return Importer(
        name=module.NAME, convert=module.convert, wrapper=module.WRAPPER,
        published={name: Published(name, space, url) for name, (space, url) in module.PUBLISHED.items()},
    )


IMPORTERS: dict[str, Importer] = {i.name: i for i in map(_from_module, (once_for_all,))}


def get_importer(name: str) -> Importer:
    if name not in IMPORTERS:
        raise OfaError(f"unknown supernet format '{name}'; known: {', '.join(IMPORTERS)}")
    return IMPORTERS[name]


def all_published() -> list[tuple[Importer, Published]]:
    """Every checkpoint some source publishes, with its importer."""
    return [(i, p) for i in IMPORTERS.values() for p in i.published.values()]


def find_published(name: str) -> tuple[Importer, Published]:
    """The importer that publishes checkpoint `name`, and the checkpoint."""
    for importer, published in all_published():
        if published.name == name:
            return importer, published
    raise OfaError(f"unknown published supernet '{name}'; known: {', '.join(p.name for _, p in all_published())}")


def read_supernet_weights(fmt: str, path: str | Path, space: "Space") -> dict[str, "torch.Tensor"]:
    """The state dict of our Supernet of `space` held by the file `path` of format `fmt`: read with
    weights_only=True, every tensor finite, every key placed and every shape matched."""
    from ofa.torch_files import load_torch_file, tensor_dict

    importer = get_importer(fmt)
    state = tensor_dict(load_torch_file(path, "supernet checkpoint"), path, importer.wrapper)
    return importer.convert(state, space, str(path))


__all__ = ["IMPORTERS", "Importer", "Published", "all_published", "find_published", "get_importer",
           "read_supernet_weights"]
