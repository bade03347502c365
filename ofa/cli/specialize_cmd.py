"""`ofa specialize` (the best subnet per device and budget, exported and verified) and `ofa export`
(one chosen subnet)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Optional

import typer

from ofa.cli.options import CalibData, DataRoot, Device, Force, Json, Predictor, Quiet, Seed, Supernet, limit
from ofa.errors import OfaError


def _warn(line: str) -> None:
    typer.echo(line, err=True)


def specialize_cmd(
    supernet: Supernet,
    device: Annotated[list[str], typer.Option(
        "--device", "-d",
        help=Device.__metadata__[0].help + " Repeat for a model family: one search serves all.")],
    latency: Annotated[list[str], typer.Option(
        "--latency", "-l",
        help="Budget with a unit: 20ms, 0.02s, 20000us; DEVICE=20ms names the device (repeat: one model per device "
             "and budget).")],
    out: Annotated[Optional[Path], typer.Option(
        "--out", "-o", help="Output folder, one subfolder per model (default: RUN/specialized).")] = None,
    finetune_epochs: Annotated[int, typer.Option(
        "--finetune-epochs", callback=limit("epochs"),
        help="Fine-tune each model this many epochs with the loss its recipe gave the students: distilled from the "
             "supernet's largest subnet, or the labels (resumable).")] = 0,
    formats: Annotated[str, typer.Option(
        "--format",
        help="Comma list from onnx, static, tensorrt (tensorrt needs TensorRT here; else onnx writes "
             "build_engine.sh).")] = "onnx,static",
    calibrate: Annotated[bool, typer.Option(
        "--calibrate/--no-calibrate",
        help="Recalibrate a local device's table calibrated on another host first (seconds); --no-calibrate warns "
             "instead.")] = True,
    closed_loop: Annotated[bool, typer.Option(
        "--closed-loop/--open-loop",
        help="On a device that is this machine, measure each exported model and take the next subnet when it "
             "misses the budget.")] = True,
    generations: Annotated[int, typer.Option(
        "--generations", callback=limit("generations"), help="Search generations.")] = 100,
    population: Annotated[int, typer.Option(
        "--population", callback=limit("population"), help="Search population.")] = 100,
    seed: Seed = 0,
    predictor: Predictor = None,
    force: Force = False,
    data: Annotated[Optional[str], typer.Option(
        "--data",
        help="A labelled data set to measure each model's accuracy on: digits, cifar10, cifar100 or "
             "imagefolder:PATH (default: the run's held-out split; an imported supernet has none, and its cards "
             "then give predicted accuracy only).")] = None,
    calib_data: CalibData = None,
    data_root: DataRoot = None,
    as_json: Json = False,
    quiet: Quiet = False,
) -> None:
    """Cut the most accurate subnet within each latency budget out of a trained supernet, ready to deploy.

    The run needs a trained predictor (`ofa predictor train`). One search for all devices; then per
    (device, budget): extract the subnet, re-calibrate its BatchNorm, optionally fine-tune it, export
    model.onnx (checked against PyTorch through ONNX Runtime), model.safetensors + config.json, a
    TensorRT engine or build_engine.sh, and a model card (card.md, card.json, pareto.png). On this
    machine's own devices the exported model is measured, and a subnet that misses the budget is
    replaced by the next one. An interrupted run continues when the same command is run again. The
    same --seed gives the same models; with --force the old output folder is kept until the new one
    is complete.

      ofa specialize --supernet runs/quick --device cpu --latency 0.3ms

      ofa specialize --supernet runs/c10 -d cpu -d jetson --latency cpu=2ms --latency jetson=1ms

    With --json: one object {"models": [{"label", "folder", "subnet", "accuracy": {"predicted",
    "predicted_std", "bn_calibrated", ...}, "latency": {"predicted_ms", "measured_ms", "within_budget"},
    "budget_ms", "device"}], "search": {"evaluations", "seconds"}, "tables": {device: file}, "seconds":
    {stage: s, "total"}, "supernet": {"run", ...}, "predictor"}: what OUT/summary.json holds.
    """
    from ofa.cli.progress import progress_bar
    from ofa.devices import get_device
    from ofa.search.budget import distinct
    from ofa.search.settings import Settings
    from ofa.specialize.package import refuse_existing
    from ofa.specialize.run import OUTPUT_KIND, Request, specialize
    from ofa.specialize.targets import parse_targets

    from ofa.predictor.store import predictor_file

    if not (Path(supernet) / "run.json").is_file():
        raise OfaError(f"{supernet} is not a supernet run (no run.json); train one with: ofa train-supernet --out {supernet}")
    refuse_existing(out or Path(supernet) / "specialized", force, OUTPUT_KIND)
    devices = distinct([get_device(d).name for d in device])
    latency = [f"{get_device(v.partition('=')[0]).name}={v.partition('=')[2]}" if "=" in v else v for v in latency]
    req = Request(run=supernet, targets=parse_targets(devices, latency), out=out or Path(supernet) / "specialized",
                  finetune_epochs=finetune_epochs, formats=[f.strip() for f in formats.split(",") if f.strip()],
                  auto_calibrate=calibrate, closed_loop=closed_loop,
                  predictor=None if predictor is None else predictor_file(predictor),  # with or without .json
                  settings=Settings(population, generations, seed), force=force, data_root=data_root, data=data,
                  calib_data=calib_data)
    with progress_bar(quiet) as progress:
        summary = specialize(req, progress, _warn)
    if as_json:
        typer.echo(json.dumps(summary))
        return
    print_summary(summary)


def print_summary(summary: dict) -> None:
    from rich.console import Console
    from rich.table import Table

    grid = Table("model", "top-1 predicted", "top-1 measured", "latency predicted", "latency measured")
    for m in summary["models"]:
        acc, lat = m["accuracy"], m["latency"]
        measured = acc.get("finetuned") or acc["bn_calibrated"]
        top1 = f"{measured['top1']:.2f}%" if measured else "— (predicted only)"
        ms = "—" if lat["measured_ms"] is None else (f"{lat['measured_ms']:.3f} ms"
                                                     + ("" if lat["within_budget"] else " (over budget)"))
        grid.add_row(m["label"], f"{acc['predicted']:.2f} ± {acc['predicted_std']:.2f}%", top1,
                     f"{lat['predicted_ms']:.3f} ms", ms)
    Console().print(grid)
    if summary["models"]:
        typer.echo(f"models in {Path(summary['models'][0]['folder']).parent}/ (model.onnx, card.md, ...)")
    s = summary["seconds"]
    typer.echo(f"{s['total']:.1f} s: " + ", ".join(f"{k} {v:.1f}" for k, v in s.items() if k != "total"))


def export_cmd(
    supernet: Supernet,
    subnet: Annotated[str, typer.Option(
        "--subnet", help="max, min, or a compact subnet string such as r32:k3e2-k5e3,k3e3.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Output folder (never replaced without --force).")],
    formats: Annotated[str, typer.Option(
        "--format", help="Comma list from onnx, static, tensorrt.")] = "onnx,static",
    precision: Annotated[str, typer.Option("--precision", help="TensorRT engine precision: fp32 or fp16.")] = "fp32",
    force: Force = False,
    data: Annotated[Optional[str], typer.Option(
        "--data",
        help="A labelled data set to measure the model's accuracy on: digits, cifar10, cifar100 or imagefolder:PATH "
             "(default: the run's held-out split).")] = None,
    calib_data: CalibData = None,
    data_root: DataRoot = None,
    as_json: Json = False,
) -> None:
    """Export one subnet of a supernet: BN re-calibrated, then ONNX (verified against PyTorch),
    static weights, and a TensorRT engine or the build_engine.sh that makes one on the target.

      ofa export --supernet runs/quick --subnet max --out models/quick-max

    With --json: one object {"out": the folder, "files": {kind: file name in it}, "subnet", "accuracy":
    {"top1", ...} or null (no labelled data), "verification": {"passed", "max_abs_diff", ...} or null (no
    ONNX)}.
    """
    from ofa.spaces import get_space, to_subnet
    from ofa.files import write_json
    from ofa.specialize.package import EXPORT_KIND, Staging, check_formats, refuse_existing, write_model, writing
    from ofa.train.run_accuracy import SubnetMeter
    from ofa.train.run_folder import RunFolder

    if precision not in ("fp32", "fp16"):
        raise OfaError(f"--precision must be fp32 or fp16, got {precision!r}")
    wanted = check_formats([f.strip() for f in formats.split(",") if f.strip()])
    refuse_existing(out, force, EXPORT_KIND)
    net = to_subnet(get_space(RunFolder(Path(supernet)).read_info()["space"]), subnet)
    meter = SubnetMeter(supernet, data, data_root=data_root, calib_data=calib_data)
    with writing(out, EXPORT_KIND):
        staging = Staging(out, force, {"supernet": str(supernet), "subnet": str(net), "formats": wanted}, EXPORT_KIND)
        static = meter.calibrated(net)
        done = write_model(static, staging.partial, wanted, precision)
        acc = meter.accuracy(static) if meter.labelled else None
        write_json(staging.partial / "export.json", {"subnet": str(net), "accuracy": acc,
                                                     "bn_calibration": meter.calibration_note(), **done})
        staging.commit()
    check = done.get("onnx", {}).get("verification")
    if as_json:
        typer.echo(json.dumps({"out": str(out), "files": done["files"], "subnet": str(net), "accuracy": acc,
                               "verification": check}))
        return
    measured = f"top-1 {acc['top1']:.2f}% after BN calibration" if acc else "accuracy not measured (no labelled --data)"
    typer.echo(f"{out}: {', '.join(sorted(done['files'].values()))}; {measured}"
               + (f"; ONNX max |diff| {check['max_abs_diff']:.1e}" if check else ""))
