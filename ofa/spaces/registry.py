"""The one registry of search spaces: the YAML files shipped in ofa/spaces/builtin, plus any
space a user registers or names by path."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path


from ofa.errors import OfaError
from ofa.files import read_yaml
from ofa.families import read_space
from ofa.spaces.subnets import Space

_BUILTIN = Path(__file__).resolve().parent / "builtin"
_REGISTERED: dict[str, Space] = {}


def load_space_file(path: str | Path) -> Space:
    path = Path(path)
    return read_space(read_yaml(path, "space file"), source=path.name)


@lru_cache(maxsize=None)
def _builtin_spaces() -> dict[str, Space]:
    spaces = {}
    for path in sorted(_BUILTIN.glob("*.yaml")):
        space = load_space_file(path)
        spaces[space.name] = space
    return spaces


def register_space(space: Space) -> Space:
    _REGISTERED[space.name] = space
    return space


def list_spaces() -> dict[str, Space]:
    return {**_builtin_spaces(), **_REGISTERED}


def get_space(name: str | Space) -> Space:
    """A registered space by name, or a space YAML file by path."""
    if not isinstance(name, str):
        return name
    spaces = list_spaces()
    if name in spaces:
        return spaces[name]
    if name.endswith((".yaml", ".yml")) or Path(name).is_file():
        return load_space_file(name)
    raise OfaError(f"unknown search space '{name}'; known: {', '.join(sorted(spaces))}")
