"""`ofa predictor`: measure subnets' real accuracy, fit an accuracy predictor, show its report."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer

from ofa.cli.options import CALIB_DATA, limit
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

SUPERNET = typer.Option(..., "--supernet", help="A finished run folder of `ofa train-supernet`.")


@app.command("collect")
def collect_cmd(
    supernet: Path = SUPERNET,
    n: int = typer.Option(500, "-n", callback=limit("subnets"), help="Subnets to have measured in all (a re-run measures only the missing ones)."),
    data: Optional[str] = typer.Option(None, help="Data set to measure on (default: the run's own)."),
    split: str = typer.Option("val", help="Split of the data: the run's 'val' split is held out from training."),
    calib_images: Optional[int] = typer.Option(None, callback=limit("images"), help="Images for BN re-calibration of each subnet (default: the recipe's)."),
    calib_data: Optional[str] = CALIB_DATA,
    seed: int = typer.Option(0, callback=limit("seed"), help="Seed of the stratified subnet stream (a data file keeps one seed)."),
    out: Optional[Path] = typer.Option(None, help="Data file (default: RUN/predictor/accuracy.jsonl)."),
    data_root: Optional[str] = typer.Option(None, help="Where CIFAR is; default ~/.cache/ofa/data."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar."),
) -> None:
    """Measure the top-1 of subnets spread evenly over the MACs range; resumable.

    Each subnet is extracted, its BatchNorm re-calibrated on training images, and evaluated on the
    held-out split; one JSON line per subnet is appended at once, so a killed run loses nothing.
    The file is bound to the run's weights and to these settings: other settings are refused.
    """
    from ofa.cli.progress import progress_bar
    from ofa.predictor.collect import collect

    with progress_bar(quiet) as progress:
        records = collect(supernet, n, seed, data, split, calib_images, out, data_root, progress=progress,
                          calib_data=calib_data)
    rows = [r for r in records.rows if r.get("source") == "collect"]
    top1 = [r["top1"] for r in rows]
    typer.echo(f"{records.path}: {len(rows)} subnets measured on {records.settings['data_name']} "
               f"{records.settings['split']} ({records.settings['images']} images); top-1 {min(top1):.1f}-{max(top1):.1f}%")


@app.command("train")
def train_cmd(
    supernet: Path = SUPERNET,
    model: str = typer.Option("trees", "--model", "-m", help="mlp, ensemble, trees or boosting (see `ofa predictor models`); trees ranks best in BENCHMARKS.md."),
    data: Optional[Path] = typer.Option(None, help="Accuracy data file (default: RUN/predictor/accuracy.jsonl)."),
    out: Optional[Path] = typer.Option(None, help="Predictor file (default: RUN/predictor/predictor.json, beside .safetensors and .png)."),
    device: Optional[str] = typer.Option(None, "--device", "-d", help="Rank quality inside bins of latency on this device (default: bins of MACs)."),
    seed: int = typer.Option(0, callback=limit("seed"), help="Seed of the held-out split and the model."),
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON."),
) -> None:
    """Fit an accuracy predictor and report its quality on 20% held-out subnets.

    The report (RMSE, Kendall tau, Spearman, precision of the predicted top 10%, tau inside bins of
    similar latency) is measured on held-out subnets; the saved model is then refit on all of them.
    """
    from ofa.predictor.accuracy_data import default_data_path, read_accuracy_data
    from ofa.predictor.store import check_predictor_out, default_predictor_path
    from ofa.predictor.train import train_predictor

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
    supernet: Optional[Path] = typer.Option(None, "--supernet", help="Run folder whose predictor to show."),
    predictor: Optional[Path] = typer.Option(None, "--predictor", help="A predictor .json file instead."),
    as_json: bool = typer.Option(False, "--json", help="Print the whole record as JSON."),
) -> None:
    """Print a predictor's quality report and what it was trained on."""
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
    source: Path = typer.Argument(..., help="The source predictor file (once-for-all: acc_predictor.pth)."),
    fmt: str = typer.Option(..., "--format", help="Source format: ofa (once-for-all's tutorial MLP)."),
    space: str = typer.Option(..., "--space", "-s", help="The space it predicts for (once-for-all's: mbv3-w1.2)."),
    out: Path = typer.Option(..., "--out", help="Predictor file to write (.json, beside its .safetensors)."),
    force: bool = typer.Option(False, help="Replace an existing predictor at --out."),
) -> None:
    """Import an accuracy predictor fitted by another tool, bound to a space.

    The file is read with torch.load(weights_only=True): a pickle that holds anything but tensors is
    refused, never run. The predictor keeps its own input encoding, and search uses it with
    --space instead of a supernet run:

      ofa predictor import --format ofa acc_predictor.pth --space mbv3-w1.2 --out ofa-mbv3-w1.2.json

      ofa search --space mbv3-w1.2 --predictor ofa-mbv3-w1.2.json --device note10 --latency 25ms
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
