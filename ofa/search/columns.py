"""Names of the values a search evaluates per subnet: `acc`, `acc_std`, `macs`, `params`, and one
latency column per device, named here only."""

from __future__ import annotations

_LATENCY = "latency:"


def latency_column(device: str) -> str:
    """The column of a device's predicted latency (ms)."""
    return _LATENCY + device


def latency_budgets(budgets: dict[str, float]) -> dict[str, float]:
    """device -> ms of the latency budgets among budgets keyed by column."""
    return {column_device(c): b for c, b in budgets.items() if column_device(c) is not None}


def column_device(column: str) -> str | None:
    """The device a latency column speaks for; None for any other column."""
    return column[len(_LATENCY):] if column.startswith(_LATENCY) else None
