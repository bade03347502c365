"""What every family's subnets share: the forms a subnet is given in (the value, its compact
string, its dict, 'max' or 'min'), turned into the value and checked against its space."""

from __future__ import annotations

from typing import Any, Callable

from ofa.errors import OfaError, shown


# the choice a fixed kind of subnet takes from each sorted list: the largest, the smallest, the middle
# one (a typical subnet that training follows from start to end)
PICKS = {"max": max, "min": min, "mid": lambda values: sorted(values)[len(values) // 2]}


def subnet_from(space: Any, value: Any, subnet_type: type, sample: Callable, check: Callable) -> Any:
    """`value` as a subnet of `space` (of type `subnet_type`), checked by `check`."""
    if isinstance(value, str) and value in ("max", "min"):
        return sample(space, value)
    if isinstance(value, str):
        value = subnet_type.parse(value)
    elif isinstance(value, dict):
        value = subnet_type.from_dict(value)
    if not isinstance(value, subnet_type):
        raise OfaError(f"space '{space.name}' is of the {space.family} family; {shown(str(value))} is not one of "
                       f"its subnets")
    return check(space, value)
