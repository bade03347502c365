"""Checking the fields of plain data read from a user's file, one style of message for all.

Every reader (spaces, device profiles, recipes, pipelines, latency tables, predictors, accuracy
data, run folders, checkpoint manifests) turns its parsed file into typed values through these
functions, which take the value, where it is (`file.yaml: phases[2].lr`) and what is allowed, and
either return it as the right type or raise one OfaError line: "WHERE: expected WHAT, got VALUE".
A number is a number only if it is one (not a bool, not a string of digits, not NaN), whole
numbers are in `ofa.limits`' range for their kind, and names that become paths are identifiers.
"""

from __future__ import annotations

import difflib
import math
import re
from typing import Any, Sequence

from ofa.errors import OfaError, shown
from ofa.limits import check

# A name that becomes part of a file or folder name (spaces, devices, recipes, tables).
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")

def fail(where: str, expected: str, value: Any) -> OfaError:
    return OfaError(f"{where}: expected {expected}, got {shown(value)}")


def is_whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def whole(value: Any, where: str, kind: str, low: int | None = None) -> int:
    """A whole number (not a bool, not 3.0) in the range of `kind` in ofa.limits."""
    return check(value, kind, where, low)


def real(value: Any, where: str, low: float | None = None, high: float | None = None, *, low_open: bool = False,
         high_open: bool = False, what: str = "a number") -> float:
    """A finite number (int or float, not a bool) within the bounds, as a float."""
    ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    number = float(value) if ok and abs(value) < 1e300 else math.inf
    ok = ok and math.isfinite(number)
    if ok and low is not None:
        ok = number > low if low_open else number >= low
    if ok and high is not None:
        ok = number < high if high_open else number <= high
    if not ok:
        raise fail(where, what, value)
    return number


def flag(value: Any, where: str) -> bool:
    if not isinstance(value, bool):
        raise fail(where, "true or false", value)
    return value


def text(value: Any, where: str, choices: Sequence[str] | None = None, longest: int = 10_000) -> str:
    """A non-empty string (one of `choices` if given)."""
    if choices is not None and value not in choices:
        raise fail(where, "one of " + ", ".join(choices), value)
    if not isinstance(value, str) or not value.strip() or len(value) > longest:
        raise fail(where, "a non-empty string" + (f" of at most {longest:,} characters" if longest < 10_000 else ""),
                   value)
    return value


def name(value: Any, where: str) -> str:
    """An identifier that may become part of a path: letters, digits, '.', '_' and '-', no '..'."""
    if not isinstance(value, str) or not NAME.fullmatch(value) or ".." in value:
        raise fail(where, "a name of letters, digits, '.', '_' or '-' (at most 64, no '..')", value)
    return value


def hex_digits(value: Any, where: str, digits: int) -> str:
    """A hash or fingerprint: exactly `digits` lower-case hexadecimal digits."""
    if not isinstance(value, str) or not re.fullmatch(f"[0-9a-f]{{{digits}}}", value):
        raise fail(where, f"{digits} hexadecimal digits", value)
    return value


def mapping(value: Any, where: str, known: Sequence[str], required: Sequence[str] = ()) -> dict:
    """A mapping whose keys are all `known` (an unknown one suggests the nearest known) and which
    holds every `required` key."""
    if not isinstance(value, dict):
        raise fail(where or "top level", "a mapping with fields " + ", ".join(known), value)
    for key in value:
        if key not in known:
            near = difflib.get_close_matches(str(key), known, n=1)
            hint = f" (did you mean '{near[0]}'?)" if near else ""
            path = f"{where}.{key}" if where else str(key)
            raise OfaError(f"{path}: unknown field{hint}; known: {', '.join(known)}")
    for key in required:
        if key not in value:
            raise OfaError(f"{where + '.' if where else ''}{key}: missing field")
    return value


def whole_choices(value: Any, where: str, kind: str) -> tuple[int, ...]:
    """A space's choices of one kind (depths, kernels, resolutions): whole numbers in the range of
    `kind`, at least one, no repeats, sorted; a single number stands for a list of one."""
    values = items(value if isinstance(value, list) else [value], where, f"a non-empty list of {kind}s", longest=64)
    out = [whole(v, where, kind) for v in values]
    if len(set(out)) != len(out):
        raise fail(where, f"{kind}s without repeats", value)
    return tuple(sorted(out))


def items(value: Any, where: str, what: str, *, empty: bool = False, longest: int = 10_000_000) -> list:
    """A list (non-empty unless `empty`), at most `longest` long."""
    if not isinstance(value, list) or (not value and not empty) or len(value) > longest:
        raise fail(where, what, value)
    return value
