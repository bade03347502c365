"""Multiply-accumulates and parameter counts of a static network, from its config alone."""

from __future__ import annotations

import numpy as np

from ofa.layers.cost import Cost, conv_cost
from ofa.spaces.space import SearchSpace
from ofa.spaces.subnet import Subnet, gather_slots
from ofa.supernet.config import BlockConfig, NetConfig, conv_out, net_config, slot_blocks, template_config


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


def subnet_cost(space: SearchSpace, subnet: Subnet, num_classes: int = 1000) -> Cost:
    return net_cost(net_config(space, subnet, num_classes))


class CostTable:
    """MACs and parameters of whole populations of gene vectors in one gather, laid out like a
    latency table (fixed parts per resolution, one entry per slot, kernel and expand)."""

    def __init__(self, space: SearchSpace, num_classes: int):
        self.space = space
        n_res = len(space.resolutions)
        max_k = max(len(s.kernels) for s in space.stages)
        max_e = max(len(s.expands) for s in space.stages)
        self.fixed = np.zeros((n_res, 2))
        self.slots = np.zeros((n_res, space.num_blocks, max_k, max_e, 2))
        for r_idx, r in enumerate(space.resolutions):
            cfg = template_config(space, r, num_classes)
            sizes = cfg.feature_sizes()
            c = stem_cost(cfg) + block_cost(cfg.blocks[0], sizes[0]) + head_cost(cfg, sizes[-1])
            self.fixed[r_idx] = (c.macs, c.params)
            for s_idx, (size, rows) in enumerate(slot_blocks(space, r)):
                for k_idx, row in enumerate(rows):
                    for e_idx, block in enumerate(row):
                        c = block_cost(block, size)
                        self.slots[r_idx, s_idx, k_idx, e_idx] = (c.macs, c.params)

    def macs_params(self, genes):
        """(n, 2) array: MACs and parameters of each gene vector."""
        return gather_slots(self.space, self.fixed, self.slots, genes)
