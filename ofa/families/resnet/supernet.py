"""The elastic ResNet supernet (once-for-all's `OFAResNets`): every layer holds its widest form, a
subnet runs the first channels of each, the first blocks of each stage, and the stem's middle
block or not. `extract` copies a subnet out as a `StaticResNet` that computes the same."""

from __future__ import annotations

from collections import OrderedDict
import torch
import torch.nn.functional as F
from torch import nn

from ofa.families.resnet.config import KERNEL, net_config
from ofa.families.resnet.space import ResNetSpace
from ofa.families.resnet.static import StaticResNet, shortcut_pool
from ofa.families.resnet.subnet import STEM_WIDTHS, ResNetSubnet, to_subnet
from ofa.layers.elastic import ElasticBatchNorm2d, ElasticConv, ElasticNetwork, prefixed
from ofa.layers.static import drop_path
from ofa.layers.init import INITS


def elastic_conv_bn(max_in: int, max_out: int, kernel: int, stride: int = 1, act: bool = True,
                    eps: float = 1e-5) -> nn.Sequential:
    layers = OrderedDict(conv=ElasticConv(max_in, max_out, kernel, stride), bn=ElasticBatchNorm2d(max_out, eps=eps))
    if act:
        layers["act"] = nn.ReLU()
    return nn.Sequential(layers)


def conv_bn_state(layer: nn.Sequential, cin: int, cout: int) -> dict[str, torch.Tensor]:
    return {**prefixed("conv", layer.conv.static_state(cin, cout)), **prefixed("bn", layer.bn.static_state(cout))}


class ElasticStemBlock(nn.Module):
    def __init__(self, max_channels: int, eps: float):
        super().__init__()
        self.conv = elastic_conv_bn(max_channels, max_channels, KERNEL, eps=eps)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv(x)


class ElasticBottleneck(nn.Module):
    """A bottleneck with elastic middle and output widths (its input is whatever comes in)."""
    residual, drop_rate = True, 0.0  # see ofa.layers.residual


    def __init__(self, max_in: int, max_mid: int, max_out: int, stride: int, projects: bool, eps: float):
        super().__init__()
        self.conv1 = elastic_conv_bn(max_in, max_mid, 1, eps=eps)
        self.conv2 = elastic_conv_bn(max_mid, max_mid, KERNEL, stride, eps=eps)
        self.conv3 = elastic_conv_bn(max_mid, max_out, 1, act=False, eps=eps)
        self.pool = shortcut_pool(stride) if projects else None
        self.shortcut = elastic_conv_bn(max_in, max_out, 1, act=False, eps=eps) if projects else None
        self.act = nn.ReLU()

    def set_active(self, mid: int, out: int) -> None:
        self.conv1.conv.active_out = self.conv2.conv.active_out = mid
        self.conv3.conv.active_out = out
        if self.shortcut is not None:
            self.shortcut.conv.active_out = out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        skip = self.shortcut(self.pool(x)) if self.shortcut is not None else x
        return self.act(drop_path(self.conv3(self.conv2(self.conv1(x))), self.drop_rate, self.training) + skip)

    @property
    def residual_bn(self) -> nn.Module:
        return self.conv3.bn

    def static_state(self, cin: int, mid: int, cout: int) -> dict[str, torch.Tensor]:
        """Weights of the active form, keyed as in `static.Bottleneck`."""
        state = {**prefixed("conv1", conv_bn_state(self.conv1, cin, mid)),
                 **prefixed("conv2", conv_bn_state(self.conv2, mid, mid)),
                 **prefixed("conv3", conv_bn_state(self.conv3, mid, cout))}
        if self.shortcut is not None:
            state.update(prefixed("shortcut", conv_bn_state(self.shortcut, cin, cout)))
        return state

    @torch.no_grad()
    def reorder_channels(self) -> None:
        """Sort the middle channels by importance, so that every narrower expand ratio keeps the most
        important ones: conv2's outputs by the L1 norm of conv3's weights on them, then conv1's outputs
        by the L1 norm of conv2's weights on them. The block computes the same."""
        for first, second in ((self.conv2, self.conv3), (self.conv1, self.conv2)):
            order = torch.argsort(second.conv.weight.abs().sum(dim=(0, 2, 3)), descending=True)
            second.conv.weight.data.copy_(second.conv.weight.data[:, order])
            first.conv.weight.data.copy_(first.conv.weight.data[order])
            first.bn.permute_(order)


