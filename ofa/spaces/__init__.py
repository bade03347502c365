"""Search spaces and subnets as data (no torch needed): the registry of named spaces and one name
per operation on subnets and genes, whatever the space's block family."""

from ofa.families.genes import unique_rows
from ofa.spaces.registry import get_space, list_spaces, load_space_file, register_space
from ofa.spaces.subnet_files import is_subnet_file, read_subnet_file, subnet_values
from ofa.spaces.subnets import (
    Space,
    Subnet,
    canonical_genes,
    check_subnet,
    decode,
    encode,
    gene_bounds,
    gene_layout,
    sample_subnet,
    slot_choices,
    to_subnet,
)

__all__ = [
    "Space", "Subnet", "canonical_genes", "check_subnet", "decode", "encode", "gene_bounds", "gene_layout",
    "get_space", "is_subnet_file", "list_spaces", "load_space_file", "read_subnet_file", "register_space",
    "sample_subnet", "slot_choices", "subnet_values", "to_subnet", "unique_rows",
]
