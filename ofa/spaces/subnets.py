"""Subnets and genes of any space, through its family (ofa.families): one name per operation
whatever the kind of block."""

from __future__ import annotations

from typing import Sequence, Union

import numpy as np

from ofa.families import family_of, to_subnet
from ofa.families.genes import GeneLayout
from ofa.families.mbconv.space import SearchSpace
from ofa.families.mbconv.subnet import Subnet as MBConvSubnet
from ofa.families.resnet.space import ResNetSpace
from ofa.families.resnet.subnet import ResNetSubnet

Space = Union[SearchSpace, ResNetSpace]
Subnet = Union[MBConvSubnet, ResNetSubnet]


def check_subnet(space: Space, subnet: Subnet) -> Subnet:
    return to_subnet(space, subnet)


def sample_subnet(space: Space, kind: str = "uniform", seed: int | np.random.Generator | None = None) -> Subnet:
    """Largest, smallest, or uniformly random subnet; random needs a seed or a Generator."""
    return family_of(space).sample_subnet(space, kind, seed)


def gene_layout(space: Space) -> GeneLayout:
    return family_of(space).gene_layout(space)


def gene_bounds(space: Space) -> tuple[np.ndarray, np.ndarray]:
    """Inclusive lower and upper bounds of each gene (for integer search algorithms)."""
    return gene_layout(space).bounds()


def encode(space: Space, subnet: Subnet) -> np.ndarray:
    return family_of(space).encode(space, check_subnet(space, subnet))


def decode(space: Space, genes: Sequence[int] | np.ndarray) -> Subnet:
    return family_of(space).decode(space, genes)


def canonical_genes(space: Space, genes: np.ndarray) -> np.ndarray:
    """Unused genes set to 0, so that one subnet has one gene vector (what duplicate elimination
    and encode() rely on)."""
    return gene_layout(space).canonical(genes)


def slot_choices(space: Space, genes: np.ndarray) -> np.ndarray:
    return family_of(space).slot_choices(space, genes)


__all__ = ["Space", "Subnet", "canonical_genes", "check_subnet", "decode", "encode", "gene_bounds", "gene_layout",
           "sample_subnet", "slot_choices", "to_subnet"]
