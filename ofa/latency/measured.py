"""Whole subnets measured on a device, as `ofa latency fit` reads them: a kit's results.json (of a
kit written with `ofa latency kit --subnets-only`, or any kit's calibration subnets), or a text file
of lines `SUBNET MS` from any benchmark tool (`#` comments; a trailing `ms` allowed)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from ofa import fields
from ofa.devices import DeviceProfile
from ofa.errors import OfaError, shown
from ofa.files import file_sha256, parse_json
from ofa.latency.kit_files import read_results
from ofa.latency.table import LONGEST_MS
from ofa.spaces import Space, Subnet, to_subnet

LONGEST_FILE = 10_000_000  # bytes: a million measurements fit in far less
# a subnet, then a comma or spaces, then a plain decimal number of milliseconds
_LINE = re.compile(r"(.+?)[ \t,]+([-+]?[0-9]+(?:\.[0-9]*)?(?:[eE][-+]?[0-9]+)?)[ \t]*(?:ms)?", re.ASCII)


def _text_lines(path: Path, space: Space) -> list[tuple[Subnet, float]]:
    try:
        if path.stat().st_size > LONGEST_FILE:
            raise OfaError(f"{path}: over {LONGEST_FILE:,} bytes; not a file of measurements")
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise OfaError(f"{path}: cannot read ({getattr(e, 'strerror', None) or e})") from None
    rows = []
    for number, line in enumerate(text.splitlines(), 1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        where = f"{path} line {number}"
        m = _LINE.fullmatch(line)
        if not m:
            raise OfaError(f"{where}: expected 'SUBNET MS' (e.g. 'r160:k3e4-k5e6,... 12.5'), got {shown(line)}")
        head = m.group(1)
        ms = fields.real(float(m.group(2)), f"{where}: milliseconds", 0, LONGEST_MS, low_open=True,
                         what=f"a time above 0 ms, at most {LONGEST_MS:g}")
        try:
            subnet = to_subnet(space, head)
        except OfaError as e:
            raise OfaError(f"{where}: {e}") from None
        rows.append((subnet, ms))
    return rows


def _kit_rows(path: Path, profile: DeviceProfile, space: Space) -> list[tuple[Subnet, float]]:
    kit, results = read_results(path, profile, space)
    stat = f"{profile.statistic}_ms"  # a runner keeps every statistic: the one the device's table holds
    subnets = [m for m in kit["models"] if m["kind"] == "subnet"]
    if not subnets:
        raise OfaError(f"{path}: this kit timed no whole subnets; write one with `ofa latency kit --subnets-only`")
    return [(to_subnet(space, m["name"]), results["results"][m["id"]][stat]) for m in subnets]


def _is_kit_results(path: Path) -> bool:
    if path.is_dir():
        return True
    if path.suffix.lower() != ".json":
        return False
    try:
        doc: Any = parse_json(path.read_text(encoding="utf-8")[:LONGEST_FILE], str(path))
    except (OSError, UnicodeDecodeError, OfaError):
        return True  # read again below, to say what is wrong with it
    return isinstance(doc, dict) and "kit_id" in doc


def read_measured(path: Path, profile: DeviceProfile, space: Space) -> tuple[list[Subnet], list[float], dict]:
    """Distinct subnets with their times (one subnet measured several times: the mean of its times),
    and where they came from."""
    path = Path(path)
    if not path.exists():
        raise OfaError(f"measured file not found: {path}")
    if _is_kit_results(path):
        rows = _kit_rows(path, profile, space)
        path = path / "results.json" if path.is_dir() else path
    elif path.suffix.lower() == ".json":
        raise OfaError(f"{path}: expected a kit's results.json or a text file of 'SUBNET MS' lines")
    else:
        rows = _text_lines(path, space)
    if not rows:
        raise OfaError(f"{path}: no measurements in it (lines 'SUBNET MS')")
    times: dict[Subnet, list[float]] = {}
    for subnet, ms in rows:
        times.setdefault(subnet, []).append(ms)
    subnets = list(times)
    return subnets, [sum(t) / len(t) for t in times.values()], {
        "file": path.name, "sha256": file_sha256(path), "lines": len(rows), "subnets": len(subnets)}
