"""Measuring parts and whole subnets on a device profile's backend."""

from __future__ import annotations

import torch

from ofa.devices import DeviceProfile
from ofa.latency.backends import LatencyStats, get_backend
from ofa.latency.parts import Part
from ofa.spaces.space import SearchSpace
from ofa.spaces.subnet import Subnet
from ofa.supernet.config import NetConfig, net_config


def measure_part(part: Part, cfg: NetConfig, profile: DeviceProfile) -> LatencyStats:
    """Time one part alone, as an ONNX model or (PyTorch backends) as a torch module."""
    backend = get_backend(profile.backend)
    backend.require()
    shape = (profile.batch_size, *part.input_shape)
    if backend.measure_module is not None:
        return backend.measure_module(part.module(cfg), shape, profile)
    return backend.measure(part.onnx(cfg, profile.batch_size).SerializeToString(), shape, profile)


def measure_subnet(space: SearchSpace, subnet: Subnet, profile: DeviceProfile, num_classes: int,
                   seed: int = 0) -> LatencyStats:
    """End-to-end latency of the whole subnet as one network (random weights: only shapes matter)."""
    from ofa.export.onnx_graph import static_to_onnx
    from ofa.supernet.static import StaticNet

    cfg: NetConfig = net_config(space, subnet, num_classes)
    torch.manual_seed(seed)
    model = StaticNet(cfg).eval()
    backend = get_backend(profile.backend)
    backend.require()
    shape = (profile.batch_size, cfg.in_channels, cfg.resolution, cfg.resolution)
    if backend.measure_module is not None:
        return backend.measure_module(model, shape, profile)
    return backend.measure(static_to_onnx(model, profile.batch_size).SerializeToString(), shape, profile)
