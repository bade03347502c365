"""Build a latency table: measure every distinct part, then fit the calibration on whole subnets.
Resumable: entries already in the file are kept, and the file is saved as work goes on."""

from __future__ import annotations

import datetime as dt
import platform
import socket
from pathlib import Path
from typing import Callable

import numpy as np

from ofa import __version__
from ofa.devices import DeviceProfile
from ofa.errors import OfaError
from ofa.latency.backends import get_backend
from ofa.latency.host import cpu_name, machine_id, this_host
from ofa.latency.measure import measure_many, measure_subnets, part_item
from ofa.families.parts import all_parts
from ofa.latency.predict import LatencyPredictor
from ofa.latency.table import (CALIBRATION_SUBNETS, DEFAULT_CLASSES, Calibration, LatencyTable, check_table_out,
                               load_table, save_table)
from ofa.outputs import output_lock
from ofa.spaces import Space, Subnet, sample_subnet

Progress = Callable[[str, int, int], None]  # (what, done, total)


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


def provenance(profile: DeviceProfile) -> dict:
    backend = get_backend(profile.backend)
    return {
        "profile": profile.to_dict(),
        "backend": backend.name, "backend_version": backend.version(),
        "host": socket.gethostname(), "platform": platform.platform(), "cpu": cpu_name(), "machine": machine_id(),
        "ofa_version": __version__, "created": _now(),
    }


def resolutions_for(space: Space, profile: DeviceProfile, wanted: list[int] | None) -> list[int]:
    """Explicit resolutions, else the profile's resolutions of interest that the space has,
    else all of the space's."""
    if wanted:
        bad = [r for r in wanted if r not in space.resolutions]
        if bad:
            raise OfaError(f"resolution(s) {bad} are not in space '{space.name}' (allowed: {list(space.resolutions)})")
        return sorted(set(wanted))
    common = [r for r in profile.resolutions if r in space.resolutions]
    return common or list(space.resolutions)




def build_table(path: Path, profile: DeviceProfile, space: Space, resolutions: list[int] | None = None,
                num_classes: int = DEFAULT_CLASSES, calibration_subnets: int = CALIBRATION_SUBNETS,
                force: bool = False, progress: Progress | None = None) -> tuple[LatencyTable, int]:
    """Measure the parts a table at `path` lacks (resuming one measured the same way), then fit its
    calibration; returns the table and how many parts were measured now. Only a table is replaced,
    and one command at a time writes it."""
    check_table_out(path)
    with output_lock(path):
        table = open_table(path, profile, space, resolutions_for(space, profile, resolutions), num_classes, force)
        measured = measure_parts(table, space, profile, path, progress)
        if calibration_subnets:
            calibrate(table, space, profile, path, calibration_subnets, progress=progress)
    return table, measured


# Profile fields that change what a measurement means: entries taken under others do not mix.
MEASUREMENT_FIELDS = ("backend", "precision", "batch_size", "threads", "warmup", "iterations", "rounds", "statistic")


def check_same_measurement(table: LatencyTable, profile: DeviceProfile, source: str, remedy: str) -> None:
    """Refuse to mix a table's timings with new ones taken another way."""
    then = {"statistic": table.statistic, **table.provenance.get("profile", {})}
    for f in MEASUREMENT_FIELDS:
        if then.get(f) != getattr(profile, f):
            raise OfaError(f"{source} was measured with {f}={then.get(f)!r}, but device profile "
                           f"'{profile.name}' now says {getattr(profile, f)!r}; {remedy}")


def open_table(path: Path, profile: DeviceProfile, space: Space, resolutions: list[int],
               num_classes: int, force: bool) -> LatencyTable:
    """Resume the table at `path` if it is for the same device, space, head and way of measuring;
    else start one."""
    fresh = LatencyTable(profile.name, space.name, space.fingerprint(), num_classes, profile.batch_size,
                         sorted(resolutions), provenance(profile), statistic=profile.statistic)
    if not path.exists() or force:
        return fresh
    table = load_table(path).check(profile.name, space.name, space.fingerprint(), str(path))
    if (table.num_classes, table.batch_size) != (num_classes, profile.batch_size):
        raise OfaError(f"{path} was measured with {table.num_classes} classes and batch {table.batch_size}; "
                       f"pass --force to start again")
    check_same_measurement(table, profile, str(path), "pass --force to measure again")
    table.resolutions = sorted(set(table.resolutions) | set(resolutions))
    table.provenance["updated"] = _now()
    return table


