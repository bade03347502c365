"""Which machine a table speaks for, and whether a device is the machine we are on.

A table's parts stay right in ratio from one machine to a sibling, but its scale does not: moved
to another VM, a shipped CPU table over-predicted every subnet by about a third while ordering them
right, and one scale refitted there on 10 whole subnets mended it. So a table remembers the host it
was calibrated on, and a local device's table is recalibrated (a few whole subnets, seconds) before
it is trusted on another host."""

from __future__ import annotations

import hashlib
import platform
import socket
import uuid
from functools import lru_cache
from pathlib import Path

from ofa.devices import DeviceProfile
from ofa.latency.backends import get_backend
from ofa.latency.table import LatencyTable


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


@lru_cache(maxsize=1)
def _gpu_name() -> str | None:
    try:
        import torch

        return torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
    except Exception:  # a broken CUDA install must not stop CPU work
        return None


def _board_name() -> str | None:
    try:  # Jetson and other device-tree boards name themselves here
        return Path("/proc/device-tree/model").read_text().strip("\x00\n ") or None
    except OSError:
        return None


@lru_cache(maxsize=1)
def machine_id() -> str:
    """A short hash of the OS install's machine-id and a network card's address: VMs cloned from
    one image share a host name and CPU model, rarely both of these."""
    try:
        install = Path("/etc/machine-id").read_text().strip()
    except OSError:
        install = ""
    return hashlib.sha256(f"{install}:{uuid.getnode()}".encode()).hexdigest()[:12]


def this_host() -> dict[str, str | None]:
    """What a calibration is tied to: the host's name, its CPU, its machine id (and GPU, if any)."""
    return {"host": socket.gethostname(), "cpu": cpu_name(), "machine": machine_id(), "gpu": _gpu_name()}


def calibrated_on(table: LatencyTable) -> dict[str, str | None]:
    """The host a table's calibration was fitted on (else the one its parts were measured on)."""
    where = table.provenance.get("calibrated_on")
    if isinstance(where, dict):
        return where
    return {k: table.provenance.get(k) for k in ("host", "cpu", "machine")}


def same_host(a: dict, b: dict) -> bool:
    """Same name and CPU, and the same machine id where both record one (older tables do not)."""
    keys = ["host", "cpu"] + (["machine"] if a.get("machine") and b.get("machine") else [])
    return all(a.get(k) == b.get(k) for k in keys)


def is_local(profile: DeviceProfile) -> bool:
    """Is the profile's device the machine we are on: its backend measures here and, for a
    profile pinned to hardware (`machine`), this machine's CPU, GPU or board name says so."""
    if not get_backend(profile.backend).available():
        return False
    if profile.machine is None:
        return True
    names = [n for n in (cpu_name(), _gpu_name(), _board_name()) if n]
    return any(profile.machine.lower() in n.lower() for n in names)


def needs_calibration(table: LatencyTable, profile: DeviceProfile) -> bool:
    """A local device's table built or calibrated on another host predicts this one at its peril."""
    return is_local(profile) and not same_host(calibrated_on(table), this_host())
