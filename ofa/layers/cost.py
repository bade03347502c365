"""Multiply-accumulates and parameters, counted from layer shapes alone (no torch)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Cost:
    macs: int
    params: int

    def __add__(self, other: "Cost") -> "Cost":
        return Cost(self.macs + other.macs, self.params + other.params)

    @property
    def mmacs(self) -> float:
        """Millions of multiply-accumulates (what papers call 'MFLOPs')."""
        return self.macs / 1e6


def conv_cost(cin: int, cout: int, k: int, out_size: int, groups: int = 1, bias: bool = False, bn: bool = True) -> Cost:
    weights = cout * (cin // groups) * k * k
    return Cost(macs=weights * out_size * out_size, params=weights + (cout if bias else 0) + (2 * cout if bn else 0))


def linear_cost(cin: int, cout: int) -> Cost:
    """A fully connected layer with bias."""
    return Cost(macs=cin * cout, params=cin * cout + cout)
