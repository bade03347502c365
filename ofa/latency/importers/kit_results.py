"""A measuring kit's results (ofa.latency.kit), timed on the device by its runner, as an ordinary
calibrated table: the parts' timings as entries, the whole subnets as the calibration, the
device's host and runtime as provenance (so a table measured by a kit on this very machine is not
recalibrated here)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np

from ofa import __version__
from ofa.devices import DeviceProfile
from ofa.errors import OfaError
from ofa.files import file_sha256
from ofa.latency.build import check_same_measurement, fit_calibration
from ofa.latency.kit_files import read_results
from ofa.latency.predict import LatencyPredictor
from ofa.latency.table import Calibration, LatencyTable
from ofa.spaces import Space, to_subnet

NAME = "kit"
SUMMARY = "a measuring kit's results.json (`ofa latency kit`, then its run_kit.py on the device)"


def import_tables(paths: list[Path], profile: DeviceProfile, space: Space) -> LatencyTable:
    if len(paths) != 1:
        raise OfaError(f"give one kit's results.json (or its folder), got {len(paths)} paths")
    kit, results = read_results(paths[0], profile, space)
    source = Path(paths[0]) / "results.json" if Path(paths[0]).is_dir() else Path(paths[0])
    parts = [m for m in kit["models"] if m["kind"] == "part"]
    if not parts:
        raise OfaError(f"{source}: a kit of whole subnets only; fit a device model from it with: ofa latency fit "
                       f"--device {profile.name} --space {space.name} --measured {source}")
    settings = kit.get("settings") or {}
    statistic = settings.get("statistic", profile.statistic)
    times = results["results"]
    table = LatencyTable(
        device=profile.name, space=space.name, space_fingerprint=space.fingerprint(), num_classes=kit["num_classes"],
        batch_size=kit["batch_size"], resolutions=sorted(kit["resolutions"]), statistic=statistic,
        entries={m["name"]: dict(times[m["id"]]) for m in parts},
        provenance={
            "source": "a measuring kit, run on the device", "format": "kit", "profile": kit.get("profile") or {},
            "backend": kit.get("runtime"), "runtime": results["runtime"], "host": results["host"].get("host"),
            "cpu": results["host"].get("cpu"), "machine": results["host"].get("machine"),
            "device_host": results["host"], "kit_id": kit["kit_id"], "results_sha256": file_sha256(source),
            "measured": {"started": results.get("started"), "finished": results.get("updated")},
            "ofa_version": __version__, "created": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        })
    check_same_measurement(table, profile, str(source), "write a new kit with `ofa latency kit`")
    subnets = [m for m in kit["models"] if m["kind"] == "subnet"]
    if len(subnets) >= 2:
        nets = [to_subnet(space, m["name"]) for m in subnets]
        summed = LatencyPredictor(table, space).predict(nets, calibrated=False)
        measured = np.asarray([times[m["id"]][f"{statistic}_ms"] for m in subnets])
        scale, offset = fit_calibration(summed, measured)
        table.calibration = Calibration(scale, offset, tuple((str(s), float(a), float(b))
                                                             for s, a, b in zip(nets, summed, measured)))
        table.provenance["calibrated_on"] = {k: results["host"].get(k) for k in ("host", "cpu", "machine", "gpu")}
    return table
