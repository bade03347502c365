"""`ofa latency`: build, inspect, use and validate per-device latency lookup tables."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.table import Table

from ofa.cli.options import limit
from ofa.latency.build import CALIBRATION_SUBNETS, DEFAULT_CLASSES
from ofa.errors import OfaError
from ofa.files import check_own_files, write_json
from ofa.latency.table import check_table_out


app = typer.Typer(
    help=(
        "Per-device latency lookup tables. `build` measures every distinct block of a space on a "
        "device (resumable), fits a calibration on whole subnets, and writes "
        "latency/<device>/<space>.json; `validate` checks predictions against end-to-end measurement."
    ),
    no_args_is_help=True,
)

DEVICE = typer.Option(..., "--device", "-d", help="Device profile name or alias (see `ofa devices list`).")
SPACE = typer.Option(..., "--space", "-s", help="Search space name (see `ofa spaces list`) or YAML file.")
TABLE = typer.Option(None, "--table", help="Table file (default: latency/<device>/<space>.json, then the packaged one).")


def _resolve(device: str, space: str):
    from ofa.devices import get_device
    from ofa.spaces import get_space

    return get_device(device), get_space(space)


def _load(profile, space, table_path: Optional[Path]):
    from ofa.latency.table import find_table, load_table

    path = Path(table_path or find_table(profile.name, space.name))
    return path, load_table(path).check(profile.name, space.name, space.fingerprint(), str(path))


@app.command("build")
def build_cmd(
    device: str = DEVICE,
    space: str = SPACE,
    resolution: Optional[list[int]] = typer.Option(
        None, "--resolution", "-r", callback=limit("resolution"), help="Resolution to measure (repeat the flag); default: the device's resolutions of interest."),
    num_classes: int = typer.Option(DEFAULT_CLASSES, callback=limit("classes"), help="Classifier size of the head entry."),
    calibration_subnets: int = typer.Option(CALIBRATION_SUBNETS, "--calibrate", "-k", callback=limit("subnets", 0), help="Whole subnets measured to fit the calibration (0: none)."),
    out: Optional[Path] = typer.Option(None, help="Output file (default: latency/<device>/<space>.json)."),
    force: bool = typer.Option(False, help="Start over instead of resuming an existing table."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress output."),
) -> None:
    """Measure a latency table. Re-running resumes: measured entries are kept."""
    import time

    from ofa.cli.progress import progress_bar
    from ofa.latency.build import build_table
    from ofa.latency.table import default_table_path

    profile, space_ = _resolve(device, space)
    path = out or default_table_path(profile.name, space_.name)
    if path.is_dir():
        raise OfaError(f"--out {path} is a folder; give the table's file name (e.g. {path / (space_.name + '.json')})")
    check_table_out(path)  # before minutes of measuring
    start = time.perf_counter()
    with progress_bar(quiet) as progress:
        table, measured = build_table(path, profile, space_, resolution, num_classes, calibration_subnets, force,
                                      progress)
    took = time.perf_counter() - start
    msg = f"{path}: {len(table.entries)} entries ({measured} measured now) at resolutions {table.resolutions}"
    if calibration_subnets:
        cal = table.calibration
        msg += f"; calibration: measured = {cal.scale:.3f} x sum + {cal.offset_ms:.3f} ms"
    typer.echo(f"{msg}; {took:.1f} s")


@app.command("calibrate")
def calibrate_cmd(
    device: str = DEVICE, space: str = SPACE, table: Optional[Path] = TABLE,
    n: int = typer.Option(10, "-n", callback=limit("subnets", 2), help="Whole subnets to measure (the largest and smallest among them)."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress output."),
) -> None:
    """Refit a table's calibration on this machine, in seconds, and record the host.

    A table's parts keep their ratios from one machine to a sibling, but not their scale. Run this
    when a table came from another machine (the shipped ones did); `ofa search` and `ofa specialize`
    do it themselves for a local device's table calibrated elsewhere. A packaged table is left as
    it is: the recalibrated copy goes to latency/<device>/<space>.json.
    """
    import time

    from ofa.cli.progress import progress_bar
    from ofa.latency.recalibrate import recalibrate

    profile, space_ = _resolve(device, space)
    path, t = _load(profile, space_, table)
    before = t.calibration
    start = time.perf_counter()
    with progress_bar(quiet) as progress:
        out = recalibrate(t, space_, profile, path, n, progress)
    cal = t.calibration
    was = f" (was {before.scale:.3f} x sum + {before.offset_ms:.3f} ms)" if before else ""
    typer.echo(f"{out}: measured = {cal.scale:.3f} x sum + {cal.offset_ms:.3f} ms on host "
               f"{t.provenance['calibrated_on']['host']}{was}; {len(cal.points)} subnets, "
               f"{time.perf_counter() - start:.1f} s")


@app.command("import")
def import_cmd(
    sources: list[Path] = typer.Argument(..., help="The source's table files, or the folder that holds them."),
    fmt: str = typer.Option(..., "--format", help="Source format: ofa (once-for-all's <resolution>_lookup_table.yaml files)."),
    device: str = DEVICE, space: str = SPACE,
    out: Optional[Path] = typer.Option(None, help="Output file (default: latency/<device>/<space>.json)."),
    force: bool = typer.Option(False, help="Replace an existing table at --out."),
) -> None:
    """Import latency tables measured by another tool as an ordinary table.

    Each part of the space (stem, first block, elastic blocks, head) becomes the sum of the source
    entries it is made of; the source files' names and hashes go into the table's provenance. A
    resolution whose source lacks parts is imported as incomplete: search keeps to the complete
    ones, and predicting a subnet there names the part it lacks.

      ofa latency import --format ofa --device note10 --space mbv3-w1.2 ofa/note10/
    """
    from ofa.latency.importers import import_table
    from ofa.latency.predict import LatencyPredictor
    from ofa.latency.table import default_table_path, save_table

    profile, space_ = _resolve(device, space)
    path = out or default_table_path(profile.name, space_.name)
    check_table_out(path)
    if path.exists() and not force:
        raise OfaError(f"{path} exists; pass --force to replace it, or --out to write elsewhere")
    table = import_table(fmt, sources, profile, space_)
    lo, hi = LatencyPredictor(table, space_).extremes()
    save_table(table, path)
    files = table.provenance["files"]
    typer.echo(f"{path}: {len(files)} files, {len(table.entries)} entries at {table.resolutions} px; "
               f"smallest subnet {lo:.2f} ms, largest {hi:.2f} ms ({table.statistic} of the source's timings, "
               f"plain sum)")
    for r, lacking in sorted(table.incomplete.items()):
        typer.echo(f"  {r} px incomplete: {len(lacking)} parts lack a source entry (first: {next(iter(lacking.values()))}); "
                   f"search keeps to the other resolutions")
    for f in files:
        if f["truncated"]:
            typer.echo(f"  {f['name']} ends inside an entry: that last entry was left out")


@app.command("show")
def show_cmd(device: str = DEVICE, space: str = SPACE, table: Optional[Path] = TABLE,
             as_json: bool = typer.Option(False, "--json", help="Print provenance as JSON.")) -> None:
    """Show a table's provenance, size and calibration."""
    profile, space_ = _resolve(device, space)
    path, t = _load(profile, space_, table)
    info = {"path": str(path), "entries": len(t.entries), "resolutions": t.resolutions,
            "num_classes": t.num_classes, "batch_size": t.batch_size, "provenance": t.provenance,
            "incomplete": {r: len(m) for r, m in t.incomplete.items()},
            "calibration": None if t.calibration is None else
            {"scale": t.calibration.scale, "offset_ms": t.calibration.offset_ms, "subnets": len(t.calibration.points)}}
    typer.echo(json.dumps(info, indent=2) if as_json else "\n".join(
        f"{k}: {v}" for k, v in info.items() if k != "provenance") + "\n" + "\n".join(
        f"  {k}: {v}" for k, v in t.provenance.items() if k != "profile"))


