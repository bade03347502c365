"""The one registry of search spaces: the YAML files shipped in ofa/spaces/builtin, plus any
space a user registers or names by path."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path


from ofa.errors import OfaError
from ofa.files import read_yaml
from ofa.spaces.space import SearchSpace, space_from_dict

_BUILTIN = Path(__file__).resolve().parent / "builtin"
_REGISTERED: dict[str, SearchSpace] = {}


def load_space_file(path: str | Path) -> SearchSpace:
    path = Path(path)
    return space_from_dict(read_yaml(path, "space file"), source=path.name)


@lru_cache(maxsize=None)
def _builtin_spaces() -> dict[str, SearchSpace]:
    spaces = {}
    for path in sorted(_BUILTIN.glob("*.yaml")):
        space = load_space_file(path)
        spaces[space.name] = space
    return spaces


def register_space(space: SearchSpace) -> SearchSpace:
    _REGISTERED[space.name] = space
    return space


def list_spaces() -> dict[str, SearchSpace]:
    return {**_builtin_spaces(), **_REGISTERED}


def get_space(name: str | SearchSpace) -> SearchSpace:
    """A registered space by name, or a space YAML file by path."""
    if isinstance(name, SearchSpace):
        return name
    spaces = list_spaces()
    if name in spaces:
        return spaces[name]
    if name.endswith((".yaml", ".yml")) or Path(name).is_file():
        return load_space_file(name)
    raise OfaError(f"unknown search space '{name}'; known: {', '.join(sorted(spaces))}")
