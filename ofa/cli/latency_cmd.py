"""`ofa latency`: build, inspect, use and validate per-device latency lookup tables."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.table import Table

from ofa.cli.latency_common import (CalibrationSubnets, NumClasses, Resolutions, TableFile, TableOut, count_given, note,
                                     old_calibrate, resolve)
from ofa.cli.latency_remote_cmd import fit_cmd, kit_cmd
from ofa.cli.options import Device, Force, Json, Quiet, Seed, Space, limit
from ofa.errors import OfaError
from ofa.files import write_json
from ofa.outputs import check_own_files
from ofa.latency.table import CALIBRATION_SUBNETS, DEFAULT_CLASSES, check_table_out


app = typer.Typer(
    help=(
        "Per-device latency lookup tables. `build` measures every distinct block of a space on a "
        "device (resumable), fits a calibration on whole subnets, and writes "
        "latency/<device>/<space>.json; `validate` checks predictions against end-to-end measurement. "
        "For a device ofa cannot run on: `kit` writes ONNX models and a runner that needs neither ofa nor "
        "torch, `import --format kit` reads its results back, and `fit` builds a table from a few whole "
        "subnets timed there with any tool."
    ),
    no_args_is_help=True,
)

def _calibration(cal) -> Optional[dict]:
    return None if cal is None else {"scale": cal.scale, "offset_ms": cal.offset_ms}


def _load(profile, space, table_path: Optional[Path]):
    from ofa.latency.table import find_table, load_table

    path = Path(table_path or find_table(profile.name, space.name))
    return path, load_table(path).check(profile.name, space.name, space.fingerprint(), str(path))


@app.command("build")
def build_cmd(
    ctx: typer.Context,
    device: Device,
    space: Space,
    resolution: Resolutions = None,
    num_classes: NumClasses = DEFAULT_CLASSES,
    calibration_subnets: CalibrationSubnets = CALIBRATION_SUBNETS,
    old_calibrate: old_calibrate("build") = None,
    out: TableOut = None,
    force: Annotated[bool, typer.Option("--force", help="Start over instead of resuming an existing table.")] = False,
    quiet: Quiet = False,
    as_json: Json = False,
) -> None:
    """Measure a latency table. Re-running resumes: measured entries are kept.

    With --json: one object {"table": path, "entries": int, "measured_now": int, "resolutions": list of int,
    "calibration": {"scale", "offset_ms"} or null (the table's), "seconds": float}.
    """
    import time

    from ofa.cli.progress import progress_bar
    from ofa.latency.build import build_table
    from ofa.latency.table import default_table_path

    count = count_given(ctx, "calibration_subnets", calibration_subnets, old_calibrate)
    profile, space_ = resolve(device, space)
    path = out or default_table_path(profile.name, space_.name)
    if path.is_dir():
        raise OfaError(f"--out {path} is a folder; give the table's file name (e.g. {path / (space_.name + '.json')})")
    check_table_out(path)  # before minutes of measuring
    start = time.perf_counter()
    with progress_bar(quiet) as progress:
        table, measured = build_table(path, profile, space_, resolution, num_classes, count, force, progress)
    took = time.perf_counter() - start
    if as_json:
        typer.echo(json.dumps({"table": str(path), "entries": len(table.entries), "measured_now": measured,
                               "resolutions": table.resolutions, "calibration": _calibration(table.calibration),
                               "seconds": round(took, 3)}))
        return
    msg = f"{path}: {len(table.entries)} entries ({measured} measured now) at resolutions {table.resolutions}"
    if count:
        cal = table.calibration
        msg += f"; calibration: measured = {cal.scale:.3f} x sum + {cal.offset_ms:.3f} ms"
    typer.echo(f"{msg}; {took:.1f} s")


@app.command("calibrate")
def calibrate_cmd(
    device: Device,
    space: Space,
    table: TableFile = None,
    n: Annotated[int, typer.Option(
        "-n", callback=limit("subnets", 2),
        help="Whole subnets to measure (the largest and smallest among them).")] = 10,
    quiet: Quiet = False,
    as_json: Json = False,
) -> None:
    """Refit a table's calibration on this machine, in seconds, and record the host.

    A table's parts keep their ratios from one machine to a sibling, but not their scale. Run this
    when a table came from another machine (the shipped ones did); `ofa search` and `ofa specialize`
    do it themselves for a local device's table calibrated elsewhere. A packaged table is left as
    it is: the recalibrated copy goes to latency/<device>/<space>.json.

    With --json: one object {"table": path written, "scale": float, "offset_ms": float, "host": str,
    "subnets": int, "seconds": float, "previous": {"scale", "offset_ms"} or null}.
    """
    import time

    from ofa.cli.progress import progress_bar
    from ofa.latency.recalibrate import recalibrate

    profile, space_ = resolve(device, space)
    path, t = _load(profile, space_, table)
    before = t.calibration
    start = time.perf_counter()
    with progress_bar(quiet) as progress:
        out = recalibrate(t, space_, profile, path, n, progress)
    took = time.perf_counter() - start
    cal, host = t.calibration, t.provenance["calibrated_on"]["host"]
    if as_json:
        typer.echo(json.dumps({"table": str(out), "scale": cal.scale, "offset_ms": cal.offset_ms, "host": host,
                               "subnets": len(cal.points), "seconds": round(took, 3),
                               "previous": _calibration(before)}))
        return
    was = f" (was {before.scale:.3f} x sum + {before.offset_ms:.3f} ms)" if before else ""
    typer.echo(f"{out}: measured = {cal.scale:.3f} x sum + {cal.offset_ms:.3f} ms on host "
               f"{host}{was}; {len(cal.points)} subnets, {took:.1f} s")


@app.command("import")
def import_cmd(
    sources: Annotated[list[Path], typer.Argument(
        help="The source's table files, or the folder that holds them.")],
    fmt: Annotated[str, typer.Option(
        "--format", help="Source format: ofa (once-for-all's <resolution>_lookup_table.yaml files) or kit "
                         "(a measuring kit's results.json).")],
    device: Device,
    space: Space,
    out: TableOut = None,
    force: Force = False,
    as_json: Json = False,
) -> None:
    """Import latency tables measured by another tool as an ordinary table.

    Each part of the space (stem, first block, elastic blocks, head) becomes the sum of the source
    entries it is made of; the source files' names and hashes go into the table's provenance. A
    resolution whose source lacks parts is imported as incomplete: search keeps to the complete
    ones, and predicting a subnet there names the part it lacks.

      ofa latency import --format ofa --device note10 --space mbv3-w1.2 ofa/note10/

      ofa latency import --format kit --device jetson --space mbv3-w1.0 kit/results.json

    With --json: one object {"table": path, "entries": int, "resolutions": list of int, "smallest_ms": float,
    "largest_ms": float, "calibration": {"scale", "offset_ms"} or null, "incomplete": {resolution: parts
    lacking}}; the notes on incomplete resolutions and truncated files go to stderr.
    """
    from ofa.latency.importers import import_table
    from ofa.latency.predict import LatencyPredictor
    from ofa.latency.table import default_table_path, save_table

    profile, space_ = resolve(device, space)
    path = out or default_table_path(profile.name, space_.name)
    check_table_out(path)
    if path.exists() and not force:
        raise OfaError(f"{path} exists; pass --force to replace it, or --out to write elsewhere")
    table = import_table(fmt, sources, profile, space_)
    lo, hi = LatencyPredictor(table, space_).extremes()
    save_table(table, path)
    say = note if as_json else typer.echo
    if as_json:
        typer.echo(json.dumps({"table": str(path), "entries": len(table.entries), "resolutions": table.resolutions,
                               "smallest_ms": round(float(lo), 4), "largest_ms": round(float(hi), 4),
                               "calibration": _calibration(table.calibration),
                               "incomplete": {str(r): len(m) for r, m in sorted(table.incomplete.items())}}))
    files = table.provenance.get("files", [])
    if not as_json:
        what = (f"{table.statistic} of the source's timings, plain sum" if table.calibration is None else
                f"calibrated: measured = {table.calibration.scale:.3f} x sum + {table.calibration.offset_ms:.3f} ms")
        typer.echo(f"{path}: " + (f"{len(files)} files, " if files else "") + f"{len(table.entries)} entries at "
                   f"{table.resolutions} px; smallest subnet {lo:.2f} ms, largest {hi:.2f} ms ({what})")
    for r, lacking in sorted(table.incomplete.items()):
        say(f"  {r} px incomplete: {len(lacking)} parts lack a source entry (first: {next(iter(lacking.values()))}); "
            f"search keeps to the other resolutions")
    for f in files:
        if f["truncated"]:
            say(f"  {f['name']} ends inside an entry: that last entry was left out")


@app.command("show")
def show_cmd(device: Device, space: Space, table: TableFile = None, as_json: Json = False) -> None:
    """Show a table's provenance, size and calibration.

    With --json: one object {"path", "source", "entries", "resolutions", "num_classes", "batch_size",
    "provenance": {...}, "incomplete": {resolution: parts lacking}, "calibration": {"scale", "offset_ms",
    "subnets"} or null}.
    """
    profile, space_ = resolve(device, space)
    path, t = _load(profile, space_, table)
    from ofa.latency.table import source_text

    info = {"path": str(path), "source": source_text(t), "entries": len(t.entries), "resolutions": t.resolutions,
            "num_classes": t.num_classes, "batch_size": t.batch_size, "provenance": t.provenance,
            "incomplete": {r: len(m) for r, m in t.incomplete.items()},
            "calibration": None if t.calibration is None else
            {"scale": t.calibration.scale, "offset_ms": t.calibration.offset_ms, "subnets": len(t.calibration.points)}}
    typer.echo(json.dumps(info, indent=2) if as_json else "\n".join(
        f"{k}: {v}" for k, v in info.items() if k != "provenance") + "\n" + "\n".join(
        f"  {k}: {v}" for k, v in t.provenance.items() if k != "profile"))


@app.command("predict")
def predict_cmd(
    subnets: Annotated[list[str], typer.Argument(
        help="Subnets: 'max', 'min', or compact strings like r160:k3e4-...,...")],
    device: Device,
    space: Space,
    table: TableFile = None,
    as_json: Json = False,
) -> None:
    """Predict the latency of subnets from the table (calibrated when the table has a calibration).

    With --json: one object per line, per subnet {"subnet": str, "sum_of_parts_ms": float,
    "predicted_ms": float}.
    """
    from ofa.latency.predict import LatencyPredictor
    from ofa.spaces import to_subnet

    profile, space_ = resolve(device, space)
    _, t = _load(profile, space_, table)
    nets = [to_subnet(space_, s) for s in subnets]
    predictor = LatencyPredictor(t, space_)
    summed, calibrated = predictor.predict(nets, calibrated=False), predictor.predict(nets)
    for net, a, b in zip(nets, summed, calibrated):
        row = {"subnet": str(net), "sum_of_parts_ms": round(float(a), 4), "predicted_ms": round(float(b), 4)}
        typer.echo(json.dumps(row) if as_json else f"{b:8.3f} ms  {net}")


@app.command("validate")
def validate_cmd(
    device: Device,
    space: Space,
    table: TableFile = None,
    n: Annotated[int, typer.Option(
        "-n", callback=limit("subnets", 2), help="Random subnets to measure end to end.")] = 200,
    seed: Seed = 0,
    out: Annotated[Optional[Path], typer.Option(
        "--out", "-o", help="Output folder: the report (<space>.validate.json) and plot (<space>.validate.png) "
                            "go there (default: beside the table).")] = None,
    quiet: Quiet = False,
    as_json: Json = False,
) -> None:
    """Measure random subnets end to end; report MAPE, share within ±10% and Kendall tau, and plot.

    With --json: one object {"report": path, "plot": path, "subnets": int, "sum_of_parts": {"mape",
    "within_10pct", "kendall_tau"}, "calibrated": the same or null (no calibration)}; MAPE and
    within_10pct are in %.
    """
    from ofa.cli.progress import progress_bar
    from ofa.latency.validate import plot_validation, validate

    profile, space_ = resolve(device, space)
    path, t = _load(profile, space_, table)
    folder = out or path.parent
    stem = f"{space_.name}.validate"
    # before minutes of measuring; an earlier report is replaced, nothing else
    check_own_files(folder, (f"{stem}.json", f"{stem}.png"), f"{stem}.json", ("before", "subnets"), "--out")
    with progress_bar(quiet) as progress:
        v = validate(t, space_, profile, n, seed, progress)
    report = folder / f"{stem}.json"
    write_json(report, v.to_dict(), indent=1)
    plot = plot_validation(v, f"{profile.name} / {space_.name}: {n} subnets", folder / f"{stem}.png")
    if as_json:
        accuracy = lambda acc: None if acc is None else {  # noqa: E731
            "mape": acc.mape, "within_10pct": acc.within_10pct, "kendall_tau": acc.kendall_tau}
        typer.echo(json.dumps({"report": str(report), "plot": str(plot), "subnets": n,
                               "sum_of_parts": accuracy(v.before), "calibrated": accuracy(v.after)}))
        return
    grid = Table("prediction", "MAPE %", "within ±10% (%)", "Kendall tau")
    for name, acc in (("sum of parts", v.before), ("calibrated", v.after)):
        if acc is not None:
            grid.add_row(name, f"{acc.mape:.2f}", f"{acc.within_10pct:.1f}", f"{acc.kendall_tau:.3f}")
    Console().print(grid)
    typer.echo(f"report: {report}  plot: {plot}")


app.command("kit")(kit_cmd)
app.command("fit")(fit_cmd)
