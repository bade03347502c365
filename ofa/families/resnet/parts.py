"""The parts a ResNet subnet is made of, laid out for vectorised sums over whole populations.

A width multiplier changes the shapes of the next stage's first block, so a part is keyed by every
shape it has (input size, input, middle and output widths, stride, shortcut), never by its slot.
Each subnet is a sum over slots: the stem's first convolution, its middle block (or nothing), its
last convolution with the max pool, every block slot, and the head. `slot_choices` gives each
slot's choice for a whole population at once; `slot_parts` the part behind every (slot, choice)
at a resolution. A latency table or a cost table is then one gather and one sum.

Choices: the stem by its middle width, the stem's last convolution by (middle, output) width, a
block slot by (input width, output width, expand ratio) and the head by the last stage's width,
each an index into the product of the space's choice lists.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ofa.families.resnet.config import KERNEL, BottleneckConfig, ConvConfig, bottleneck_cost, conv_layer_cost
from ofa.families.resnet.space import ResNetSpace
from ofa.families.resnet.subnet import STEM_WIDTHS, gene_layout
from ofa.layers.cost import Cost, linear_cost
from ofa.layers.shapes import conv_out


@dataclass(frozen=True)
class ResNetPart:
    """One part at one input size. `kind`: stem (conv), stem_block (residual conv), stem_out (conv and
    the max pool when `pool`), block (a bottleneck), head (global pool and classifier)."""

    kind: str
    size: int
    conv: ConvConfig | None = None
    block: BottleneckConfig | None = None
    pool: bool = False
    num_classes: int = 0
    head_in: int = 0

    @property
    def key(self) -> str:
        if self.kind == "block":
            b = self.block
            return (f"bottleneck:{self.size}:{b.in_channels}-{b.mid_channels}-{b.out_channels}:s{b.stride}:"
                    + ("proj" if b.projects else "id"))
        if self.kind == "head":
            return f"rhead:{self.size}:{self.head_in}-{self.num_classes}"
        c = self.conv
        return f"r{self.kind}:{self.size}:{c.in_channels}-{c.out_channels}:s{c.stride}" + (":pool" if self.pool else "")

    @property
    def input_shape(self) -> tuple[int, int, int]:
        channels = {"block": lambda: self.block.in_channels, "head": lambda: self.head_in}.get(
            self.kind, lambda: self.conv.in_channels)()
        return channels, self.size, self.size

    def onnx(self, batch_size: int = 1):
        from ofa.families.resnet.onnx import part_onnx

        return part_onnx(self, batch_size)

    def module(self):
        from ofa.families.resnet.static import part_module

        return part_module(self)

    def traffic(self) -> tuple[int, int, int]:
        """(activation values read and written, convolution and linear layers, depthwise MACs: none)."""
        n = self.size
        if self.kind == "block":
            b = self.block
            out = conv_out(n, KERNEL, b.stride)
            values = b.in_channels * n * n + b.mid_channels * (n * n + out * out) + b.out_channels * out * out
            return values + (b.out_channels * out * out if b.projects else 0), 3 + int(b.projects), 0
        if self.kind == "head":
            return self.head_in * n * n + self.head_in + self.num_classes, 1, 0
        c = self.conv
        out = conv_out(n, KERNEL, c.stride)
        pooled = conv_out(out, 3, 2) if self.pool else out
        return c.in_channels * n * n + c.out_channels * (out * out + pooled * pooled * self.pool), 1, 0

    def cost(self) -> Cost:
        if self.kind == "block":
            return bottleneck_cost(self.block, self.size)
        if self.kind == "head":
            return linear_cost(self.head_in, self.num_classes)
        return conv_layer_cost(self.conv, conv_out(self.size, KERNEL, self.conv.stride))


def _sizes(space: ResNetSpace, resolution: int) -> tuple[int, list[int], int]:
    """The stem's output size, every block slot's input size, and the size entering the head."""
    stem = conv_out(resolution, KERNEL, space.stem_stride)
    size = conv_out(stem, 3, 2) if space.max_pool else stem
    slots = []
    for stage in space.stages:
        for j in range(stage.max_depth):
            slots.append(size)
            size = conv_out(size, KERNEL, stage.stride) if j == 0 else size
    return stem, slots, size


def fixed_parts(space: ResNetSpace, resolution: int, num_classes: int) -> list[ResNetPart]:
    """None: every part of a ResNet depends on a width choice, so each is a slot."""
    return []


def slot_parts(space: ResNetSpace, resolution: int, num_classes: int) -> list[list[ResNetPart | None]]:
    """parts[slot][choice]: the part each choice of each slot is at this resolution (None where the
    choice cannot occur: a later block whose input and output widths differ)."""
    widths, expands, n = space.widths, space.expands, len(space.widths)
    stem_size, block_sizes, head_size = _sizes(space, resolution)
    mids = [space.stem_mid_channels(w) for w in widths]
    outs = [space.stem_channels(w) for w in widths]
    parts: list[list[ResNetPart | None]] = [
        [ResNetPart("stem", resolution, ConvConfig(3, m, space.stem_stride)) for m in mids],
        [ResNetPart("stem_block", stem_size, ConvConfig(m, m)) for m in mids],
        [ResNetPart("stem_out", stem_size, ConvConfig(m, o), pool=space.max_pool) for m in mids for o in outs],
    ]
    slot, previous = 0, outs
    for i, stage in enumerate(space.stages):
        channels = [space.stage_channels(i, w) for w in widths]
        for j in range(stage.max_depth):
            inputs = previous if j == 0 else channels
            parts.append([
                ResNetPart("block", block_sizes[slot], block=BottleneckConfig(
                    inputs[a], space.mid_channels(channels[b], e), channels[b], stage.stride if j == 0 else 1, j == 0))
                if j == 0 or a == b else None
                for a in range(n) for b in range(n) for e in expands])
            slot += 1
        previous = channels
    parts.append([ResNetPart("head", head_size, num_classes=num_classes, head_in=c) for c in previous])
    return parts


def slot_choices(space: ResNetSpace, genes: np.ndarray) -> np.ndarray:
    """(n, slots) choice of every slot for an (n, genes) array, -1 where the subnet leaves it out."""
    layout = gene_layout(space)
    genes = np.atleast_2d(np.asarray(genes, dtype=np.int64))
    n_widths, n_expands = len(space.widths), len(space.expands)
    widths = layout.take(genes, "width")
    stem_runs = np.asarray(layout.group("stem").values[0])[layout.take(genes, "stem")[:, 0]]
    columns = [widths[:, 0], np.where(stem_runs, widths[:, 0], -1), widths[:, 0] * n_widths + widths[:, 1]]
    expand, used = layout.take(genes, "expand"), layout.in_use(genes, "expand")
    stage_of, position = layout.group("expand").stages, layout.group("expand").positions
    for slot, (i, j) in enumerate(zip(stage_of, position)):
        w_out = widths[:, STEM_WIDTHS + i]
        w_in = widths[:, STEM_WIDTHS + i - 1] if j == 0 else w_out
        columns.append(np.where(used[:, slot], (w_in * n_widths + w_out) * n_expands + expand[:, slot], -1))
    columns.append(widths[:, -1])
    return np.stack(columns, axis=1)
