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
        "latency/<device>/<space>.json; `validate` checks predictions against end-to-end measurement. "
        "For a device ofa cannot run on: `kit` writes ONNX models and a runner that needs neither ofa nor "
        "torch, `import --format kit` reads its results back, and `fit` builds a table from a few whole "
        "subnets timed there with any tool."
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
    fmt: str = typer.Option(..., "--format", help="Source format: ofa (once-for-all's <resolution>_lookup_table.yaml files) or kit (a measuring kit's results.json)."),
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

      ofa latency import --format kit --device jetson --space mbv3-w1.0 kit/results.json
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
    what = (f"{table.statistic} of the source's timings, plain sum" if table.calibration is None else
            f"calibrated: measured = {table.calibration.scale:.3f} x sum + {table.calibration.offset_ms:.3f} ms")
    files = table.provenance.get("files", [])
    typer.echo(f"{path}: " + (f"{len(files)} files, " if files else "") + f"{len(table.entries)} entries at "
               f"{table.resolutions} px; smallest subnet {lo:.2f} ms, largest {hi:.2f} ms ({what})")
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


@app.command("kit")
def kit_cmd(
    device: str = DEVICE, space: str = SPACE,
    out: Path = typer.Option(..., "--out", "-o", help="Kit folder to write (an earlier kit there is replaced only with --force)."),
    resolution: Optional[list[int]] = typer.Option(
        None, "--resolution", "-r", callback=limit("resolution"), help="Resolution to cover (repeat the flag); default: the device's resolutions of interest."),
    num_classes: int = typer.Option(DEFAULT_CLASSES, callback=limit("classes"), help="Classifier size of the head."),
    calibration_subnets: int = typer.Option(CALIBRATION_SUBNETS, "--calibrate", "-k", callback=limit("subnets", 0), help="Whole subnets the imported table's calibration is fitted on."),
    subnets_only: bool = typer.Option(False, "--subnets-only", help="Only -n whole subnets (for `ofa latency fit`), no parts."),
    n: int = typer.Option(20, "-n", callback=limit("subnets", 2), help="With --subnets-only: how many subnets (the largest and smallest among them)."),
    seed: int = typer.Option(10_000, callback=limit("seed"), help="Seed of the random subnets."),
    force: bool = typer.Option(False, help="Replace a kit already in --out."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress output."),
) -> None:
    """Write a measuring kit for a device ofa cannot run on: ONNX models and a runner that needs only
    Python, numpy and the device's runtime (ONNX Runtime, or TensorRT's trtexec).

    On the device: `python KIT/run_kit.py` (shows progress, resumes). Back here:

      ofa latency import --format kit --device D --space S KIT/results.json     (a full table)

      ofa latency fit --device D --space S --measured KIT/results.json          (--subnets-only kits)
    """
    import time

    from ofa.cli.progress import progress_bar
    from ofa.latency.build import resolutions_for
    from ofa.latency.kit import write_kit

    profile, space_ = _resolve(device, space)
    start = time.perf_counter()
    with progress_bar(quiet) as progress:
        doc = write_kit(out, profile, space_, resolutions_for(space_, profile, resolution), num_classes,
                        calibration_subnets, n if subnets_only else None, seed, force, progress)
    parts = sum(m["kind"] == "part" for m in doc["models"])
    size = sum(f.stat().st_size for f in (out / "models").iterdir())
    typer.echo(f"{out}: {parts} parts and {len(doc['models']) - parts} whole subnets at {doc['resolutions']} px, "
               f"{size / 1e6:.1f} MB, runtime {doc['runtime']}; {time.perf_counter() - start:.1f} s")
    typer.echo(f"next, on the device: python {out / 'run_kit.py'}   (see {out / 'README.md'})")


@app.command("fit")
def fit_cmd(
    device: str = DEVICE, space: str = SPACE,
    measured: Path = typer.Option(..., "--measured", "-m", help="Whole subnets measured on the device: a kit's results.json, or a text file of lines 'SUBNET MS'."),
    prior: Optional[str] = typer.Option(None, "--prior", help="Another device's table to learn from: a device name (its table found as usual) or a table file."),
    resolution: Optional[list[int]] = typer.Option(
        None, "--resolution", "-r", callback=limit("resolution"), help="Resolutions the table covers (repeat the flag); default: the device's, and those measured."),
    num_classes: Optional[int] = typer.Option(None, callback=limit("classes"), help="Classifier size (default: the prior table's, else 1000)."),
    out: Optional[Path] = typer.Option(None, help="Output file (default: latency/<device>/<space>.json)."),
    force: bool = typer.Option(False, help="Replace an existing table at --out."),
    as_json: bool = typer.Option(False, "--json", help="Print the fit's report as one JSON object."),
) -> None:
    """Fit a device's latency table from a few whole subnets measured on it (K = 20 is plenty).

    The model is linear in what ofa knows of each part (another device's table given with --prior,
    MACs, weights, activations, layers), fitted to relative error; the features are chosen by
    leave-one-out error, and the report compares them with a plain linear fit on MACs and block
    count. The result is an ordinary table: search, specialize, validate and model cards use it.

      ofa latency kit --device jetson --space mbv3-w1.0 --subnets-only -n 20 --out kit/

      ofa latency fit --device jetson --space mbv3-w1.0 --measured kit/results.json --prior cpu
    """
    from ofa.latency.build import DEFAULT_CLASSES as CLASSES, resolutions_for
    from ofa.latency.fit import fit_device
    from ofa.latency.measured import read_measured
    from ofa.latency.table import default_table_path, find_table, load_table, save_table

    profile, space_ = _resolve(device, space)
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
    grid.add_row("fitted: " + " + ".join(report.features), f"{cv.mape:.2f}", f"{cv.within_10pct:.0f}", f"{cv.spearman:.3f}")
    grid.add_row("linear on MACs and blocks", f"{base.mape:.2f}", f"{base.within_10pct:.0f}", f"{base.spearman:.3f}")
    Console().print(grid)
    typer.echo(f"{path}: {len(table.entries)} entries at {table.resolutions} px, fitted from {report.measurements} "
               f"subnets" + (f" with {prior_table.device}'s table as prior" if prior_table is not None else ""))
