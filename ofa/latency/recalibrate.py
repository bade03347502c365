"""Tables for the device at hand: refit a table's calibration on this host, and open a device's
table for search or specialize, recalibrated first when it came from another host."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from ofa.devices import DeviceProfile, get_device
from ofa.errors import OfaError
from ofa.outputs import output_lock
from ofa.latency.backends import get_backend
from ofa.latency.build import DEFAULT_CLASSES, Progress, build_table, calibrate, check_same_measurement
from ofa.latency.host import calibrated_on, is_local, needs_calibration, this_host
from ofa.families.parts import all_parts
from ofa.latency.predict import LatencyPredictor
from ofa.latency.table import LatencyTable, check_table_out, default_table_path, find_table, has_table, load_table
from ofa.resources import data_dir
from ofa.spaces import Space

RECALIBRATION_SUBNETS = 10  # ten whole subnets fitted 30 others to MAPE 2.8% on a new VM (BENCHMARKS.md)


def _packaged(path: Path) -> bool:
    try:
        Path(path).resolve().relative_to(data_dir("latency").resolve())
    except ValueError:
        return False
    return True


def packaged_in_place(path: Path, device: str, space: str) -> bool:
    """Whether `path` is a packaged table whose recalibrated copy would replace it: in ofa's own
    checkout, the working folder's ./latency is where the packaged tables live."""
    return _packaged(path) and _packaged(default_table_path(device, space))


def writable_path(path: Path, device: str, space: str) -> Path:
    """A packaged table is never changed in place: its recalibrated copy goes to ./latency."""
    if not _packaged(path):
        return Path(path)
    if packaged_in_place(path, device, space):
        raise OfaError(f"{path} is one of ofa's packaged tables, and this folder's latency/ is where they live "
                       f"(ofa's own checkout): a recalibrated copy would replace it; run from another folder, "
                       f"where the copy goes to its latency/")
    return default_table_path(device, space)


def recalibrate(table: LatencyTable, space: Space, profile: DeviceProfile, path: Path,
                count: int = RECALIBRATION_SUBNETS, progress: Progress | None = None) -> Path:
    """Measure `count` whole subnets here and refit scale and offset; the parts stay as measured.
    Returns where the table was saved."""
    if count < 2:
        raise OfaError(f"a calibration needs at least 2 subnets, got {count}")
    get_backend(profile.backend).require()
    check_same_measurement(table, profile, str(path), f"rebuild it here with: ofa latency build --device "
                           f"{profile.name} --space {space.name} --force")
    out = check_table_out(writable_path(path, profile.name, space.name))
    with output_lock(out):
        calibrate(table, space, profile, out, count, progress=progress)
    return out


def _to_build(profile: DeviceProfile, space: Space, num_classes: int) -> bool:
    """No table anywhere, or the one in ./latency is a build stopped before it measured every part
    (one of another head or space, or unreadable, is left for the checks that follow to name)."""
    here = default_table_path(profile.name, space.name)
    if not here.is_file():
        return not has_table(profile.name, space.name)
    try:
        table = load_table(here)
    except OfaError:
        return False
    if (table.space, table.space_fingerprint) != (space.name, space.fingerprint()):
        return False
    return table.num_classes == num_classes and any(
        part.key not in table.entries for part in all_parts(space, table.resolutions, table.num_classes))


def build_here(profile: DeviceProfile, space: Space, num_classes: int, progress: Progress | None = None) -> Path:
    """Measure the table of a device that is this machine into ./latency, as `ofa latency build` does
    with its defaults (the profile's resolutions; continued if interrupted)."""
    get_backend(profile.backend).require()
    path = default_table_path(profile.name, space.name)
    build_table(path, profile, space, num_classes=num_classes, progress=progress)
    return path


def host_warning(table: LatencyTable, path: Path, profile: DeviceProfile, space: Space) -> str:
    then, now = calibrated_on(table), this_host()
    return (f"warning: {path} was calibrated on host {then.get('host')!r}, not on this one ({now['host']!r}): "
            "its latencies may be off by tens of percent here; "
            f"refit it in seconds with: ofa latency calibrate --device {profile.name} --space {space.name}")


def open_device_table(device: str, space: Space, table_path: str | Path | None = None,
                      auto_calibrate: bool = True, progress: Progress | None = None,
                      warn: Callable[[str], None] | None = None,
                      num_classes: int | None = None) -> tuple[LatencyPredictor, Path, DeviceProfile]:
    """A device's table (`table_path`, else ./latency, else packaged) checked against the device,
    the space and the head size (the head entry is timed with a given number of classes). When the
    device is this machine: with no finished table, one is measured here first (`auto_calibrate`);
    with one calibrated on another host, it is recalibrated first, or used as it is with a warning
    (`auto_calibrate=False`)."""
    profile = get_device(device)
    classes = num_classes or DEFAULT_CLASSES
    if table_path is None and auto_calibrate and is_local(profile) and _to_build(profile, space, classes):
        if warn:
            warn(f"no finished latency table for device '{profile.name}' and space '{space.name}': measuring one "
                 f"on this machine now (continued if interrupted; `ofa latency build` does the same)")
        table_path = build_here(profile, space, classes, progress)
    path = Path(table_path or find_table(profile.name, space.name))
    table = load_table(path).check(profile.name, space.name, space.fingerprint(), str(path))
    if table.batch_size != profile.batch_size:
        raise OfaError(f"{path} was measured at batch {table.batch_size}, device '{profile.name}' runs batch "
                       f"{profile.batch_size}: its latencies are of another workload; build one with: ofa latency "
                       f"build --device {profile.name} --space {space.name}")
    if num_classes is not None and table.num_classes != num_classes:
        raise OfaError(f"{path} times a {table.num_classes}-class head, the supernet has {num_classes} classes; "
                       f"build a table with: ofa latency build --device {profile.name} --space {space.name} "
                       f"--num-classes {num_classes}")
    if needs_calibration(table, profile):
        in_place = packaged_in_place(path, profile.name, space.name)
        if auto_calibrate and not in_place:
            if warn:
                warn(f"{path} was calibrated on another host; recalibrating it on this one "
                     f"({RECALIBRATION_SUBNETS} subnets)")
            path = recalibrate(table, space, profile, path, progress=progress)
        elif warn:
            warn(host_warning(table, path, profile, space) + ("; not recalibrated here: it is one of ofa's packaged "
                                                              "tables, which this folder holds (ofa's own checkout)"
                                                              if auto_calibrate else ""))
    return LatencyPredictor(table, space), path, profile