def measure_parts(table: LatencyTable, space: Space, profile: DeviceProfile, path: Path,
                  progress: Progress | None = None, chunk: int = 200) -> int:
    """Measure the parts the table lacks, `chunk` at a time (interleaved), saving after each
    chunk; returns how many were measured now. Chunks are large and shuffled: a machine's speed
    can change every second or so, and a chunk of small parts that all ran in one slow second
    would bias every part of one resolution alike."""
    todo = [p for p in all_parts(space, table.resolutions, table.num_classes) if p.key not in table.entries]
    todo = [todo[i] for i in np.random.default_rng(0).permutation(len(todo))]
    for start in range(0, len(todo), chunk):
        batch = todo[start : start + chunk]
        stats = measure_many([part_item(part, profile) for part in batch], profile)
        for part, st in zip(batch, stats):
            table.entries[part.key] = st.to_dict()
        save_table(table, path)
        if progress:
            progress("parts", min(start + chunk, len(todo)), len(todo))
    if not todo:
        save_table(table, path)
    return len(todo)


def theil_sen(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Robust line fit: slope = median of all pairwise slopes, offset = median residual."""
    i, j = np.triu_indices(len(x), k=1)
    keep = x[j] != x[i]
    if not keep.any():
        return 1.0, float(np.median(y - x))
    slope = float(np.median((y[j] - y[i])[keep] / (x[j] - x[i])[keep]))
    return slope, float(np.median(y - slope * x))


def calibration_subnets(space: Space, resolutions: list[int], count: int, seed: int = 10_000) -> list[Subnet]:
    """`count` (at least 2) random subnets at `resolutions`, the largest and smallest among them, shuffled."""
    sub_space = space.restrict(resolutions=resolutions)
    rng = np.random.default_rng(seed)
    subnets = [sample_subnet(sub_space, "max"), sample_subnet(sub_space, "min")]
    subnets += [sample_subnet(sub_space, "uniform", rng) for _ in range(max(0, count - 2))]
    return [subnets[i] for i in rng.permutation(len(subnets))]


def fit_calibration(summed: np.ndarray, measured: np.ndarray) -> tuple[float, float]:
    """measured = scale * summed + offset by Theil-Sen; a pure scale where noise hides the slope."""
    x, y = np.asarray(summed, float), np.asarray(measured, float)
    scale, offset = theil_sen(x, y) if len(x) >= 2 else (1.0, 0.0)
    if scale <= 0:  # timings too noisy to show a slope (a few runs each): a pure scale still holds
        scale, offset = float(np.median(y / x)), 0.0
    return float(scale), float(offset)


def calibrate(table: LatencyTable, space: Space, profile: DeviceProfile, path: Path, count: int,
              seed: int = 10_000, progress: Progress | None = None) -> Calibration:
    """Fit measured = scale * sum_of_parts + offset on `count` random subnets; the largest and
    smallest are among them so the fit spans the whole range. The fit is Theil-Sen (median of
    pairwise slopes): one subnet measured in a slow moment cannot tilt it."""
    subnets = calibration_subnets(space, table.complete_resolutions, count, seed)
    table.calibration = None
    predictor = LatencyPredictor(table, space)
    summed = predictor.predict(subnets, calibrated=False)
    measured = measure_subnets(space, subnets, profile, table.num_classes, progress=progress, what="calibration")
    x, y = np.asarray(summed), np.asarray(measured)
    scale, offset = fit_calibration(x, y)
    table.calibration = Calibration(float(scale), float(offset),
                                    tuple((str(s), float(a), float(b)) for s, a, b in zip(subnets, x, y)))
    table.provenance["calibrated"] = _now()
    table.provenance["calibrated_on"] = this_host()
    save_table(table, path)
    return table.calibration
