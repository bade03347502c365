"""A device profile as a typed, frozen value: where and how latency is measured for one target."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, fields
from typing import Any

from ofa.errors import OfaError
from ofa.limits import check

PRECISIONS = ("fp32", "fp16")
# The measurement backends a profile may name. Profiles are data: the names live here, and the
# backend registry (ofa.latency.backends) checks when imported that it serves exactly these.
BACKENDS = ("onnxruntime-cpu", "onnxruntime-cuda", "tensorrt", "torch-cuda", "imported")
# What summarises a model's timed runs. p10 suits machines whose speed jumps between regimes
# (shared VMs): it tracks the fast regime, which each model reaches, whatever the share of slow time.
# mean: what once-for-all's published tables hold (`ofa latency import`).
STATISTICS = ("median", "p10", "mean")
# Names and aliases become file names of lookup tables, so they stay simple.
_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]*$")


@dataclass(frozen=True, kw_only=True)
class DeviceProfile:
    """One measurement target: which backend runs the model, at what precision and batch."""

    name: str
    aliases: tuple[str, ...] = ()
    description: str = ""
    backend: str
    precision: str
    batch_size: int = 1
    threads: int | None = None  # None: let the backend use every core
    warmup: int = 10
    iterations: int = 50
    rounds: int = 5  # timed runs spread over this many passes through a batch of models
    statistic: str = "median"  # which summary of the timed runs tables store and predict
    resolutions: tuple[int, ...]
    # Hardware this profile is pinned to: text found in the CPU, GPU or board name of the machine
    # (e.g. "Orin Nano"). None: whatever machine runs ofa and has the backend ("this CPU", "a GPU").
    machine: str | None = None

    def input_shape(self, resolution: int, channels: int = 3) -> tuple[int, int, int, int]:
        """NCHW shape of one measured batch at `resolution`."""
        return (self.batch_size, channels, resolution, resolution)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["aliases"] = list(self.aliases)
        d["resolutions"] = list(self.resolutions)
        return d


_KEYS = {f.name for f in fields(DeviceProfile)}
_REQUIRED = ("name", "backend", "precision", "resolutions")


def _slug(value: Any, where: str) -> str:
    if not isinstance(value, str) or not _NAME.match(value):
        raise OfaError(
            f"{where}: expected a lower-case name of letters, digits, '.', '_' or '-', got {value!r}"
        )
    return value


def _int_at_least(value: Any, lowest: int, where: str, kind: str) -> int:
    return check(value, kind, where, lowest)


def _backend(value: Any, where: str) -> str:
    if value not in BACKENDS:
        raise OfaError(f"{where}: expected one of {list(BACKENDS)}, got {value!r}")
    return value


def profile_from_dict(d: Any, source: str = "device") -> DeviceProfile:
    """Build and validate a profile; every error names the source, the field and what was expected."""
    if not isinstance(d, dict):
        raise OfaError(f"{source}: expected a mapping at the top level, got {type(d).__name__}")
    unknown = set(d) - _KEYS
    if unknown:
        raise OfaError(f"{source}: unknown field(s) {sorted(unknown)}; known: {sorted(_KEYS)}")
    for key in _REQUIRED:
        if key not in d:
            raise OfaError(f"{source}: missing field '{key}'")

    aliases = d.get("aliases", [])
    if aliases is None:
        aliases = []
    if not isinstance(aliases, list):
        raise OfaError(f"{source}.aliases: expected a list of names, got {aliases!r}")
    aliases = tuple(_slug(a, f"{source}.aliases[{i}]") for i, a in enumerate(aliases))
    name = _slug(d["name"], f"{source}.name")
    if name in aliases or len(set(aliases)) != len(aliases):
        raise OfaError(f"{source}.aliases: names repeat in {list(aliases)} (name '{name}')")

    precision = d["precision"]
    if precision not in PRECISIONS:
        raise OfaError(f"{source}.precision: expected one of {list(PRECISIONS)}, got {precision!r}")

    statistic = d.get("statistic", "median")
    if statistic not in STATISTICS:
        raise OfaError(f"{source}.statistic: expected one of {list(STATISTICS)}, got {statistic!r}")

    res = d["resolutions"]
    if isinstance(res, int) and not isinstance(res, bool):
        res = [res]
    if not isinstance(res, list) or not res:
        raise OfaError(f"{source}.resolutions: expected a non-empty list of positive integers, got {res!r}")
    res = [_int_at_least(r, 8, f"{source}.resolutions[{i}]", "resolution") for i, r in enumerate(res)]
    if len(set(res)) != len(res):
        raise OfaError(f"{source}.resolutions: values repeat in {res}")

    description = d.get("description", "")
    if not isinstance(description, str):
        raise OfaError(f"{source}.description: expected a string, got {description!r}")

    threads = d.get("threads")
    if threads is not None:
        threads = _int_at_least(threads, 1, f"{source}.threads (or null for all cores)", "threads")

    machine = d.get("machine")
    if machine is not None and (not isinstance(machine, str) or not machine.strip()):
        raise OfaError(f"{source}.machine: expected a non-empty piece of a CPU, GPU or board name, got {machine!r}")

    return DeviceProfile(
        name=name,
        machine=machine.strip() if machine else None,
        backend=_backend(d["backend"], f"{source}.backend"),
        precision=precision,
        resolutions=tuple(sorted(res)),
        aliases=aliases,
        description=description.strip(),
        batch_size=_int_at_least(d.get("batch_size", 1), 1, f"{source}.batch_size", "batch_size"),
        threads=threads,
        warmup=_int_at_least(d.get("warmup", 10), 0, f"{source}.warmup", "runs"),
        iterations=_int_at_least(d.get("iterations", 50), 1, f"{source}.iterations", "runs"),
        rounds=_int_at_least(d.get("rounds", 5), 1, f"{source}.rounds", "runs"),
        statistic=statistic,
    )
