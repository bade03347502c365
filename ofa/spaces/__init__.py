"""Search spaces and subnets as data (no torch needed)."""

from ofa.spaces.registry import get_space, list_spaces, load_space_file, register_space
from ofa.layers.shapes import make_divisible
from ofa.spaces.space import SearchSpace, StageSpec, space_from_dict
from ofa.spaces.subnet import (
    Subnet,
    active_slots,
    canonical_genes,
    check_subnet,
    decode,
    encode,
    gather_slots,
    gene_bounds,
    gene_layout,
    read_subnet_file,
    sample_subnet,
    subnet_values,
    to_subnet,
)

__all__ = [
    "SearchSpace", "StageSpec", "Subnet", "active_slots", "canonical_genes", "check_subnet", "decode", "encode", "gather_slots",
    "gene_bounds", "gene_layout", "get_space", "list_spaces", "load_space_file", "make_divisible",
    "read_subnet_file", "register_space", "sample_subnet", "space_from_dict", "subnet_values", "to_subnet",
]
