"""Recipes by name or file: the shipped ones live in the top-level `pipelines/` folder and are found
by bare name (`quickstart`); any other is a YAML file (read safely: no aliases), with optional
dotted overrides."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

from ofa.errors import OfaError
from ofa.files import read_yaml
from ofa.resources import data_dir
from ofa.train.overrides import apply_overrides
from ofa.train.recipe import Recipe
from ofa.train.recipe_reader import recipe_from_dict

def list_recipes() -> list[str]:
    """Names of the recipes shipped in pipelines/."""
    folder = data_dir("pipelines")
    if not folder.is_dir():
        return []
    return sorted(p.stem for p in folder.glob("*.yaml") if not p.name.endswith(".pipeline.yaml"))


def _find(name: str | Path) -> Path:
    path = Path(name)
    if path.is_file():
        return path
    if path.suffix == "" and len(path.parts) == 1:
        shipped = data_dir("pipelines") / f"{name}.yaml"
        if shipped.is_file():
            return shipped
    raise OfaError(
        f"recipe not found: {str(name)!r}; shipped recipes: {', '.join(list_recipes()) or 'none'} "
        "(or give the path of a YAML file)"
    )


def load_recipe(source: str | Path | Mapping[str, Any], overrides: Mapping[str, Any] | None = None) -> Recipe:
    """A recipe from a shipped name, a YAML path, or a dict, with optional dotted overrides."""
    if isinstance(source, Mapping):
        raw, label = dict(source), "recipe"
    else:
        path = _find(source)
        label = path.name
        raw = read_yaml(path, "recipe")
        if not isinstance(raw, dict):
            raise OfaError(f"{path}: expected a mapping of recipe fields at the top level")
    if overrides:
        raw = apply_overrides(raw, overrides)
    return recipe_from_dict(raw, source=label)
