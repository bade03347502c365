"""The parts (stem, blocks, head) that MobileNetV3-style subnets are made of, each with a key that
names everything its latency depends on, laid out as ofa.families.parts describes."""

from __future__ import annotations

from dataclasses import dataclass, field

from ofa.families.mbconv.config import BlockConfig, NetConfig, first_block_config, slot_blocks, template_config
from ofa.families.mbconv.cost import block_cost, head_cost, stem_cost
from ofa.families.mbconv.space import SearchSpace
from ofa.layers.cost import Cost
from ofa.layers.shapes import conv_out


def block_key(b: BlockConfig, in_size: int) -> str:
    se = f"se{b.se_channels}" if b.se_channels else "nose"
    expand = "" if b.expand else ":noexpand"
    return f"block:{in_size}:{b.in_channels}-{b.mid_channels}-{b.out_channels}:k{b.kernel}:s{b.stride}:{b.act}:{se}{expand}"


def stem_key(cfg: NetConfig) -> str:
    return f"stem:{cfg.resolution}:{cfg.in_channels}-{cfg.stem_width}:s{cfg.stem_stride}:{cfg.stem_act}"


def head_key(cfg: NetConfig, in_size: int) -> str:
    return (f"head:{in_size}:{cfg.blocks[-1].out_channels}-{cfg.head_width}-{cfg.feature_width}"
            f"-{cfg.num_classes}:{cfg.head_act}")


@dataclass(frozen=True)
class Part:
    """A stem, block or head at one input size; `net` is the template network it comes from (the
    stem's and head's layers are read from it)."""

    key: str
    input_shape: tuple[int, ...]  # without the batch dimension
    kind: str  # stem, block, head
    net: NetConfig = field(compare=False, repr=False)
    block: BlockConfig | None = None

    def onnx(self, batch_size: int = 1):
        from ofa.families.mbconv.onnx import block_onnx, head_onnx, stem_onnx

        if self.kind == "stem":
            return stem_onnx(self.net, batch_size)
        if self.kind == "head":
            return head_onnx(self.net, self.input_shape[-1], batch_size)
        return block_onnx(self.block, self.input_shape[-1], batch_size)

    def module(self):
        """The same part as a torch module, for backends that time PyTorch directly."""
        from ofa.families.mbconv.static import Head, InvertedResidual
        from ofa.layers.static import conv_bn

        cfg = self.net
        if self.kind == "stem":
            return conv_bn(cfg.in_channels, cfg.stem_width, 3, cfg.stem_stride, act=cfg.stem_act).eval()
        if self.kind == "head":
            return Head(self.input_shape[0], cfg.head_width, cfg.feature_width, cfg.head_act,
                        cfg.num_classes, 0.0).eval()
        return InvertedResidual(self.block).eval()

    def traffic(self) -> tuple[int, int, int]:
        """(activation values read and written, convolution and linear layers, depthwise MACs)."""
        cfg, (c, n) = self.net, (self.input_shape[0], self.input_shape[-1])
        if self.kind == "stem":
            out = conv_out(n, 3, cfg.stem_stride)
            return c * n * n + cfg.stem_width * out * out, 1, 0
        if self.kind == "head":
            feature = cfg.feature_width or cfg.head_width
            values = c * n * n + cfg.head_width * n * n + cfg.head_width + feature + cfg.num_classes
            return values, (3 if cfg.feature_width else 2), 0
        b = self.block
        out = conv_out(n, b.kernel, b.stride)
        values = c * n * n + (b.mid_channels * n * n if b.expand else 0) + b.mid_channels * out * out
        values += b.out_channels * out * out
        return values, int(b.expand) + 2 + (2 if b.se_channels else 0), b.mid_channels * b.kernel * b.kernel * out * out

    def cost(self) -> Cost:
        size = self.input_shape[-1]
        if self.kind == "stem":
            return stem_cost(self.net)
        if self.kind == "head":
            return head_cost(self.net, size)
        return block_cost(self.block, size)


def fixed_parts(space: SearchSpace, resolution: int, num_classes: int) -> list[Part]:
    """Stem, fixed first block and head: in every subnet at this resolution."""
    cfg = template_config(space, resolution, num_classes)
    sizes = cfg.feature_sizes()
    first = first_block_config(space)
    return [
        Part(stem_key(cfg), (cfg.in_channels, resolution, resolution), "stem", cfg),
        Part(block_key(first, sizes[0]), (first.in_channels, sizes[0], sizes[0]), "block", cfg, first),
        Part(head_key(cfg, sizes[-1]), (cfg.blocks[-1].out_channels, sizes[-1], sizes[-1]), "head", cfg),
    ]


def slot_parts(space: SearchSpace, resolution: int, num_classes: int) -> list[list[Part | None]]:
    """parts[slot][choice]: the block each slot becomes for choice kernel index x (the most expand
    ratios of any stage) + expand index (None past a stage's own lists); see subnet.slot_choices."""
    cfg = template_config(space, resolution, num_classes)
    n_expands = max(len(s.expands) for s in space.stages)
    out = []
    for size, rows in slot_blocks(space, resolution):
        choices: list[Part | None] = [None] * (n_expands * len(rows))
        for k_idx, row in enumerate(rows):
            for e_idx, b in enumerate(row):
                choices[k_idx * n_expands + e_idx] = Part(block_key(b, size), (b.in_channels, size, size), "block",
                                                          cfg, b)
        out.append(choices)
    return out
