"""`ofa latency kit` and `ofa latency fit`: tables for devices ofa cannot run on (registered on the
`ofa latency` app by ofa.cli.latency_cmd)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.table import Table

from ofa.cli.latency_common import (CalibrationSubnets, NumClasses, Resolutions, TableOut, count_given, note,
                                     old_calibrate, resolve)
from ofa.cli.options import Device, Force, Json, Quiet, Seed, Space, limit
from ofa.errors import OfaError
from ofa.latency.table import CALIBRATION_SUBNETS, DEFAULT_CLASSES, check_table_out


def kit_cmd(
    ctx: typer.Context,
    device: Device,
    space: Space,
    out: Annotated[Path, typer.Option(
        "--out", "-o", help="Output folder: the kit (an earlier kit there is replaced only with --force).")],
    resolution: Resolutions = None,
    num_classes: NumClasses = DEFAULT_CLASSES,
    calibration_subnets: CalibrationSubnets = CALIBRATION_SUBNETS,
    old_calibrate: old_calibrate("kit") = None,
    subnets_only: Annotated[bool, typer.Option(
        "--subnets-only", help="Only -n whole subnets (for `ofa latency fit`), no parts.")] = False,
    n: Annotated[int, typer.Option(
        "-n", callback=limit("subnets", 2),
        help="With --subnets-only: how many subnets (the largest and smallest among them).")] = 20,
    seed: Seed = 10_000,
    force: Force = False,
    quiet: Quiet = False,
    as_json: Json = False,
) -> None:
    """Write a measuring kit for a device ofa cannot run on: ONNX models and a runner that needs only
    Python, numpy and the device's runtime (ONNX Runtime, or TensorRT's trtexec).

    On the device: `python KIT/run_kit.py` (shows progress, resumes). Back here:

      ofa latency import --format kit --device D --space S KIT/results.json     (a full table)

      ofa latency fit --device D --space S --measured KIT/results.json          (--subnets-only kits)

    With --json: one object {"kit": folder, "parts": int, "subnets": int (whole subnets), "resolutions":
    list of int, "megabytes": float (its models), "runtime": str, "seconds": float}.
    """
    import time

    from ofa.cli.progress import progress_bar
    from ofa.latency.build import resolutions_for
    from ofa.latency.kit import write_kit

    count = count_given(ctx, "calibration_subnets", calibration_subnets, old_calibrate)
    profile, space_ = resolve(device, space)
    start = time.perf_counter()
    with progress_bar(quiet) as progress:
        doc = write_kit(out, profile, space_, resolutions_for(space_, profile, resolution), num_classes,
                        count, n if subnets_only else None, seed, force, progress)
    took = time.perf_counter() - start
    parts = sum(m["kind"] == "part" for m in doc["models"])
    size = sum(f.stat().st_size for f in (out / "models").iterdir())
    next_step = f"next, on the device: python {out / 'run_kit.py'}   (see {out / 'README.md'})"
    if as_json:
        typer.echo(json.dumps({"kit": str(out), "parts": parts, "subnets": len(doc["models"]) - parts,
                               "resolutions": doc["resolutions"], "megabytes": round(size / 1e6, 3),
                               "runtime": doc["runtime"], "seconds": round(took, 3)}))
        if not quiet:
            note(next_step)
        return
    typer.echo(f"{out}: {parts} parts and {len(doc['models']) - parts} whole subnets at {doc['resolutions']} px, "
               f"{size / 1e6:.1f} MB, runtime {doc['runtime']}; {took:.1f} s")
    typer.echo(next_step)


def fit_cmd(
    device: Device,
    space: Space,
    measured: Annotated[Path, typer.Option(
        "--measured", "-m", help="Whole subnets measured on the device: a kit's results.json, or a text file of "
                                 "lines 'SUBNET MS'.")],
    prior: Annotated[Optional[str], typer.Option(
        "--prior", help="Another device's table to learn from: a device name (its table found as usual) or a "
                        "table file.")] = None,
    resolution: Annotated[Optional[list[int]], typer.Option(
        "--resolution", "-r", callback=limit("resolution"),
        help="Resolutions the table covers (repeat the flag); default: the device's, and those measured.")] = None,
    num_classes: Annotated[Optional[int], typer.Option(
        "--num-classes", callback=limit("classes"),
        help="Classifier size (default: the prior table's, else 1000).")] = None,
    out: TableOut = None,
    force: Force = False,
    as_json: Json = False,
) -> None:
    """Fit a device's latency table from a few whole subnets measured on it (K = 20 is plenty).

    The model is linear in what ofa knows of each part (another device's table given with --prior,
    MACs, weights, activations, layers), fitted to relative error; the features are chosen by
    leave-one-out error, and the report compares them with a plain linear fit on MACs and block
    count. The result is an ordinary table: search, specialize, validate and model cards use it.

      ofa latency kit --device jetson --space mbv3-w1.0 --subnets-only -n 20 --out kit/

      ofa latency fit --device jetson --space mbv3-w1.0 --measured kit/results.json --prior cpu

    With --json: the fit's report as one object {"table": path, "features": list of str, "weights": {feature:
    float}, "offset_ms": float, "measurements": int, "cross_validated": {"mape", "within_10pct",
    "spearman"}, "baseline": the same, "tried": {feature set: MAPE}}.
    """
    from ofa.latency.build import resolutions_for
    from ofa.latency.table import DEFAULT_CLASSES as CLASSES
    from ofa.latency.fit import fit_device
    from ofa.latency.measured import read_measured
    from ofa.latency.table import default_table_path, find_table, load_table, save_table

    profile, space_ = resolve(device, space)
    path = out or default_table_path(profile.name, space_.name)
    check_table_out(path)
    if path.exists() and not force:
        raise OfaError(f"{path} exists; pass --force to replace it, or --out to write elsewhere")
    prior_table = None
    if prior is not None:
        from ofa.devices import get_device

        prior_path = Path(prior) if prior.endswith(".json") else find_table(get_device(prior).name, space_.name)
        prior_table = load_table(prior_path)
        prior_table.check(prior_table.device, space_.name, space_.fingerprint(), f"--prior {prior_path}")
        if num_classes is not None and num_classes != prior_table.num_classes:
            raise OfaError(f"--prior {prior_path} times a {prior_table.num_classes}-class head, not --num-classes "
                           f"{num_classes}; give a prior of the same head, or leave out --num-classes")
    subnets, ms, source = read_measured(measured, profile, space_)
    wanted = resolution or sorted(set(resolutions_for(space_, profile, None)) | {s.resolution for s in subnets})
    if prior_table is not None and not resolution:
        wanted = [r for r in wanted if r in prior_table.complete_resolutions]
    outside = sorted({s.resolution for s in subnets} - set(wanted))
    if outside:
        raise OfaError(f"subnets measured at {outside} px, outside the table's resolutions {wanted}"
                       + (" (where the prior table is complete)" if prior_table is not None else ""))
    classes = num_classes or (prior_table.num_classes if prior_table is not None else CLASSES)
    table, report = fit_device(space_, profile, subnets, ms, classes, wanted, prior_table, source)
    save_table(table, path)
    if as_json:
        typer.echo(json.dumps({"table": str(path), **report.to_dict()}))
        return
    cv, base = report.cross_validated, report.baseline
    grid = Table(f"{report.measurements} subnets, leave-one-out", "MAPE %", "within ±10% (%)", "Spearman")
    grid.add_row("fitted: " + " + ".join(report.features), f"{cv.mape:.2f}", f"{cv.within_10pct:.0f}",
                 f"{cv.spearman:.3f}")
    grid.add_row("linear on MACs and blocks", f"{base.mape:.2f}", f"{base.within_10pct:.0f}", f"{base.spearman:.3f}")
    Console().print(grid)
    typer.echo(f"{path}: {len(table.entries)} entries at {table.resolutions} px, fitted from {report.measurements} "
               f"subnets" + (f" with {prior_table.device}'s table as prior" if prior_table is not None else ""))
