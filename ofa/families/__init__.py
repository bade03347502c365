"""Block families, one package each, in one registry: name -> Family.

A family is everything that depends on the kind of block a supernet is made of: what a space file
of the family holds, its subnets (their compact strings, genes and sampling), its elastic and
static networks and the extraction between them, its configs and costs, the latency parts its
subnets are made of and their ONNX graphs, and its predictor encodings. Every other layer of ofa
reaches a family through `family_of(space)` and the functions of its record.

Importing this package imports no torch: network builders load it when called.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from ofa.errors import OfaError, shown
from ofa.families import mbconv, resnet
from ofa.families.genes import GeneLayout

DEFAULT_FAMILY = mbconv.NAME  # a space file without `family:` (every space written before families)


@dataclass(frozen=True)
class Family:
    name: str
    summary: str
    space_type: type
    subnet_type: type
    space_keys: tuple[str, ...]  # the fields a space file of the family may hold
    subnet_example: str
    read_space: Callable[[Any, str], Any]  # (plain data, source name) -> space; every field checked
    check_subnet: Callable[[Any, Any], Any]
    to_subnet: Callable[[Any, Any], Any]  # (space, a subnet or its string or dict or 'max' / 'min') -> subnet
    sample_subnet: Callable[..., Any]  # (space, "uniform" | "max" | "min", seed)
    gene_layout: Callable[[Any], GeneLayout]
    encode: Callable[[Any, Any], np.ndarray]
    decode: Callable[[Any, Any], Any]
    slot_choices: Callable[[Any, np.ndarray], np.ndarray]  # see ofa.families.parts
    fixed_parts: Callable[[Any, int, int], list]
    slot_parts: Callable[[Any, int, int], list]
    net_config: Callable[[Any, Any, int], Any]  # (space, subnet, classes) -> the static network's config
    config_type: type
    config_format: str
    config_from_dict: Callable[[Any], Any]
    net_cost: Callable[[Any], Any]
    build_static: Callable[[Any], Any]  # config -> torch module
    build_supernet: Callable[..., Any]  # (space, classes, init) -> elastic torch module
    static_to_onnx: Callable[[Any, int], Any]
    encodings: dict[str, tuple[Callable, Callable]]  # name -> (feature names, feature columns)
    classifier: str  # the start of the supernet's classifier keys (what transfer to new classes replaces)
    describe: Callable[[Any], tuple[str, list[str], list[list[str]]]]  # for `ofa spaces show`


def _from_module(module) -> Family:
    return Family(**{name: getattr(module, name.upper() if name in _CONSTANTS else name)
                     for name in Family.__dataclass_fields__})


_CONSTANTS = ("name", "summary", "space_type", "subnet_type", "space_keys", "subnet_example", "config_type",
              "config_format", "encodings", "classifier")

FAMILIES: dict[str, Family] = {f.name: f for f in map(_from_module, (mbconv, resnet))}


def get_family(name: str) -> Family:
    if name not in FAMILIES:
        raise OfaError(f"unknown block family '{name}'; known: {', '.join(FAMILIES)}")
    return FAMILIES[name]


def family_of(value: Any) -> Family:
    """The family a space, a subnet or a static network's config belongs to."""
    for family in FAMILIES.values():
        if isinstance(value, (family.space_type, family.subnet_type, family.config_type)):
            return family
    raise OfaError(f"{shown(str(value))} is not a search space of any family ({', '.join(FAMILIES)})")


def family_of_config(d: Any) -> Family:
    """The family whose static config format a config dict names."""
    fmt = d.get("format") if isinstance(d, dict) else None
    for family in FAMILIES.values():
        if fmt == family.config_format:
            return family
    known = ", ".join(f.config_format for f in FAMILIES.values())
    raise OfaError(f"unknown static network config format {shown(fmt)}; known: {known}")


def read_space(d: Any, source: str = "space") -> Any:
    """A space from plain data: `family:` picks the reader (MobileNetV3's when absent); a field
    that belongs only to another family is named as such."""
    name = d.get("family", DEFAULT_FAMILY) if isinstance(d, dict) else DEFAULT_FAMILY
    if not isinstance(name, str) or name not in FAMILIES:
        raise OfaError(f"{source}.family: unknown block family {shown(name)}; known: {', '.join(FAMILIES)}")
    family = FAMILIES[name]
    if isinstance(d, dict):
        for key in d:
            if key in family.space_keys:
                continue
            others = [f.name for f in FAMILIES.values() if key in f.space_keys]
            if others:
                raise OfaError(f"{source}.{key}: a field of the {' and '.join(others)} family, not of "
                               f"{name} (this space's family); a space holds the fields of one family")
    return family.read_space(d, source)


def to_subnet(space: Any, value: Any) -> Any:
    """A subnet of `space` from a subnet, its compact string, its dict, or 'max' / 'min'; always
    checked against the space, and named as another family's where it is one."""
    family = family_of(space)
    try:
        return family.to_subnet(space, value)
    except OfaError:
        other = _other_family_reading(family, value)
        if other is None:
            raise
        raise OfaError(f"subnet {shown(value)} is of the {other} family; space '{space.name}' is of the "
                       f"{family.name} family (its subnets read like '{family.subnet_example}')") from None


def _other_family_reading(family: Family, value: Any) -> str | None:
    if not isinstance(value, (str, dict)):
        return None
    for other in FAMILIES.values():
        if other is family:
            continue
        try:
            (other.subnet_type.parse if isinstance(value, str) else other.subnet_type.from_dict)(value)
        except OfaError:
            continue
        return other.name
    return None


__all__ = ["DEFAULT_FAMILY", "FAMILIES", "Family", "family_of", "family_of_config", "get_family", "read_space",
           "to_subnet"]
