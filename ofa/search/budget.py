"""Budgets as people write them: latency `20ms`, `20 ms`, `0.02s`, `20000us`, or `DEVICE=20ms`;
MACs and parameters `2000M`, `2G`, `600k` or a plain count."""

from __future__ import annotations

import re

from ofa.errors import OfaError, shown

LOWEST_MS = 1e-6  # a nanosecond: below it no budget means anything
_UNITS = {"ms": 1.0, "s": 1000.0, "us": 0.001, "µs": 0.001}
_COUNTS = {"": 1, "k": 1e3, "m": 1e6, "g": 1e9}
LARGEST_COUNT = 1e15


def parse_latency(text: str) -> float:
    """Milliseconds; a bare number is refused, since 20 could mean seconds or milliseconds."""
    m = re.fullmatch(r" *([0-9]{0,12}\.?[0-9]{1,12}(?:e[-+]?[0-9]{1,3})?) *(ms|s|us|µs)? *", str(text)[:100],
                     flags=re.IGNORECASE)
    if not m:
        raise OfaError(f"cannot read latency {shown(text)}; write it with a unit, e.g. 20ms, 0.02s or 20000us")
    if m.group(2) is None:
        raise OfaError(f"latency {shown(text)} has no unit; write {text}ms (or s, us)")
    ms = float(m.group(1)) * _UNITS[m.group(2).lower()]
    if not LOWEST_MS <= ms < 1e7:
        raise OfaError(f"latency {shown(text)} must be positive: a budget is from {LOWEST_MS:g} ms to 10,000 s")
    return ms


def parse_count(text: str, what: str) -> float:
    """A MACs or parameter budget: a count with an optional k, M or G (`2000M`, `2G`, `5e8`)."""
    m = re.fullmatch(r" *([0-9]{0,12}\.?[0-9]{1,12}(?:e[-+]?[0-9]{1,3})?) *([kmg]?) *", str(text)[:100],
                     flags=re.IGNORECASE)
    if not m:
        raise OfaError(f"cannot read the {what} budget {shown(text)}; write a count such as 2000M, 2G or 600k")
    count = float(m.group(1)) * _COUNTS[m.group(2).lower()]
    if not 1 <= count <= LARGEST_COUNT:
        raise OfaError(f"the {what} budget {shown(text)} must be from 1 to {LARGEST_COUNT:.0e}")
    return count


def parse_budgets(values: list[str], devices: list[str]) -> dict[str, float]:
    """One budget per device: `DEVICE=20ms`, or plain `20ms` for the devices in order."""
    budgets: dict[str, float] = {}
    plain = [v for v in values if "=" not in v]
    named = [v for v in values if "=" in v]
    if plain and len(plain) > len(devices):
        raise OfaError(f"{len(plain)} latency budgets for {len(devices)} device(s); give one per device "
                       f"(or name it: --latency {devices[0]}=20ms)")
    for device, value in zip(devices, plain):
        budgets[device] = parse_latency(value)
    for value in named:
        device, _, amount = value.partition("=")
        if device not in devices:
            raise OfaError(f"--latency {value}: '{device}' is not one of the searched devices ({', '.join(devices)})")
        if device in budgets:
            raise OfaError(f"--latency {value}: device '{device}' has a budget already ({budgets[device]:g} ms); a "
                           f"search takes one per device (`ofa specialize` takes several)")
        budgets[device] = parse_latency(amount)
    return budgets


def distinct(devices: list[str]) -> list[str]:
    """Device names (profile names, aliases resolved) with none given twice."""
    twice = sorted({d for d in devices if devices.count(d) > 1})
    if twice:
        raise OfaError(f"--device {twice[0]} is given twice; name each device once")
    return devices
