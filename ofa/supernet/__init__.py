"""Supernets and static networks of any space, through its family (ofa.families), and their costs."""

from __future__ import annotations

from typing import Any

from ofa.families import family_of
from ofa.layers.cost import Cost
from ofa.supernet.static_files import CONFIG_FILE, WEIGHTS_FILE, load_static, save_static


def build_supernet(space: Any, num_classes: int, init: str = "ofa"):
    """The elastic supernet of `space` (a torch module with set_active, extract, reorder_channels)."""
    return family_of(space).build_supernet(space, num_classes, init)


def net_config(space: Any, subnet: Any, num_classes: int) -> Any:
    """The static network that `subnet` of `space` is, layer by layer."""
    return family_of(space).net_config(space, subnet, num_classes)


def build_static(cfg: Any):
    """A static network (random weights) from its config."""
    return family_of(cfg).build_static(cfg)


def net_cost(cfg: Any) -> Cost:
    return family_of(cfg).net_cost(cfg)


def subnet_cost(space: Any, subnet: Any, num_classes: int = 1000) -> Cost:
    family = family_of(space)
    return family.net_cost(family.net_config(space, subnet, num_classes))


def static_to_onnx(model: Any, batch_size: int = 1):
    """A static network as an ONNX graph: input `input` (N, 3, R, R) -> output `logits`."""
    return family_of(model.config).static_to_onnx(model, batch_size)


__all__ = ["CONFIG_FILE", "WEIGHTS_FILE", "Cost", "build_static", "build_supernet", "load_static", "net_config",
           "net_cost", "save_static", "static_to_onnx", "subnet_cost"]
