"""Dotted `--set` overrides of a recipe: `phases.0.epochs=2` read as YAML, then applied to the raw
recipe before it is checked (`ofa.train.recipe.recipe_from_dict` checks the values like any others)."""

from __future__ import annotations

import copy
import re
from typing import Any, Mapping, Sequence

from ofa.errors import OfaError
from ofa.files import parse_yaml


def apply_overrides(d: Mapping[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of the raw recipe `d` with dotted keys set: {"phases.0.epochs": 2, "optimizer.name": "adamw"}.

    Values are checked later, exactly like values from the file. `phases[0].epochs` also works.
    """
    out = copy.deepcopy(dict(d))
    if isinstance(out.get("distill"), str):
        out["distill"] = {"kind": out["distill"]}
    for key, value in overrides.items():
        parts = re.sub(r"\[([0-9]+)\]", r".\1", str(key)).split(".")
        if not all(parts):
            raise OfaError(f"override '{key}': expected a dotted field name such as 'phases.0.epochs'")
        node: Any = out
        for depth, part in enumerate(parts):
            last = depth == len(parts) - 1
            here = ".".join(parts[:depth]) or "the recipe"
            if isinstance(node, list):
                if not (part.isascii() and part.isdigit()) or int(part) >= len(node):
                    raise OfaError(f"override '{key}': '{part}' is not an index of {here} (0 to {len(node) - 1})")
                if last:
                    node[int(part)] = copy.deepcopy(value)
                else:
                    node = node[int(part)]
            elif isinstance(node, dict):
                if last:
                    node[part] = copy.deepcopy(value)
                else:
                    node = node.setdefault(part, {})
            else:
                raise OfaError(f"override '{key}': {here} is {node!r}, which has no field '{part}'")
    return out


def parse_overrides(items: Sequence[str]) -> dict[str, Any]:
    """`["phases.0.epochs=2", "optimizer.name=adamw"]` -> dict; values read as YAML (2 -> int)."""
    out: dict[str, Any] = {}
    for item in items:
        key, sep, text = item.partition("=")
        if not sep or not key.strip():
            raise OfaError(f"override {item!r}: expected FIELD=VALUE, e.g. phases.0.epochs=2")
        try:
            out[key.strip()] = parse_yaml(text, f"override {item!r}") if text.strip() else ""
        except OfaError:
            out[key.strip()] = text
    return out
