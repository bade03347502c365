"""Shapes every family computes the same way: channel counts rounded to a divisor, and the output
size of a convolution (no torch)."""

from __future__ import annotations


def make_divisible(value: float, divisor: int = 8) -> int:
    """Round a channel count to a multiple of `divisor`, never dropping more than 10%."""
    rounded = max(divisor, int(value + divisor / 2) // divisor * divisor)
    if rounded < 0.9 * value:
        rounded += divisor
    return rounded


def conv_out(size: int, kernel: int, stride: int) -> int:
    """Output size of a convolution (or pooling) padded by kernel // 2 (odd kernels)."""
    pad = kernel // 2
    return (size + 2 * pad - kernel) // stride + 1
