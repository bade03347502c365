"""Subnets named on a command line or in a file, before any space reads them."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

from ofa.errors import OfaError
from ofa.files import parse_json, read_json
from ofa.limits import LIMITS

SUBNET_FILE_SUFFIXES = (".txt", ".json", ".jsonl")


def is_subnet_file(value: str) -> bool:
    """A command-line subnet names a file when it ends like one or one is there ('max' never is)."""
    if value in ("max", "min"):
        return False
    path = Path(value)
    return path.suffix.lower() in SUBNET_FILE_SUFFIXES or path.is_file()


def read_subnet_file(path: str | Path) -> list[str | dict[str, Any]]:
    """Subnets in a file, unchecked: .json holds one subnet or a list of them (dicts or compact
    strings), .jsonl one per line, any other file one compact string per line ('#' comments)."""
    path = Path(path)
    if not path.is_file():
        raise OfaError(f"subnet file not found: {path}")
    suffix = path.suffix.lower()
    if suffix == ".json":
        data = read_json(path, "subnet file")
        items = data if isinstance(data, list) else [data]
    else:
        items = _read_lines(path, jsonl=suffix == ".jsonl")
    for i, item in enumerate(items, 1):
        if not isinstance(item, (str, dict)):
            raise OfaError(f"{path}: subnet {i} is {type(item).__name__}; expected a dict or a compact string")
    if not items:
        raise OfaError(f"{path}: no subnets in the file")
    if len(items) > LIMITS["subnets"][1]:
        raise OfaError(f"{path}: {len(items):,} subnets, more than {LIMITS['subnets'][1]:,}")
    return items


def _read_lines(path: Path, jsonl: bool) -> list[Any]:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as e:
        raise OfaError(f"{path}: cannot read ({getattr(e, 'strerror', None) or e})") from None
    items = []
    for number, line in enumerate(lines, 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if not jsonl:
            items.append(line)
            continue
        items.append(parse_json(line, f"{path} line {number}"))
    return items


def subnet_values(values: Sequence[str]) -> list[str | dict[str, Any]]:
    """Command-line subnets with every file among them replaced by the subnets it holds."""
    out: list[str | dict[str, Any]] = []
    for value in values:
        out += read_subnet_file(value) if is_subnet_file(value) else [value]
    return out
