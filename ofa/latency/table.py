"""A latency lookup table: measured parts of one space on one device, with provenance and an
optional calibration, stored as versioned JSON at latency/<device>/<space>.json."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ofa.devices.profile import STATISTICS
from ofa import fields
from ofa.errors import OfaError
from ofa.files import read_json, write_json
from ofa.outputs import check_writable_file
from ofa.resources import data_dir

TABLE_FORMAT = "ofa-latency-table/1"
CALIBRATION_SUBNETS = 30  # whole subnets a new table's calibration is fitted on
DEFAULT_CLASSES = 1000  # the head a table times when nothing says otherwise (ImageNet's)


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
        """A table from plain data, every field checked once (see `_check_fields`)."""
        if not isinstance(d, dict) or d.get("format") != TABLE_FORMAT:
            raise OfaError(f"{source} is not a latency table (expected format '{TABLE_FORMAT}')")
        _check_fields(d, source)
        cal = d.get("calibration")
        return cls(
            device=d["device"], space=d["space"], space_fingerprint=d["space_fingerprint"],
            num_classes=d["num_classes"], batch_size=d["batch_size"], resolutions=list(d["resolutions"]),
            provenance=dict(d.get("provenance") or {}), entries=d["entries"],
            calibration=None if cal is None else Calibration(
                float(cal["scale"]), float(cal["offset_ms"]),
                tuple((s, float(a), float(b)) for s, a, b in cal.get("points", []))),
            statistic=d.get("statistic", "median"),
            incomplete={int(r): dict(m) for r, m in (d.get("incomplete") or {}).items()},
        )

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


_FIELDS = ("format", "device", "space", "space_fingerprint", "num_classes", "batch_size", "resolutions", "statistic",
           "provenance", "calibration", "incomplete", "entries")
LONGEST_MS = 1e6     # no part or model runs for more than 1,000 s
LARGEST_SCALE = 1e3  # a calibration scale beyond 1/1000..1000 is no calibration but a mistake


def _check_fields(d: dict[str, Any], source: str) -> None:
    """Every field of a table's plain data: names, counts, the resolutions (distinct), the statistic,
    each entry's times (finite, 0 to LONGEST_MS, the table's statistic present), the calibration."""
    f = fields
    f.mapping(d, source, _FIELDS, required=("device", "space", "space_fingerprint", "num_classes", "batch_size",
                                            "resolutions", "entries"))
    f.name(d["device"], f"{source}: device")
    f.name(d["space"], f"{source}: space")
    f.text(d["space_fingerprint"], f"{source}: space_fingerprint")
    f.whole(d["num_classes"], f"{source}: num_classes", "classes")
    f.whole(d["batch_size"], f"{source}: batch_size", "batch_size")
    res = f.items(d["resolutions"], f"{source}: resolutions", "a non-empty list of resolutions")
    for r in res:
        f.whole(r, f"{source}: resolutions", "resolution")
    if len(set(res)) != len(res):
        raise f.fail(f"{source}: resolutions", "distinct resolutions", res)
    statistic = f.text(d.get("statistic", "median"), f"{source}: statistic", STATISTICS)
    if d.get("provenance") is not None and not isinstance(d["provenance"], dict):
        raise f.fail(f"{source}: provenance", "a mapping", d["provenance"])
    entries = d["entries"]
    if not isinstance(entries, dict):
        raise f.fail(f"{source}: entries", "a mapping of part keys to times", entries)
    wanted = f"{statistic}_ms"
    for key, entry in entries.items():
        where = f"{source}: entries.{key[:80]}"
        if not isinstance(entry, dict) or wanted not in entry:
            raise f.fail(where, f"a mapping with '{wanted}' (the table's statistic)", entry)
        for name, value in entry.items():
            if name == "runs":
                f.whole(value, f"{where}.runs", "runs")
            elif name.endswith("_ms"):
                f.real(value, f"{where}.{name}", 0, LONGEST_MS, what=f"milliseconds from 0 to {LONGEST_MS:g}")
            else:
                raise OfaError(f"{where}.{name}: unknown field; known: runs and *_ms times")
    cal = d.get("calibration")
    if cal is not None:
        f.mapping(cal, f"{source}: calibration", ("scale", "offset_ms", "points"), required=("scale", "offset_ms"))
        f.real(cal["scale"], f"{source}: calibration.scale", 1 / LARGEST_SCALE, LARGEST_SCALE,
               what=f"a number from {1 / LARGEST_SCALE:g} to {LARGEST_SCALE:g}")
        f.real(cal["offset_ms"], f"{source}: calibration.offset_ms", -LONGEST_MS, LONGEST_MS,
               what=f"milliseconds from {-LONGEST_MS:g} to {LONGEST_MS:g}")
        for i, point in enumerate(f.items(cal.get("points", []), f"{source}: calibration.points", "a list", empty=True)):
            where = f"{source}: calibration.points[{i}]"
            if not isinstance(point, list) or len(point) != 3 or not isinstance(point[0], str):
                raise f.fail(where, "[subnet, sum of parts ms, measured ms]", point)
            for value in point[1:]:
                f.real(value, where, 0, LONGEST_MS, what=f"milliseconds from 0 to {LONGEST_MS:g}")
    incomplete = d.get("incomplete") or {}
    if not isinstance(incomplete, dict):
        raise f.fail(f"{source}: incomplete", "a mapping of resolutions to missing parts", incomplete)
    for r, missing in incomplete.items():
        if not r.isascii() or not r.isdigit() or int(r) not in res:
            raise f.fail(f"{source}: incomplete", "resolutions of the table as keys", r)
        if not isinstance(missing, dict) or not all(isinstance(v, str) for v in missing.values()):
            raise f.fail(f"{source}: incomplete.{r}", "a mapping of part keys to source names", missing)


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


def check_table_out(path: str | Path, what: str = "--out") -> Path:
    """Before any measuring: a table may be written at `path`: the place is free, or holds a
    table ofa wrote (its format says so); anything else there is refused, never replaced."""
    path = Path(path)
    check_writable_file(path, what)
    if path.exists():
        try:
            ours = read_json(path, "latency table").get("format") == TABLE_FORMAT
        except (OfaError, AttributeError):
            ours = False
        if not ours:
            raise OfaError(f"{what} {path} holds a file that is not a latency table ofa wrote; it is not replaced "
                           f"(move it away or choose another {what})")
    return path


def save_table(table: LatencyTable, path: str | Path) -> Path:
    """Atomic write: a crash mid-write leaves the previous table intact."""
    return write_json(path, table.to_dict(), indent=1)


def source_text(table: LatencyTable) -> str:
    """Where a table's numbers come from, in a few words (model cards, `ofa latency show`)."""
    p = table.provenance
    if p.get("backend") == "fitted":
        cv = (p.get("fit") or {}).get("cross_validated") or {}
        error = f", leave-one-out MAPE {cv['mape']:.1f}%" if isinstance(cv.get("mape"), (int, float)) else ""
        prior = f", {p['prior']['device']}'s table as prior" if isinstance(p.get("prior"), dict) else ""
        return f"fitted from {p.get('measurements')} whole subnets measured on the device{prior}{error}"
    if p.get("format") == "kit":
        return f"measured part by part by a kit's runner on host {p.get('host')!r}"
    if p.get("format") == "ofa":
        return "imported from once-for-all's published lookup tables"
    return f"measured part by part on host {p.get('host')!r}"
