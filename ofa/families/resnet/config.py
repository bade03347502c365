"""The plain description of one static ResNet: what extraction builds, what export reads back from
JSON and what costs count. Pure data, no torch."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from ofa.errors import OfaError
from ofa.families.resnet.space import ResNetSpace
from ofa.families.resnet.subnet import STEM_WIDTHS, ResNetSubnet, check_subnet
from ofa.layers.cost import Cost, conv_cost, linear_cost
from ofa.layers.shapes import conv_out

CONFIG_FORMAT = "ofa-static-resnet/1"
KERNEL = 3  # every 3x3 of once-for-all's ResNets: the stem's convolutions and the bottlenecks' middle


@dataclass(frozen=True)
class ConvConfig:
    """A 3x3 convolution, BatchNorm and ReLU."""

    in_channels: int
    out_channels: int
    stride: int = 1


@dataclass(frozen=True)
class BottleneckConfig:
    """1x1 -> 3x3 (with the stride) -> 1x1, added to a shortcut, then ReLU. The first block of each
    stage `projects` its shortcut (average pool by the stride, 1x1 convolution, BatchNorm), as every
    width and stride change happens there; the others add their input as it is."""

    in_channels: int
    mid_channels: int
    out_channels: int
    stride: int
    projects: bool


@dataclass(frozen=True)
class ResNetConfig:
    stem: ConvConfig
    stem_block: ConvConfig | None  # the stem's middle convolution, a residual block; None: skipped
    stem_out: ConvConfig
    max_pool: bool
    blocks: tuple[BottleneckConfig, ...]
    num_classes: int
    resolution: int
    dropout: float = 0.0
    in_channels: int = 3
    bn_eps: float = 1e-5
    meta: dict[str, Any] = field(default_factory=dict, compare=False)

    def to_dict(self) -> dict[str, Any]:
        return {"format": CONFIG_FORMAT, **asdict(self)}

    @classmethod
    def from_dict(cls, d: Any) -> "ResNetConfig":
        if not isinstance(d, dict) or d.get("format") != CONFIG_FORMAT:
            raise OfaError(f"not a static ResNet config (expected format '{CONFIG_FORMAT}')")
        d = dict(d)
        d.pop("format")
        try:
            stem_block = d.pop("stem_block")
            return cls(stem=ConvConfig(**d.pop("stem")), stem_block=None if stem_block is None else ConvConfig(**stem_block),
                       stem_out=ConvConfig(**d.pop("stem_out")),
                       blocks=tuple(BottleneckConfig(**b) for b in d.pop("blocks")), **d)
        except (TypeError, KeyError) as e:
            raise OfaError(f"malformed static ResNet config: {e}") from None

    def stem_size(self) -> int:
        """Size of the stem's output."""
        return conv_out(self.resolution, KERNEL, self.stem.stride)

    def feature_sizes(self) -> list[int]:
        """Input spatial size of every block, then the size entering the pool and classifier."""
        size = self.stem_size()
        if self.max_pool:
            size = conv_out(size, 3, 2)
        sizes = []
        for b in self.blocks:
            sizes.append(size)
            size = conv_out(size, KERNEL, b.stride)
        return sizes + [size]


def net_config(space: ResNetSpace, subnet: ResNetSubnet, num_classes: int) -> ResNetConfig:
    """The static network that `subnet` of `space` is, layer by layer."""
    check_subnet(space, subnet)
    mid, out = space.stem_mid_channels(subnet.widths[0]), space.stem_channels(subnet.widths[1])
    blocks, cin = [], out
    for i, (stage, width, es) in enumerate(zip(space.stages, subnet.widths[STEM_WIDTHS:], subnet.expands)):
        cout = space.stage_channels(i, width)
        for j, e in enumerate(es):
            blocks.append(BottleneckConfig(cin, space.mid_channels(cout, e), cout, stage.stride if j == 0 else 1, j == 0))
            cin = cout
    return ResNetConfig(
        stem=ConvConfig(3, mid, space.stem_stride),
        stem_block=ConvConfig(mid, mid) if subnet.stem_block else None,
        stem_out=ConvConfig(mid, out),
        max_pool=space.max_pool,
        blocks=tuple(blocks),
        num_classes=num_classes,
        resolution=subnet.resolution,
        dropout=space.dropout,
        bn_eps=space.bn_eps,
        meta={"space": space.name, "space_fingerprint": space.fingerprint(), "subnet": str(subnet)},
    )


# -- cost ---------------------------------------------------------------------------------------------


def conv_layer_cost(c: ConvConfig, out_size: int) -> Cost:
    return conv_cost(c.in_channels, c.out_channels, KERNEL, out_size)


def bottleneck_cost(b: BottleneckConfig, in_size: int) -> Cost:
    out_size = conv_out(in_size, KERNEL, b.stride)
    cost = (conv_cost(b.in_channels, b.mid_channels, 1, in_size)
            + conv_cost(b.mid_channels, b.mid_channels, KERNEL, out_size)
            + conv_cost(b.mid_channels, b.out_channels, 1, out_size))
    return cost + conv_cost(b.in_channels, b.out_channels, 1, out_size) if b.projects else cost


def stem_cost(cfg: ResNetConfig) -> Cost:
    size = cfg.stem_size()
    cost = conv_layer_cost(cfg.stem, size) + conv_layer_cost(cfg.stem_out, size)
    return cost + conv_layer_cost(cfg.stem_block, size) if cfg.stem_block else cost


def head_cost(cfg: ResNetConfig) -> Cost:
    return linear_cost(cfg.blocks[-1].out_channels if cfg.blocks else cfg.stem_out.out_channels, cfg.num_classes)


def net_cost(cfg: ResNetConfig) -> Cost:
    sizes = cfg.feature_sizes()
    total = stem_cost(cfg) + head_cost(cfg)
    for b, size in zip(cfg.blocks, sizes):
        total += bottleneck_cost(b, size)
    return total
