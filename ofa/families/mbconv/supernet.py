"""The elastic supernet of a search space, and the extraction of any subnet as a static model."""

from __future__ import annotations

import torch
from torch import nn

from ofa.layers.elastic import ElasticBatchNorm2d, ElasticNetwork
from ofa.layers.init import INITS
from ofa.layers.static import conv_bn
from ofa.families.mbconv.space import SearchSpace
from ofa.families.mbconv.subnet import Subnet, to_subnet
from ofa.families.mbconv.config import first_block_config, net_config
from ofa.families.mbconv.elastic import ElasticBlock
from ofa.families.mbconv.static import Head, InvertedResidual, StaticNet


def _use_elastic_batchnorm(module: nn.Module) -> None:
    """The fixed parts get the supernet's BatchNorm too (same weights and keys), so that one
    switch (`set_batchnorm_sync`) covers every BN layer."""
    for name, child in module.named_children():
        if type(child) is nn.BatchNorm2d:
            setattr(module, name, ElasticBatchNorm2d(child.num_features, eps=child.eps))
        else:
            _use_elastic_batchnorm(child)


class Supernet(ElasticNetwork):
    """Stem and first block are fixed; every stage holds `max_depth` elastic blocks of which the
    active subnet runs the first d; the head is fixed. Input resolution is whatever is fed."""

    def __init__(self, space: SearchSpace, num_classes: int, init: str = "ofa"):
        super().__init__()
        self.space = space
        self.num_classes = num_classes
        self.stem = conv_bn(3, space.stem_width, 3, space.stem_stride, act=space.stem_act, eps=space.bn_eps)
        self.first_block = InvertedResidual(first_block_config(space), space.bn_eps)
        stages, prev = [], space.first_block_width
        for s in space.stages:
            blocks = []
            for j in range(s.max_depth):
                cin = prev if j == 0 else s.width
                blocks.append(ElasticBlock(
                    cin, s.width, space.mid_channels(cin, max(s.expands)), s.kernels,
                    s.stride if j == 0 else 1, s.act, s.se, space.se_reduction, space.channel_divisor,
                    space.bn_eps,
                ))
            stages.append(nn.ModuleList(blocks))
            prev = s.width
        self.stages = nn.ModuleList(stages)
        self.head = Head(prev, space.head_width, space.feature_width, space.head_act, num_classes, space.dropout,
                         space.bn_eps)
        for fixed in (self.stem, self.first_block, self.head):
            _use_elastic_batchnorm(fixed)
        INITS[init](self)
        self.active_subnet = self.set_active("max")

    # -- the active subnet -----------------------------------------------------------------------
    def set_active(self, subnet: Subnet | str | dict) -> Subnet:
        """Make `subnet` (a Subnet, its string or dict form, 'max' or 'min') the one that runs."""
        subnet = to_subnet(self.space, subnet)
        for stage_space, blocks, ks, es in zip(self.space.stages, self.stages, subnet.kernels, subnet.expands):
            for j, (k, e) in enumerate(zip(ks, es)):
                cin = blocks[j].expand.conv.weight.shape[1]
                blocks[j].set_active(k, self.space.mid_channels(cin, e))
        self.active_subnet = subnet
        return subnet

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.first_block(self.stem(x))
        return self.head(self.run_stages(x))

    # -- static copies -----------------------------------------------------------------------------
    @torch.no_grad()
    def extract(self, subnet: Subnet | str | dict | None = None) -> StaticNet:
        """A plain static model of `subnet` (default: the active one) with copied weights and BN
        statistics; it computes exactly what the supernet computes with that subnet active."""
        subnet = self.active_subnet if subnet is None else to_subnet(self.space, subnet)
        cfg = net_config(self.space, subnet, self.num_classes)
        model = StaticNet(cfg)
        state = {}
        for name, tensor in self.stem.state_dict().items():
            state[f"stem.{name}"] = tensor
        for name, tensor in self.first_block.state_dict().items():
            state[f"blocks.0.{name}"] = tensor
        index = 1
        for blocks, ks, es in zip(self.stages, subnet.kernels, subnet.expands):
            for block, k in zip(blocks, ks):
                mid = cfg.blocks[index].mid_channels
                for name, tensor in block.static_state(k, mid).items():
                    state[f"blocks.{index}.{name}"] = tensor
                index += 1
        for name, tensor in self.head.state_dict().items():
            state[f"head.{name}"] = tensor
        return self.static_copy(model, state)
