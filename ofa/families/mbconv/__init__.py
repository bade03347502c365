"""mbconv: MobileNetV3's inverted residual blocks (once-for-all's `OFAMobileNetV3` and ProxylessNAS
spaces). Elastic: each stage's depth, each block's kernel and expand ratio, the resolution."""

from __future__ import annotations

from ofa.families.mbconv.config import CONFIG_FORMAT, NetConfig, net_config
from ofa.families.mbconv.cost import net_cost
from ofa.families.mbconv.encodings import ENCODINGS
from ofa.families.mbconv.parts import fixed_parts, slot_parts
from ofa.families.mbconv.space import SPACE_KEYS, SearchSpace
from ofa.families.mbconv.space import space_from_dict as read_space
from ofa.families.mbconv.subnet import (
    Subnet, check_subnet, decode, encode, gene_layout, sample_subnet, slot_choices, to_subnet,
)

NAME = "mbconv"
SUMMARY = "MobileNetV3 inverted residuals: elastic depth, kernel and expand ratio"
SPACE_TYPE, SUBNET_TYPE = SearchSpace, Subnet
SUBNET_EXAMPLE = "r160:k3e4-k5e6,k7e3-k3e3"
CLASSIFIER = "head.classifier."
CONFIG_TYPE = NetConfig
config_from_dict = NetConfig.from_dict


def describe(space: SearchSpace) -> tuple[str, list[str], list[list[str]]]:
    """What `ofa spaces show` prints: an outline, then a table's header and rows (one per stage)."""
    outline = (f"stem {space.stem_width} (stride {space.stem_stride}, {space.stem_act}) -> first block "
               f"{space.first_block_width} ({space.first_block_act}) -> head {space.head_width}"
               + (f" -> {space.feature_width}" if space.feature_width else " (no feature mix)"))
    rows = [[str(i), str(s.width), str(s.stride), s.act, "yes" if s.se else "no", str(list(s.depths)),
             str(list(s.kernels)), str(list(s.expands))] for i, s in enumerate(space.stages, 1)]
    return outline, ["stage", "width", "stride", "act", "SE", "depths", "kernels", "expands"], rows


def build_static(cfg: NetConfig):
    from ofa.families.mbconv.static import StaticNet

    return StaticNet(cfg)


def build_supernet(space: SearchSpace, num_classes: int, init: str = "ofa"):
    from ofa.families.mbconv.supernet import Supernet

    return Supernet(space, num_classes, init)


def static_to_onnx(model, batch_size: int = 1):
    from ofa.families.mbconv.onnx import static_to_onnx as to_onnx

    return to_onnx(model, batch_size)


__all__ = ["CLASSIFIER", "CONFIG_FORMAT", "CONFIG_TYPE", "ENCODINGS", "NAME", "SPACE_KEYS", "SPACE_TYPE", "SUBNET_EXAMPLE", "SUBNET_TYPE",
           "SUMMARY", "build_static", "describe", "build_supernet", "check_subnet", "config_from_dict", "decode", "encode",
           "fixed_parts", "gene_layout", "net_config", "net_cost", "read_space", "sample_subnet", "slot_choices",
           "slot_parts", "static_to_onnx", "to_subnet"]
