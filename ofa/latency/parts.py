"""The distinct parts (stem, blocks, head) that the subnets of a space are made of, each with a
key that names everything its latency depends on, and the gene layout to look them up fast."""

from __future__ import annotations

from dataclasses import dataclass

import onnx

from ofa.spaces.space import SearchSpace
from ofa.supernet.config import BlockConfig, NetConfig, first_block_config, slot_blocks, template_config


def block_key(b: BlockConfig, in_size: int) -> str:
    se = f"se{b.se_channels}" if b.se_channels else "nose"
    expand = "" if b.expand else ":noexpand"
    return f"block:{in_size}:{b.in_channels}-{b.mid_channels}-{b.out_channels}:k{b.kernel}:s{b.stride}:{b.act}:{se}{expand}"


def stem_key(cfg: NetConfig) -> str:
    return f"stem:{cfg.resolution}:{cfg.in_channels}-{cfg.stem_width}:s{cfg.stem_stride}:{cfg.stem_act}"


def null_key(shape: tuple[int, ...]) -> str:
    """The empty model on this input: the fixed cost of one call, taken off every part."""
    return "null:" + "x".join(str(d) for d in shape)


def head_key(cfg: NetConfig, in_size: int) -> str:
    return (f"head:{in_size}:{cfg.blocks[-1].out_channels}-{cfg.head_width}-{cfg.feature_width}"
            f"-{cfg.num_classes}:{cfg.head_act}")


@dataclass(frozen=True)
class Part:
    key: str
    input_shape: tuple[int, ...]  # without the batch dimension
    kind: str  # stem, block, head, null
    block: BlockConfig | None = None

    def onnx(self, cfg: NetConfig, batch_size: int) -> onnx.ModelProto:
        from ofa.export.onnx_graph import block_onnx, head_onnx, stem_onnx
        from ofa.layers.onnx_graph import identity_onnx

        if self.kind == "null":
            return identity_onnx(self.input_shape, batch_size)
        if self.kind == "stem":
            return stem_onnx(cfg, batch_size)
        if self.kind == "head":
            return head_onnx(cfg, self.input_shape[-1], batch_size)
        return block_onnx(self.block, self.input_shape[-1], batch_size)

    def module(self, cfg: NetConfig):
        """The same part as a torch module, for backends that time PyTorch directly."""
        from torch import nn

        from ofa.layers.static import conv_bn
        from ofa.supernet.static import Head, InvertedResidual

        if self.kind == "null":
            return nn.Identity()
        if self.kind == "stem":
            return conv_bn(cfg.in_channels, cfg.stem_width, 3, cfg.stem_stride, act=cfg.stem_act).eval()
        if self.kind == "head":
            return Head(self.input_shape[0], cfg.head_width, cfg.feature_width, cfg.head_act,
                        cfg.num_classes, 0.0).eval()
        return InvertedResidual(self.block).eval()


def fixed_parts(space: SearchSpace, resolution: int, num_classes: int) -> tuple[NetConfig, list[Part]]:
    """Stem, fixed first block and head: in every subnet at this resolution."""
    cfg = template_config(space, resolution, num_classes)
    sizes = cfg.feature_sizes()
    first = first_block_config(space)
    return cfg, [
        Part(stem_key(cfg), (cfg.in_channels, resolution, resolution), "stem"),
        Part(block_key(first, sizes[0]), (first.in_channels, sizes[0], sizes[0]), "block", first),
        Part(head_key(cfg, sizes[-1]), (cfg.blocks[-1].out_channels, sizes[-1], sizes[-1]), "head"),
    ]


def slot_parts(space: SearchSpace, resolution: int) -> list[list[list[Part]]]:
    """parts[slot][kernel index][expand index]: the block each slot becomes for each choice."""
    return [[[Part(block_key(b, size), (b.in_channels, size, size), "block", b) for b in row] for row in rows]
            for size, rows in slot_blocks(space, resolution)]


def all_parts(space: SearchSpace, resolutions: list[int], num_classes: int) -> list[tuple[NetConfig, Part]]:
    """Every distinct part over the given resolutions, once each, with the config it came from,
    and the empty model for every input size they take."""
    seen: dict[str, tuple[NetConfig, Part]] = {}
    for r in resolutions:
        cfg, fixed = fixed_parts(space, r, num_classes)
        for part in fixed + [p for slot in slot_parts(space, r) for row in slot for p in row]:
            seen.setdefault(part.key, (cfg, part))
            seen.setdefault(null_key(part.input_shape), (cfg, Part(null_key(part.input_shape), part.input_shape, "null")))
    return list(seen.values())
