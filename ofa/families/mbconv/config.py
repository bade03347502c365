"""The plain description of one static network: what `extract` builds, what export and
deployment read back from JSON, and what cost models count. Pure data, no torch."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from ofa.errors import OfaError
from ofa.layers.shapes import conv_out
from ofa.families.mbconv.space import SearchSpace
from ofa.families.mbconv.subnet import Subnet, check_subnet, sample_subnet

CONFIG_FORMAT = "ofa-static-net/1"


@dataclass(frozen=True)
class BlockConfig:
    """An inverted residual: [1x1 expand] -> kxk depthwise -> [SE] -> 1x1 project (+ skip)."""

    in_channels: int
    mid_channels: int
    out_channels: int
    kernel: int
    stride: int
    act: str
    se_channels: int = 0  # 0: no squeeze-excite
    expand: bool = True  # False only where mid == in and the 1x1 expand conv is left out

    @property
    def residual(self) -> bool:
        return self.stride == 1 and self.in_channels == self.out_channels


@dataclass(frozen=True)
class NetConfig:
    stem_width: int
    stem_stride: int
    stem_act: str
    blocks: tuple[BlockConfig, ...]
    head_width: int
    feature_width: int
    head_act: str
    num_classes: int
    resolution: int
    dropout: float = 0.0
    in_channels: int = 3
    bn_eps: float = 1e-5
    meta: dict[str, Any] = field(default_factory=dict, compare=False)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["blocks"] = [asdict(b) for b in self.blocks]
        return {"format": CONFIG_FORMAT, **d}

    @classmethod
    def from_dict(cls, d: Any) -> "NetConfig":
        if not isinstance(d, dict) or d.get("format") != CONFIG_FORMAT:
            raise OfaError(f"not a static network config (expected format '{CONFIG_FORMAT}')")
        d = dict(d)
        d.pop("format")
        try:
            blocks = tuple(BlockConfig(**b) for b in d.pop("blocks"))
            return cls(blocks=blocks, **d)
        except (TypeError, KeyError) as e:
            raise OfaError(f"malformed static network config: {e}") from None

    def feature_sizes(self) -> list[int]:
        """Input spatial size of every block, then the size entering the head."""
        size = conv_out(self.resolution, 3, self.stem_stride)
        sizes = []
        for b in self.blocks:
            sizes.append(size)
            size = conv_out(size, b.kernel, b.stride)
        return sizes + [size]


def first_block_config(space: SearchSpace) -> BlockConfig:
    return BlockConfig(
        in_channels=space.stem_width,
        mid_channels=space.stem_width,
        out_channels=space.first_block_width,
        kernel=3,
        stride=1,
        act=space.first_block_act,
        expand=False,
    )


def template_config(space: SearchSpace, resolution: int, num_classes: int) -> NetConfig:
    """The largest subnet at this resolution: its blocks give every slot's input size."""
    big = sample_subnet(space, "max")
    return net_config(space, Subnet(resolution, big.kernels, big.expands), num_classes)


def block_with_choice(space: SearchSpace, base: BlockConfig, kernel: int, expand: float) -> BlockConfig:
    """The block that a slot shaped like `base` becomes with this kernel and expand ratio."""
    mid = space.mid_channels(base.in_channels, expand)
    return BlockConfig(base.in_channels, mid, base.out_channels, kernel, base.stride, base.act,
                       space.se_channels(mid) if base.se_channels else 0)


def slot_blocks(space: SearchSpace, resolution: int) -> list[tuple[int, list[list[BlockConfig]]]]:
    """Per elastic block slot: (input size, blocks[kernel index][expand index]). Everything that
    sums over slots (latency tables, MACs of gene vectors) is laid out this way."""
    cfg = template_config(space, resolution, 1)
    sizes = cfg.feature_sizes()
    out, slot = [], 1  # block 0 is the fixed first block
    for stage in space.stages:
        for _ in range(stage.max_depth):
            base = cfg.blocks[slot]
            out.append((sizes[slot], [[block_with_choice(space, base, k, e) for e in stage.expands]
                                      for k in stage.kernels]))
            slot += 1
    return out


def net_config(space: SearchSpace, subnet: Subnet, num_classes: int) -> NetConfig:
    """The static network that `subnet` of `space` is, layer by layer."""
    check_subnet(space, subnet)
    blocks = [first_block_config(space)]
    prev = space.first_block_width
    for stage, ks, es in zip(space.stages, subnet.kernels, subnet.expands):
        for j, (k, e) in enumerate(zip(ks, es)):
            cin = prev if j == 0 else stage.width
            mid = space.mid_channels(cin, e)
            blocks.append(
                BlockConfig(
                    in_channels=cin,
                    mid_channels=mid,
                    out_channels=stage.width,
                    kernel=k,
                    stride=stage.stride if j == 0 else 1,
                    act=stage.act,
                    se_channels=space.se_channels(mid) if stage.se else 0,
                )
            )
        prev = stage.width
    return NetConfig(
        stem_width=space.stem_width,
        stem_stride=space.stem_stride,
        stem_act=space.stem_act,
        blocks=tuple(blocks),
        head_width=space.head_width,
        feature_width=space.feature_width,
        head_act=space.head_act,
        num_classes=num_classes,
        resolution=subnet.resolution,
        dropout=space.dropout,
        bn_eps=space.bn_eps,
        meta={"space": space.name, "space_fingerprint": space.fingerprint(), "subnet": str(subnet)},
    )