class ElasticClassifier(nn.Module):
    def __init__(self, max_in: int, num_classes: int, dropout: float):
        super().__init__()
        self.dropout = nn.Dropout(dropout)
        self.linear = nn.Linear(max_in, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.dropout(x.mean((2, 3)))
        return F.linear(x, self.linear.weight[:, : x.shape[1]], self.linear.bias)

    def static_state(self, cin: int) -> dict[str, torch.Tensor]:
        return {"linear.weight": self.linear.weight[:, :cin], "linear.bias": self.linear.bias}


class ResNetSupernet(ElasticNetwork):
    def __init__(self, space: ResNetSpace, num_classes: int, init: str = "ofa"):
        super().__init__()
        self.space, self.num_classes = space, num_classes
        widest, eps = max(space.widths), space.bn_eps
        mid, out = space.stem_mid_channels(widest), space.stem_channels(widest)
        self.stem = elastic_conv_bn(3, mid, KERNEL, space.stem_stride, eps=eps)
        self.stem_block = ElasticStemBlock(mid, eps)
        self.stem_out = elastic_conv_bn(mid, out, KERNEL, eps=eps)
        self.pool = nn.MaxPool2d(3, 2, 1) if space.max_pool else nn.Identity()
        stages, cin = [], out
        for i, stage in enumerate(space.stages):
            cout = space.stage_channels(i, widest)
            stages.append(nn.ModuleList(
                ElasticBottleneck(cin if j == 0 else cout, space.mid_channels(cout, max(space.expands)), cout,
                                  stage.stride if j == 0 else 1, j == 0, eps)
                for j in range(stage.max_depth)))
            cin = cout
        self.stages = nn.ModuleList(stages)
        self.head = ElasticClassifier(cin, num_classes, space.dropout)
        INITS[init](self)
        self.active_subnet = self.set_active("max")

    # -- the active subnet -----------------------------------------------------------------------------
    def set_active(self, subnet: ResNetSubnet | str | dict) -> ResNetSubnet:
        """Make `subnet` (a ResNetSubnet, its string or dict form, 'max' or 'min') the one that runs."""
        subnet = to_subnet(self.space, subnet)
        space = self.space
        self.stem.conv.active_out = self.stem_block.conv.conv.active_out = space.stem_mid_channels(subnet.widths[0])
        self.stem_out.conv.active_out = space.stem_channels(subnet.widths[1])
        for i, (blocks, width, es) in enumerate(zip(self.stages, subnet.widths[STEM_WIDTHS:], subnet.expands)):
            cout = space.stage_channels(i, width)
            for block, e in zip(blocks, es):
                block.set_active(space.mid_channels(cout, e), cout)
        self.active_subnet = subnet
        return subnet

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem(x)
        if self.active_subnet.stem_block:
            x = self.stem_block(x)
        x = self.pool(self.stem_out(x))
        return self.head(self.run_stages(x))

    # -- static copies ---------------------------------------------------------------------------------
    @torch.no_grad()
    def extract(self, subnet: ResNetSubnet | str | dict | None = None) -> StaticResNet:
        """A plain static model of `subnet` (default: the active one) with copied weights and BN
        statistics; it computes exactly what the supernet computes with that subnet active."""
        subnet = self.active_subnet if subnet is None else to_subnet(self.space, subnet)
        cfg = net_config(self.space, subnet, self.num_classes)
        state = {**prefixed("stem", conv_bn_state(self.stem, 3, cfg.stem.out_channels)),
                 **prefixed("stem_out", conv_bn_state(self.stem_out, cfg.stem_out.in_channels, cfg.stem_out.out_channels))}
        if cfg.stem_block is not None:
            mid = cfg.stem_block.out_channels
            state.update(prefixed("stem_block.conv", conv_bn_state(self.stem_block.conv, mid, mid)))
        blocks = [block for stage, depth in zip(self.stages, subnet.depths) for block in stage[:depth]]
        for i, (block, b) in enumerate(zip(blocks, cfg.blocks)):
            state.update(prefixed(f"blocks.{i}", block.static_state(b.in_channels, b.mid_channels, b.out_channels)))
        last = cfg.blocks[-1].out_channels if cfg.blocks else cfg.stem_out.out_channels
        state.update(prefixed("head", self.head.static_state(last)))
        return self.static_copy(StaticResNet(cfg), state)
