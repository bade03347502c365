"""A device profile as a typed, frozen value: where and how latency is measured for one target."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, fields
from typing import Any

from ofa import fields as check_field
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


_REQUIRED = ("name", "backend", "precision", "resolutions")


def _slug(value: Any, where: str) -> str:
    """A profile's name or alias: lower case, as it becomes a folder of latency tables."""
    if not isinstance(value, str) or not _NAME.match(value) or len(value) > 64:
        raise check_field.fail(where, "a lower-case name of letters, digits, '.', '_' or '-'", value)
    return value


def profile_from_dict(d: Any, source: str = "device") -> DeviceProfile:
    """Build and validate a profile with ofa.fields (every message `WHERE: expected WHAT, got VALUE`);
    a field left out takes the default DeviceProfile states."""
    f = check_field
    d = f.mapping(d, source, [x.name for x in fields(DeviceProfile)], required=_REQUIRED)
    given = lambda key: d[key] if key in d else _default(key)  # noqa: E731
    aliases = tuple(_slug(a, f"{source}.aliases[{i}]") for i, a in enumerate(
        f.items([] if d.get("aliases") is None else d["aliases"], f"{source}.aliases", "a list of names", empty=True)))
    name = _slug(d["name"], f"{source}.name")
    if name in aliases or len(set(aliases)) != len(aliases):
        raise OfaError(f"{source}.aliases: names repeat in {list(aliases)} (name '{name}')")
    res = d["resolutions"]
    res = [res] if f.is_whole(res) else f.items(res, f"{source}.resolutions", "a non-empty list of resolutions")
    res = [check(r, "resolution", f"{source}.resolutions[{i}]", 8) for i, r in enumerate(res)]
    if len(set(res)) != len(res):
        raise OfaError(f"{source}.resolutions: values repeat in {res}")
    description = given("description")
    if not isinstance(description, str):
        raise f.fail(f"{source}.description", "a string", description)
    threads = given("threads")
    machine = given("machine")
    if machine is not None:
        machine = f.text(machine, f"{source}.machine", longest=200).strip()
    return DeviceProfile(
        name=name,
        machine=machine,
        backend=f.text(d["backend"], f"{source}.backend", BACKENDS),
        precision=f.text(d["precision"], f"{source}.precision", PRECISIONS),
        resolutions=tuple(sorted(res)),
        aliases=aliases,
        description=description.strip(),
        batch_size=check(given("batch_size"), "batch_size", f"{source}.batch_size", 1),
        threads=None if threads is None else check(threads, "threads", f"{source}.threads (or null for all cores)", 1),
        warmup=check(given("warmup"), "runs", f"{source}.warmup", 0),
        iterations=check(given("iterations"), "runs", f"{source}.iterations", 1),
        rounds=check(given("rounds"), "runs", f"{source}.rounds", 1),
        statistic=f.text(given("statistic"), f"{source}.statistic", STATISTICS),
    )


def _default(key: str) -> Any:
    """The default DeviceProfile states for `key` (stated there, once)."""
    return next(x.default for x in fields(DeviceProfile) if x.name == key)
