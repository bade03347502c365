"""resnet: once-for-all's elastic ResNets (`OFAResNets`, its `ofa_resnet50`) of bottleneck blocks.
Elastic: each stage's depth, each block's expand ratio, a width multiplier for the stem's middle,
the stem's output and each stage, whether the stem's middle block runs, the resolution."""

from __future__ import annotations

from ofa.families.resnet.config import CONFIG_FORMAT, ResNetConfig, net_config, net_cost
from ofa.families.resnet.encodings import ENCODINGS
from ofa.families.resnet.parts import fixed_parts, slot_choices, slot_parts
from ofa.families.resnet.space import SPACE_KEYS, ResNetSpace
from ofa.families.resnet.space import resnet_space_from_dict as read_space
from ofa.families.resnet.subnet import (
    ResNetSubnet, check_subnet, decode, encode, gene_layout, sample_subnet, to_subnet,
)

NAME = "resnet"
SUMMARY = "once-for-all's ResNets: bottlenecks with elastic depth, expand ratio and width multipliers"
SPACE_TYPE, SUBNET_TYPE = ResNetSpace, ResNetSubnet
SUBNET_EXAMPLE = "r224:w0.65-w1-b,w0.8-e0.2-e0.25,w1-e0.35-e0.2"
CLASSIFIER = "head.linear."
CONFIG_TYPE = ResNetConfig
config_from_dict = ResNetConfig.from_dict


def describe(space: ResNetSpace) -> tuple[str, list[str], list[list[str]]]:
    """What `ofa spaces show` prints: an outline, then a table's header and rows (one per stage)."""
    stem = ", ".join(f"{space.stem_mid_channels(w)}-{space.stem_channels(w)}" for w in space.widths)
    outline = (f"stem of three 3x3 convolutions (stride {space.stem_stride}; middle-output widths {stem}"
               + (", middle block skippable" if space.stem_skippable else "") + ")"
               + (" -> 3x3 max pool" if space.max_pool else "")
               + f" -> bottleneck stages -> classifier; width multipliers {list(space.widths)}, "
               f"expand ratios {list(space.expands)}")
    rows = [[str(i), str(s.width), ", ".join(str(space.stage_channels(i - 1, w)) for w in space.widths), str(s.stride),
             str(list(s.depths))] for i, s in enumerate(space.stages, 1)]
    return outline, ["stage", "width", "widths by multiplier", "stride", "depths"], rows


def build_static(cfg: ResNetConfig):
    from ofa.families.resnet.static import StaticResNet

    return StaticResNet(cfg)


def build_supernet(space: ResNetSpace, num_classes: int, init: str = "ofa"):
    from ofa.families.resnet.supernet import ResNetSupernet

    return ResNetSupernet(space, num_classes, init)


def static_to_onnx(model, batch_size: int = 1):
    from ofa.families.resnet.onnx import resnet_to_onnx

    return resnet_to_onnx(model, batch_size)


__all__ = ["CLASSIFIER", "CONFIG_FORMAT", "CONFIG_TYPE", "ENCODINGS", "NAME", "SPACE_KEYS", "SPACE_TYPE", "SUBNET_EXAMPLE", "SUBNET_TYPE",
           "SUMMARY", "build_static", "describe", "build_supernet", "check_subnet", "config_from_dict", "decode", "encode",
           "fixed_parts", "gene_layout", "net_config", "net_cost", "read_space", "sample_subnet", "slot_choices",
           "slot_parts", "static_to_onnx", "to_subnet"]
