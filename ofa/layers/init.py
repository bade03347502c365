"""How a fresh supernet's weights are drawn, for every family."""

from __future__ import annotations

import math

from torch import nn

from ofa.layers.elastic import ElasticConv, ElasticDepthwise


def ofa_init(model: nn.Module) -> None:
    """once-for-all's: Kaiming normal (fan-out) convolutions, N(0, 0.01) classifier, zero biases."""
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out")
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.Linear):
            nn.init.normal_(m.weight, 0, 0.01)
            nn.init.zeros_(m.bias)


def torch_init(model: nn.Module) -> None:
    """PyTorch's per-layer defaults, which a static network built alone gets: the elastic convolutions
    are drawn as an nn.Conv2d of their largest shape would be (fixed layers already are)."""
    for m in model.modules():
        if isinstance(m, (ElasticConv, ElasticDepthwise)):
            nn.init.kaiming_uniform_(m.weight, a=math.sqrt(5))


# How a fresh supernet's weights are drawn; "torch" is the like-for-like start for comparisons
# with training from scratch.
INITS = {"ofa": ofa_init, "torch": torch_init}
