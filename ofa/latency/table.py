"""A latency lookup table: measured parts of one space on one device, with provenance and an
optional calibration, stored as versioned JSON at latency/<device>/<space>.json."""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ofa.devices.profile import STATISTICS
from ofa.errors import OfaError
from ofa.files import read_json, usual_mode
from ofa.resources import data_dir

TABLE_FORMAT = "ofa-latency-table/1"


@dataclass(frozen=True)
class Calibration:
    """measured ~= scale * (sum of parts) + offset_ms, fitted on whole subnets."""

    scale: float = 1.0
    offset_ms: float = 0.0
    points: tuple[tuple[str, float, float], ...] = ()  # (subnet, sum of parts, measured)

    def apply(self, summed):
        return self.scale * summed + self.offset_ms


@dataclass
class LatencyTable:
    device: str
    space: str
    space_fingerprint: str
    num_classes: int
    batch_size: int
    resolutions: list[int]
    provenance: dict[str, Any] = field(default_factory=dict)
    entries: dict[str, dict[str, float]] = field(default_factory=dict)
    calibration: Calibration | None = None
    statistic: str = "median"  # which summary of each entry's timed runs predictions use
    # resolution -> {part key: what the source called it} of parts an imported table lacks there
    # (once-for-all's published 224 px table has fewer than half of its block entries)
    incomplete: dict[int, dict[str, str]] = field(default_factory=dict)

    @property
    def complete_resolutions(self) -> list[int]:
        """Resolutions at which the table predicts every subnet (all of them, unless imported incomplete)."""
        return [r for r in self.resolutions if r not in self.incomplete]

    def to_dict(self) -> dict[str, Any]:
        cal = None
        if self.calibration is not None:
            c = self.calibration
            cal = {"scale": c.scale, "offset_ms": c.offset_ms, "points": [list(p) for p in c.points]}
        return {
            "format": TABLE_FORMAT, "device": self.device, "space": self.space,
            "space_fingerprint": self.space_fingerprint, "num_classes": self.num_classes,
            "batch_size": self.batch_size, "resolutions": self.resolutions, "statistic": self.statistic,
            "provenance": self.provenance, "calibration": cal,
            **({"incomplete": {str(r): m for r, m in self.incomplete.items()}} if self.incomplete else {}),
            "entries": self.entries,
        }

    @classmethod
    def from_dict(cls, d: Any, source: str) -> "LatencyTable":
        if not isinstance(d, dict) or d.get("format") != TABLE_FORMAT:
            raise OfaError(f"{source} is not a latency table (expected format '{TABLE_FORMAT}')")
        try:
            cal = d.get("calibration")
            table = cls(
                device=d["device"], space=d["space"], space_fingerprint=d["space_fingerprint"],
                num_classes=int(d["num_classes"]), batch_size=int(d["batch_size"]),
                resolutions=[int(r) for r in d["resolutions"]], provenance=dict(d.get("provenance", {})),
                entries={str(k): {kk: float(vv) for kk, vv in v.items()} for k, v in d["entries"].items()},
                calibration=None if cal is None else Calibration(
                    float(cal["scale"]), float(cal["offset_ms"]),
                    tuple((str(s), float(a), float(b)) for s, a, b in cal.get("points", []))),
                statistic=str(d.get("statistic", "median")),
                incomplete={int(r): {str(k): str(v) for k, v in m.items()}
                            for r, m in d.get("incomplete", {}).items()},
            )
        except (KeyError, TypeError, ValueError, AttributeError) as e:
            raise OfaError(f"{source} is a corrupt latency table ({type(e).__name__}: {e})") from None
        if table.statistic not in STATISTICS:
            raise OfaError(f"{source} is a corrupt latency table (statistic {table.statistic!r}; "
                           f"expected one of {list(STATISTICS)})")
        return table

    def check(self, device: str, space_name: str, fingerprint: str, source: str = "latency table") -> "LatencyTable":
        """Refuse a table measured for another device or space, or for a space since changed."""
        if self.device != device:
            raise OfaError(f"{source} was measured on device '{self.device}', not '{device}'")
        if self.space != space_name:
            raise OfaError(f"{source} is for space '{self.space}', not '{space_name}'")
        if self.space_fingerprint != fingerprint:
            raise OfaError(
                f"{source} was measured for another version of space '{space_name}' "
                f"(fingerprint {self.space_fingerprint}, now {fingerprint}); rebuild it"
            )
        return self


def at_resolution(key: str, resolution: int) -> str:
    """An entry that holds for one resolution's networks only. once-for-all's tables time the same
    layer shape again in each resolution's file, with slightly different results: an imported table
    keeps them apart so that it predicts exactly what once-for-all predicts. Lookups try this
    key before the plain one."""
    return f"{key}@{resolution}"


def default_table_path(device: str, space: str) -> Path:
    """Where `ofa latency build` writes: ./latency/<device>/<space>.json."""
    return Path("latency") / device / f"{space}.json"


def _table_paths(device: str, space: str) -> list[Path]:
    return [root / device / f"{space}.json" for root in (Path("latency"), data_dir("latency"))]


def has_table(device: str, space: str) -> bool:
    return any(p.is_file() for p in _table_paths(device, space))


def find_table(device: str, space: str) -> Path:
    """A table in ./latency, else the one shipped with the package."""
    for path in _table_paths(device, space):
        if path.is_file():
            return path
    raise OfaError(
        f"no latency table for device '{device}' and space '{space}'; "
        f"measure one with: ofa latency build --device {device} --space {space}"
    )


def load_table(path: str | Path) -> LatencyTable:
    path = Path(path)
    try:
        data = read_json(path, "latency table")
    except OfaError as e:
        raise OfaError(f"{e} (a corrupt latency table)" if path.is_file() else str(e)) from None
    return LatencyTable.from_dict(data, str(path))


def save_table(table: LatencyTable, path: str | Path) -> Path:
    """Atomic write: a crash mid-write leaves the previous table intact."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as f:
            json.dump(table.to_dict(), f, indent=1, sort_keys=False)
            f.flush()
            os.fsync(f.fileno())
        os.replace(usual_mode(tmp), path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
