"""`ofa latency`: build, inspect, use and validate per-device latency lookup tables."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Callable, Optional

import typer
from rich.console import Console
from rich.table import Table

from ofa.cli.options import Device, Force, Json, Quiet, Seed, Space, deprecated, limit, out_file
from ofa.errors import OfaError
from ofa.files import check_own_files, write_json
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

TABLE_FILE = "latency/<device>/<space>.json"

TableFile = Annotated[Optional[Path], typer.Option(
    "--table", help=f"Table file (default: {TABLE_FILE}, then the packaged one).")]
TableOut = Annotated[Optional[Path], out_file(TABLE_FILE)]


def _old_count(old: str, new: str) -> Callable:
    """The callback of a count's old, hidden spelling: checked as the new one is (so that a bad
    value is one error line), then the one-line note that it is deprecated."""
    check, note = limit("subnets", 0), deprecated(old, new)

    def callback(param: typer.CallbackParam, value):
        return note(check(param, value))

    return callback


def _count(ctx: typer.Context, name: str, value: int, old: Optional[int]) -> int:
    """Option `name`'s value, or the old spelling's where only that was given (the new one wins)."""
    source = ctx.get_parameter_source(name)
    given = source is not None and source.name != "DEFAULT"
    return value if given or old is None else old


def _calibration(cal) -> Optional[dict]:
    return None if cal is None else {"scale": cal.scale, "offset_ms": cal.offset_ms}


def _note(text: str) -> None:
    """A line that is not the result: stderr under --json, where stdout holds only the object."""
    typer.echo(text, err=True)


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
    ctx: typer.Context,
    device: Device,
    space: Space,
    resolution: Annotated[Optional[list[int]], typer.Option(
        "--resolution", "-r", callback=limit("resolution"),
        help="Resolution to measure (repeat the flag); default: the device's resolutions of interest.")] = None,
    num_classes: Annotated[int, typer.Option(
        "--num-classes", callback=limit("classes"), help="Classifier size of the head entry.")] = DEFAULT_CLASSES,
    calibration_subnets: Annotated[int, typer.Option(
        "--calibration-subnets", "-k", callback=limit("subnets", 0),
        help="Whole subnets measured to fit the calibration (0: none).")] = CALIBRATION_SUBNETS,
    old_calibrate: Annotated[Optional[int], typer.Option(
        "--calibrate", hidden=True,
        callback=_old_count("latency build --calibrate N", "--calibration-subnets N"))] = None,
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

    count = _count(ctx, "calibration_subnets", calibration_subnets, old_calibrate)
    profile, space_ = _resolve(device, space)
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

    profile, space_ = _resolve(device, space)
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

    profile, space_ = _resolve(device, space)
    path = out or default_table_path(profile.name, space_.name)
    check_table_out(path)
    if path.exists() and not force:
        raise OfaError(f"{path} exists; pass --force to replace it, or --out to write elsewhere")
    table = import_table(fmt, sources, profile, space_)
    lo, hi = LatencyPredictor(table, space_).extremes()
    save_table(table, path)
    say = _note if as_json else typer.echo
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

    profile, space_ = _resolve(device, space)
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


@app.command("kit")
def kit_cmd(
    ctx: typer.Context,
    device: Device,
    space: Space,
    out: Annotated[Path, typer.Option(
        "--out", "-o", help="Output folder: the kit (an earlier kit there is replaced only with --force).")],
    resolution: Annotated[Optional[list[int]], typer.Option(
        "--resolution", "-r", callback=limit("resolution"),
        help="Resolution to cover (repeat the flag); default: the device's resolutions of interest.")] = None,
    num_classes: Annotated[int, typer.Option(
        "--num-classes", callback=limit("classes"), help="Classifier size of the head.")] = DEFAULT_CLASSES,
    calibration_subnets: Annotated[int, typer.Option(
        "--calibration-subnets", "-k", callback=limit("subnets", 0),
        help="Whole subnets the imported table's calibration is fitted on.")] = CALIBRATION_SUBNETS,
    old_calibrate: Annotated[Optional[int], typer.Option(
        "--calibrate", hidden=True,
        callback=_old_count("latency kit --calibrate N", "--calibration-subnets N"))] = None,
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

    count = _count(ctx, "calibration_subnets", calibration_subnets, old_calibrate)
    profile, space_ = _resolve(device, space)
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
            _note(next_step)
        return
    typer.echo(f"{out}: {parts} parts and {len(doc['models']) - parts} whole subnets at {doc['resolutions']} px, "
               f"{size / 1e6:.1f} MB, runtime {doc['runtime']}; {took:.1f} s")
    typer.echo(next_step)


@app.command("fit")
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
