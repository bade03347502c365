"""Search spaces and subnets as data (no torch needed)."""

from ofa.spaces.registry import get_space, list_spaces, load_space_file, register_space
from ofa.spaces.space import SearchSpace, StageSpec, make_divisible, space_from_dict
from ofa.spaces.subnet import (
    Subnet,
    active_slots,
    check_subnet,
    decode,
    encode,
    gene_bounds,
    sample_subnet,
    to_subnet,
)

__all__ = [
    "SearchSpace", "StageSpec", "Subnet", "active_slots", "check_subnet", "decode", "encode",
    "gene_bounds", "get_space", "list_spaces", "load_space_file", "make_divisible",
    "register_space", "sample_subnet", "space_from_dict", "to_subnet",
]
