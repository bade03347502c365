"""MobileNetV3's elastic inverted residual block, built from the shared elastic layers
(ofa.layers.elastic): elastic kernel and expand ratio, fixed input and output widths."""

from __future__ import annotations

from collections import OrderedDict

import torch
from torch import nn

from ofa.layers.elastic import ElasticBatchNorm2d, ElasticConv, ElasticDepthwise, ElasticSE, prefixed
from ofa.layers.static import drop_path, make_act


class ElasticBlock(nn.Module):
    """Inverted residual with elastic kernel and expand ratio; input/output widths are fixed."""

    drop_rate = 0.0  # see ofa.layers.residual

    def __init__(self, cin: int, cout: int, max_mid: int, kernels: tuple[int, ...], stride: int,
                 act: str, se: bool, se_reduction: int, divisor: int, eps: float = 1e-5):
        super().__init__()
        self.residual = stride == 1 and cin == cout
        self.expand = nn.Sequential(OrderedDict(
            conv=ElasticConv(cin, max_mid), bn=ElasticBatchNorm2d(max_mid, eps=eps), act=make_act(act)))
        self.depthwise = nn.Sequential(OrderedDict(
            conv=ElasticDepthwise(max_mid, kernels, stride), bn=ElasticBatchNorm2d(max_mid, eps=eps), act=make_act(act)))
        self.se = ElasticSE(max_mid, se_reduction, divisor) if se else None
        self.project = nn.Sequential(OrderedDict(conv=ElasticConv(max_mid, cout),
                                                 bn=ElasticBatchNorm2d(cout, eps=eps)))

    def set_active(self, kernel: int, mid: int) -> None:
        self.expand.conv.active_out = mid
        self.depthwise.conv.active_kernel = kernel

    @property
    def residual_bn(self) -> nn.Module:
        return self.project.bn

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.depthwise(self.expand(x))
        if self.se is not None:
            y = self.se(y)
        y = self.project(y)
        return x + drop_path(y, self.drop_rate, self.training) if self.residual else y

    def static_state(self, kernel: int, mid: int) -> dict[str, torch.Tensor]:
        """Weights of the active form, keyed as in `static.InvertedResidual`."""
        cin = self.expand.conv.weight.shape[1]
        cout = self.project.conv.weight.shape[0]
        state = {
            **prefixed("expand.conv", self.expand.conv.static_state(cin, mid)),
            **prefixed("expand.bn", self.expand.bn.static_state(mid)),
            **prefixed("depthwise.conv", self.depthwise.conv.static_state(mid, kernel)),
            **prefixed("depthwise.bn", self.depthwise.bn.static_state(mid)),
            **prefixed("project.conv", self.project.conv.static_state(mid, cout)),
            **prefixed("project.bn", self.project.bn.static_state(cout)),
        }
        if self.se is not None:
            state.update(prefixed("se", self.se.static_state(mid)))
        return state

    @torch.no_grad()
    def reorder_channels(self) -> torch.Tensor:
        """Sort the expanded channels by importance (L1 norm of their projection weights), so
        that every narrower expand ratio keeps the most important ones. Leaves the function of
        the full block unchanged. Returns the importance in the new order."""
        importance = self.project.conv.weight.abs().sum(dim=(0, 2, 3))
        order = torch.argsort(importance, descending=True)
        self.expand.conv.weight.data.copy_(self.expand.conv.weight.data[order])
        self.expand.bn.permute_(order)
        self.depthwise.conv.weight.data.copy_(self.depthwise.conv.weight.data[order])
        self.depthwise.bn.permute_(order)
        self.project.conv.weight.data.copy_(self.project.conv.weight.data[:, order])
        if self.se is not None:
            se = self.se
            se.reduce.weight.data.copy_(se.reduce.weight.data[:, order])
            se.expand.weight.data.copy_(se.expand.weight.data[order])
            se.expand.bias.data.copy_(se.expand.bias.data[order])
            hidden_order = torch.argsort(se.expand.weight.abs().sum(dim=(0, 2, 3)), descending=True)
            se.reduce.weight.data.copy_(se.reduce.weight.data[hidden_order])
            se.reduce.bias.data.copy_(se.reduce.bias.data[hidden_order])
            se.expand.weight.data.copy_(se.expand.weight.data[:, hidden_order])
        return importance[order]
