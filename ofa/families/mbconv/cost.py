"""Multiply-accumulates and parameter counts of a static network, from its config alone."""

from __future__ import annotations

from ofa.families.mbconv.config import BlockConfig, NetConfig
from ofa.layers.cost import Cost, conv_cost
from ofa.layers.shapes import conv_out


def block_cost(b: BlockConfig, in_size: int) -> Cost:
    out_size = conv_out(in_size, b.kernel, b.stride)
    cost = Cost(0, 0)
    if b.expand:
        cost += conv_cost(b.in_channels, b.mid_channels, 1, in_size)
    cost += conv_cost(b.mid_channels, b.mid_channels, b.kernel, out_size, groups=b.mid_channels)
    if b.se_channels:
        cost += conv_cost(b.mid_channels, b.se_channels, 1, 1, bias=True, bn=False)
        cost += conv_cost(b.se_channels, b.mid_channels, 1, 1, bias=True, bn=False)
    return cost + conv_cost(b.mid_channels, b.out_channels, 1, out_size)


def stem_cost(cfg: NetConfig) -> Cost:
    return conv_cost(cfg.in_channels, cfg.stem_width, 3, conv_out(cfg.resolution, 3, cfg.stem_stride))


def head_cost(cfg: NetConfig, in_size: int) -> Cost:
    last = cfg.blocks[-1].out_channels
    mix = conv_cost(cfg.head_width, cfg.feature_width, 1, 1, bn=False) if cfg.feature_width else Cost(0, 0)
    return (
        conv_cost(last, cfg.head_width, 1, in_size)
        + mix
        + conv_cost(cfg.feature_width or cfg.head_width, cfg.num_classes, 1, 1, bias=True, bn=False)
    )


def net_cost(cfg: NetConfig) -> Cost:
    sizes = cfg.feature_sizes()
    total = stem_cost(cfg)
    for b, size in zip(cfg.blocks, sizes):
        total += block_cost(b, size)
    return total + head_cost(cfg, sizes[-1])
