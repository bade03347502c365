"""Measuring parts and whole subnets on a device profile's backend."""

from __future__ import annotations

import torch

from ofa.devices import DeviceProfile
from ofa.latency.backends import LatencyStats, get_backend, stats_from_times, time_interleaved
from ofa.spaces import Space, Subnet
from ofa.supernet import build_static, net_config, static_to_onnx


def measure_many(items: list[tuple[object, tuple[int, ...]]], profile: DeviceProfile) -> list[LatencyStats]:
    """Time many models: (ONNX ModelProto or torch module, input shape with batch) each.
    Synchronous backends interleave their runs (see backends.time_interleaved)."""
    backend = get_backend(profile.backend)
    backend.require()
    if backend.measure_module is not None:
        return [backend.measure_module(m, shape, profile) for m, shape in items]
    if backend.prepare is None:
        return [backend.measure(m.SerializeToString(), shape, profile) for m, shape in items]
    calls = [backend.prepare(m.SerializeToString(), shape, profile) for m, shape in items]
    times = time_interleaved(calls, profile.warmup, profile.iterations, profile.rounds)
    return [stats_from_times(t) for t in times]


def part_item(part, profile: DeviceProfile) -> tuple[object, tuple[int, ...]]:
    """A part of any family (ofa.families.parts) as the profile's backend times it."""
    shape = (profile.batch_size, *part.input_shape)
    if get_backend(profile.backend).measure_module is not None:
        return part.module(), shape
    return part.onnx(profile.batch_size), shape


def subnet_item(space: Space, subnet: Subnet, profile: DeviceProfile, num_classes: int,
                seed: int = 0) -> tuple[object, tuple[int, ...]]:
    """The whole subnet as one network (random weights: only shapes matter for latency)."""
    cfg = net_config(space, subnet, num_classes)
    torch.manual_seed(seed)
    model = build_static(cfg).eval()
    shape = (profile.batch_size, cfg.in_channels, cfg.resolution, cfg.resolution)
    if get_backend(profile.backend).measure_module is not None:
        return model, shape
    return static_to_onnx(model, profile.batch_size), shape


def measure_subnets(space: Space, subnets: list[Subnet], profile: DeviceProfile, num_classes: int,
                    chunk: int = 25, progress=None, what: str = "subnets", deployed: bool = True) -> list[float]:
    """End-to-end latency of each subnet (the profile's statistic). `deployed`: each alone, its
    runs back to back, as an exported model runs and as `ofa specialize` measures it (what a
    calibration must predict: a whole network alone ran about 35% faster than amid others on a
    2-core VM, BENCHMARKS.md). Else interleaved in chunks, as the table's parts are measured."""
    latencies: list[float] = []
    step = 1 if deployed else chunk
    for start in range(0, len(subnets), step):
        items = [subnet_item(space, s, profile, num_classes) for s in subnets[start : start + step]]
        latencies += [st.value(profile.statistic) for st in measure_many(items, profile)]
        if progress:
            progress(what, len(latencies), len(subnets))
    return latencies


def measure_exported(onnx_path, model, profile: DeviceProfile) -> LatencyStats:
    """An exported file on the profile's backend, as deployed: alone, at the profile's batch
    (backends that time torch modules get the model it was exported from)."""
    import onnx

    backend = get_backend(profile.backend)
    shape = profile.input_shape(model.config.resolution, model.config.in_channels)
    item = model if backend.measure_module is not None else onnx.load(str(onnx_path))
    return measure_many([(item, shape)], profile)[0]