@app.command("predict")
def predict_cmd(
    subnets: list[str] = typer.Argument(..., help="Subnets: 'max', 'min', or compact strings like r160:k3e4-...,..."),
    device: str = DEVICE, space: str = SPACE, table: Optional[Path] = TABLE,
    as_json: bool = typer.Option(False, "--json", help="One JSON object per line."),
) -> None:
    """Predict the latency of subnets from the table (calibrated when the table has a calibration)."""
    from ofa.latency.predict import LatencyPredictor
    from ofa.spaces import to_subnet

    profile, space_ = _resolve(device, space)
    _, t = _load(profile, space_, table)
    nets = [to_subnet(space_, s) for s in subnets]
    predictor = LatencyPredictor(t, space_)
    summed, calibrated = predictor.predict(nets, calibrated=False), predictor.predict(nets)
    for net, a, b in zip(nets, summed, calibrated):
        row = {"subnet": str(net), "sum_of_parts_ms": round(float(a), 4), "predicted_ms": round(float(b), 4)}
        typer.echo(json.dumps(row) if as_json else f"{b:8.3f} ms  {net}")


@app.command("validate")
def validate_cmd(
    device: str = DEVICE, space: str = SPACE, table: Optional[Path] = TABLE,
    n: int = typer.Option(200, "-n", callback=limit("subnets", 2), help="Random subnets to measure end to end."),
    seed: int = typer.Option(0, callback=limit("seed"), help="Seed of the random subnets."),
    out: Optional[Path] = typer.Option(None, help="Folder for report.json and plot.png (default: beside the table)."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress output."),
) -> None:
    """Measure random subnets end to end; report MAPE, share within ±10% and Kendall tau, and plot."""
    from ofa.cli.progress import progress_bar
    from ofa.latency.validate import plot_validation, validate

    profile, space_ = _resolve(device, space)
    path, t = _load(profile, space_, table)
    folder = out or path.parent
    stem = f"{space_.name}.validate"
    # before minutes of measuring; an earlier report is replaced, nothing else
    check_own_files(folder, (f"{stem}.json", f"{stem}.png"), f"{stem}.json", ("before", "subnets"), "--out")
    with progress_bar(quiet) as progress:
        v = validate(t, space_, profile, n, seed, progress)
    write_json(folder / f"{stem}.json", v.to_dict(), indent=1)
    plot = plot_validation(v, f"{profile.name} / {space_.name}: {n} subnets", folder / f"{stem}.png")
    grid = Table("prediction", "MAPE %", "within ±10% (%)", "Kendall tau")
    for name, acc in (("sum of parts", v.before), ("calibrated", v.after)):
        if acc is not None:
            grid.add_row(name, f"{acc.mape:.2f}", f"{acc.within_10pct:.1f}", f"{acc.kendall_tau:.3f}")
    Console().print(grid)
    typer.echo(f"report: {folder / (stem + '.json')}  plot: {plot}")
