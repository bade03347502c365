"""`ofa predictor`: measure subnets' real accuracy, fit an accuracy predictor, show its report."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Optional

import typer

from ofa.cli.options import (CalibData, Data, DataRoot, Device, Force, Json, OptionalSupernet, Predictor, Quiet, Seed,
                             Space, Supernet, deprecated, limit)
from ofa.errors import OfaError


app = typer.Typer(
    help=(
        "Accuracy predictors for search. `collect` measures the real top-1 of subnets spread over the "
        "whole size range (BN re-calibrated, on images training never used); `train` fits a model on "
        "them and reports how well it ranks held-out subnets; `show` prints that report.\n\n"
        "  ofa predictor collect --supernet runs/quick -n 200\n\n"
        "  ofa predictor train --supernet runs/quick"
    ),
    no_args_is_help=True,
)


@app.command("collect")
def collect_cmd(
    supernet: Supernet,
    n: Annotated[int, typer.Option(
        "-n", callback=limit("subnets"),
        help="Subnets to have measured in all (a re-run measures only the missing ones).")] = 500,
    data: Data = None,
    split: Annotated[str, typer.Option(
        "--split", help="Split of the data: the run's 'val' split is held out from training.")] = "val",
    calib_images: Annotated[Optional[int], typer.Option(
        "--calib-images", callback=limit("images"),
        help="Images for BN re-calibration of each subnet (default: the recipe's).")] = None,
    calib_data: CalibData = None,
    seed: Seed = 0,
    out: Annotated[Optional[Path], typer.Option(
        "--out", "-o", help="Output file: the accuracy data (default: RUN/predictor/accuracy.jsonl).")] = None,
    data_root: DataRoot = None,
    quiet: Quiet = False,
    as_json: Json = False,
) -> None:
    """Measure the top-1 of subnets spread evenly over the MACs range; resumable.

    Each subnet is extracted, its BatchNorm re-calibrated on training images, and evaluated on the
    held-out split; one JSON line per subnet is appended at once, so a killed run loses nothing.
    The file is bound to the run's weights and to these settings: other settings are refused.
    --seed seeds the stratified subnet stream, and a data file keeps one seed.

    With --json: one object {"data": the data file, "subnets": subnets measured in all, "measured_now":
    subnets measured by this call, "data_set": its name, "split", "images": images measured on,
    "top1_min", "top1_max": percent}.
    """
    from ofa.cli.progress import progress_bar
    from ofa.predictor.accuracy_data import default_data_path
    from ofa.predictor.collect import collect

    before = _collected(out or default_data_path(supernet)) if as_json else set()
    with progress_bar(quiet) as progress:
        records = collect(supernet, n, seed, data, split, calib_images, out, data_root, progress=progress,
                          calib_data=calib_data)
    rows = [r for r in records.rows if r.get("source") == "collect"]
    top1 = [r["top1"] for r in rows]
    settings = records.settings
    if as_json:
        typer.echo(json.dumps({"data": str(records.path), "subnets": len(rows),
                               "measured_now": len({r.get("index") for r in rows} - before),
                               "data_set": settings["data_name"], "split": settings["split"],
                               "images": settings["images"], "top1_min": min(top1), "top1_max": max(top1)}))
        return
    typer.echo(f"{records.path}: {len(rows)} subnets measured on {settings['data_name']} "
               f"{settings['split']} ({settings['images']} images); top-1 {min(top1):.1f}-{max(top1):.1f}%")


def _collected(path: Path) -> set:
    """The indexes of the subnets a data file holds already: none when there is no readable one yet
    (collect then starts it, or refuses it with its own message)."""
    from ofa.predictor.accuracy_data import read_accuracy_data

    try:
        return {r.get("index") for r in read_accuracy_data(path).rows if r.get("source") == "collect"}
    except (OfaError, OSError):
        return set()


@app.command("train")
def train_cmd(
    supernet: Supernet,
    model: Annotated[str, typer.Option(
        "--model", "-m",
        help="mlp, ensemble, trees or boosting (see `ofa predictor models`); trees ranks best in BENCHMARKS.md.")
    ] = "trees",
    accuracy_data: Annotated[Optional[Path], typer.Option(
        "--accuracy-data", help="Accuracy data file (default: RUN/predictor/accuracy.jsonl).")] = None,
    old_data: Annotated[Optional[Path], typer.Option(
        "--data", hidden=True, callback=deprecated("predictor train --data FILE", "--accuracy-data FILE"))] = None,
    out: Annotated[Optional[Path], typer.Option(
        "--out", "-o",
        help="Output file: the predictor (default: RUN/predictor/predictor.json, beside .safetensors and .png).")
    ] = None,
    device: Device = None,
    seed: Seed = 0,
    as_json: Json = False,
) -> None:
    """Fit an accuracy predictor and report its quality on 20% held-out subnets.

    The report (RMSE, Kendall tau, Spearman, precision of the predicted top 10%, tau inside bins of
    similar latency) is measured on held-out subnets; the saved model is then refit on all of them.
    With --device, quality is ranked inside bins of latency on that device (default: bins of MACs).
    --seed seeds the held-out split and the model.

    With --json: one object {"predictor": the file written, "report": {"n", "rmse", "mae", "kendall_tau",
    "spearman", "top10_precision", "tau_in_bins", "bins_by", ...}, "seed", "trained_on": {"file",
    "subnets", "settings", "holdout"}}.
    """
    from ofa.predictor.accuracy_data import default_data_path, read_accuracy_data
    from ofa.predictor.store import check_predictor_out, default_predictor_path
    from ofa.predictor.train import train_predictor

    data = accuracy_data or old_data
    check_predictor_out(out or default_predictor_path(supernet), force=True)
    records = read_accuracy_data(data or default_data_path(supernet))
    path, meta = train_predictor(supernet, records, model, out, device, seed)
    if as_json:
        typer.echo(json.dumps({"predictor": str(path), **meta}))
        return
    typer.echo(format_report(model, meta))
    typer.echo(f"predictor: {path} (+ .safetensors, plot .png)")


@app.command("show")
def show_cmd(
    supernet: OptionalSupernet = None,
    predictor: Predictor = None,
    as_json: Json = False,
) -> None:
    """Print a predictor's quality report and what it was trained on: the predictor of a run
    (--supernet RUN) or a predictor file instead (--predictor FILE).

    With --json: the whole record as one object {"format", "kind", "space", "space_fingerprint",
    "supernet", "encoding", "num_features", "weights", "report", "seed", "trained_on", ...}, as the
    predictor's .json file holds it.
    """
    from ofa.predictor.store import default_predictor_path, predictor_file, read_predictor_info

    if (supernet is None) == (predictor is None):
        raise OfaError("give either --supernet RUN or --predictor FILE")
    path = predictor_file(predictor or default_predictor_path(supernet))
    info = read_predictor_info(path)
    if as_json:
        typer.echo(json.dumps(info, indent=2))
        return
    typer.echo(f"{path}: {info.get('kind')} for space '{info.get('space')}'")
    if "report" not in info:  # imported: no held-out report of ours
        typer.echo(f"{info.get('description', 'no quality report')}; source: {info.get('source')}")
        return
    typer.echo(format_report(info.get("kind", "?"), info))


@app.command("import")
def import_cmd(
    source: Annotated[Path, typer.Argument(
        help="The source predictor file (once-for-all: acc_predictor.pth, ofa_resnet50_acc_predictor.pth).")],
    fmt: Annotated[str, typer.Option(
        "--format", help="Source format: ofa (once-for-all's MLPs: its tutorial's, its ResNet50's).")],
    space: Space,
    out: Annotated[Path, typer.Option(
        "--out", "-o", help="Output file: the predictor .json to write (beside its .safetensors).")],
    force: Force = False,
) -> None:
    """Import an accuracy predictor fitted by another tool, bound to the --space it predicts for
    (once-for-all's: mbv3-w1.2, and resnet50 for its ResNet50 predictor).

    The file is read with torch.load(weights_only=True): a pickle that holds anything but tensors is
    refused, never run. The predictor keeps its own input encoding, and search uses it with
    --space instead of a supernet run:

      ofa predictor import --format ofa acc_predictor.pth --space mbv3-w1.2 --out ofa-mbv3-w1.2.json

      ofa search --space mbv3-w1.2 --predictor ofa-mbv3-w1.2.json --device note10 --latency 25ms

      ofa predictor import --format ofa ofa_resnet50_acc_predictor.pth --space resnet50 --out ofa-resnet50.json

      ofa search --space resnet50 --predictor ofa-resnet50.json --objectives acc,macs --macs 2000M
    """
    import numpy as np

    from ofa.predictor.importers import import_predictor
    from ofa.predictor.store import check_predictor_out, predictor_file, save_predictor
    from ofa.spaces import encode, get_space, sample_subnet

    space_ = get_space(space)
    path = predictor_file(out)
    check_predictor_out(out, force)
    predictor = import_predictor(fmt, source, space_)
    fitted = space_.restrict(resolutions=predictor.resolutions)
    ends = np.stack([encode(space_, sample_subnet(fitted, k)) for k in ("min", "max")])
    low, high = predictor.predict_genes(ends)[0]
    save_predictor(predictor, path)
    at = "" if fitted.resolutions == space_.resolutions else f"; fitted at {list(fitted.resolutions)} px, searched there"
    typer.echo(f"{path}: {predictor.meta['description']}, for space '{space_.name}' (encoding {predictor.encoding}); "
               f"predicts {low:.2f}% for the smallest subnet at {fitted.resolutions[0]} px, {high:.2f}% for the "
               f"largest at {fitted.resolutions[-1]} px{at}")


@app.command("models")
def models_cmd() -> None:
    """List the predictor models."""
    from ofa.predictor.models import MODELS

    for name, (text, _) in MODELS.items():
        typer.echo(f"{name:<9} {text}")


def format_report(kind: str, meta: dict) -> str:
    r = meta.get("report") or {}

    def f(key: str, digits: int = 3, percent: bool = False) -> str:
        value = r.get(key)
        return "n/a" if not isinstance(value, (int, float)) else f"{value:.0%}" if percent else f"{value:.{digits}f}"

    lines = [f"held out: {(meta.get('trained_on') or {}).get('holdout', '?')}",
             f"  RMSE {f('rmse')} points   MAE {f('mae')}",
             f"  Kendall tau {f('kendall_tau')}   Spearman {f('spearman')}",
             f"  top-10% precision {f('top10_precision', 2)}   tau inside {r.get('bins_by', '?')} bins {f('tau_in_bins')}"]
    if "within_1_spread" in r:
        lines.append(f"  uncertainty: mean spread {f('mean_spread', 2)} points, {f('within_1_spread', percent=True)} of "
                     f"errors within one spread")
    return "\n".join(lines)
