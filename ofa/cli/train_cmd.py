"""`ofa train-supernet` and `ofa evaluate`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Optional

import typer

from ofa.cli.options import CalibData, Data, DataRoot, Json, Quiet, Seed, Supernet, deprecated, limit
from ofa.errors import OfaError


def train_supernet_cmd(
    recipe: Annotated[Optional[str], typer.Option(
        "--recipe",
        help="A shipped recipe name (see pipelines/) or a recipe YAML file \\[default: quickstart].")] = None,
    data: Annotated[Optional[str], typer.Option(
        "--data", help="A data set: digits, cifar10, cifar100 or imagefolder:PATH (overrides the recipe).")] = None,
    init: Annotated[Optional[Path], typer.Option(
        "--init", help="Start from the weights of this supernet run (trained here or imported): every weight is "
                       "kept, the classifier too when the classes are the same; the space is the run's. Use with "
                       "--recipe transfer.")] = None,
    out: Annotated[Path, typer.Option(
        "--out", "-o", help="Output folder: the run folder (checkpoints, metrics, plot and final weights).")
    ] = Path("runs/supernet"),
    resume: Annotated[bool, typer.Option(
        "--resume", help="Continue the run in --out from its last checkpoint.")] = False,
    force: Annotated[bool, typer.Option(
        "--force", help="Replace a run already in --out: the new run trains beside it and takes its place only "
                        "when complete.")] = False,
    epochs: Annotated[Optional[int], typer.Option(
        "--epochs", callback=limit("epochs", 1),
        help="Epochs of every phase (overrides the recipe; handy for a smoke test).")] = None,
    batch_size: Annotated[Optional[int], typer.Option(
        "--batch-size", callback=limit("batch_size"),
        help="Images per step over all processes (learning rates scale with it).")] = None,
    torch_device: Annotated[Optional[str], typer.Option(
        "--torch-device", help="Where to train: auto, cpu, cuda or cuda:N (overrides the recipe).")] = None,
    workers: Annotated[Optional[int], typer.Option(
        "--workers", callback=limit("workers"), help="Data loader processes.")] = None,
    seed: Seed = None,
    set_: Annotated[Optional[list[str]], typer.Option(
        "--set", help="Any recipe field in dotted form, e.g. --set phases.0.lr=0.05 (repeatable).")] = None,
    data_root: DataRoot = None,
    download: Annotated[bool, typer.Option(
        "--download", help="Download CIFAR if it is not in --data-root.")] = False,
    quiet: Quiet = False,
    as_json: Json = False,
    old_device: Annotated[Optional[str], typer.Option(
        "--device", hidden=True, callback=deprecated("train-supernet --device", "--torch-device"))] = None,
    old_recipe: Annotated[Optional[str], typer.Option(
        "-r", hidden=True, callback=deprecated("train-supernet -r", "--recipe"))] = None,
) -> None:
    """Train a supernet with progressive shrinking, the sandwich rule and in-place distillation.

    Runs on the CPU, one GPU, or many through torchrun:

      ofa train-supernet --recipe quickstart --out runs/quick

      ofa train-supernet --init runs/ofa-w1.2 --recipe transfer --data imagefolder:DIR --out runs/mine

      torchrun --nproc-per-node 4 -m ofa train-supernet --recipe cifar --data imagefolder:DIR

    With --json: one object, progress and notes on stderr:
      {"run": FOLDER, "global_step": N, "final": [{"name", "subnet", "top1", "top5", "loss", "images",
      "phase", "phase_name", "epoch", ...}, ...]} (the last validation, one row per watched subnet)
    """
    from ofa.train.overrides import parse_overrides
    from ofa.train.recipe_reader import with_overrides
    from ofa.train.recipes import load_recipe
    from ofa.train.trainer import train_supernet

    device = torch_device if torch_device is not None else old_device
    recipe = recipe if recipe is not None else old_recipe
    overrides = parse_overrides(set_ or [])
    for key, value in (("data", data), ("batch_size", batch_size), ("device", device), ("workers", workers),
                       ("seed", seed), ("init_from", None if init is None else str(init.resolve()))):
        if value is not None:
            overrides[key] = value
    if resume:
        if set_ or any(v is not None for v in (data, batch_size, device, workers, seed, epochs, init)):
            raise OfaError("--resume continues the run as it was started; drop the recipe overrides")
        from ofa.train.run_folder import work_folder

        folder = work_folder(out, resume=True, force=force)
        if folder.info.is_file() and folder.read_info().get("source") is not None:
            raise OfaError(f"{out} holds an imported supernet: there is no training to resume; train from it "
                           f"with: ofa train-supernet --init {out} --recipe transfer --data ... --out NEW")
        if not folder.recipe.is_file():
            raise OfaError(f"nothing to resume in {out} (no recipe.yaml)")
        spec = load_recipe(folder.recipe)
        if recipe is not None and load_recipe(recipe).to_dict() != spec.to_dict():
            raise OfaError(f"--recipe {recipe} differs from the recipe of the run in {out} ({folder.recipe}); "
                           f"--resume continues the run's own recipe: drop --recipe")
    else:
        if init is not None:
            from ofa.train.init_from import check_init_run

            check_init_run(init)  # before the recipe reads its space from it
        spec = load_recipe(recipe or "quickstart", overrides)
        if epochs is not None:
            spec = with_overrides(spec, {f"phases.{i}.epochs": epochs for i in range(len(spec.phases))})

    from ofa.cli.progress import training_progress

    with training_progress(quiet) as view:
        result = train_supernet(spec, out, resume=resume, force=force, data_root=data_root, download=download,
                                on_step=view.step, on_validate=view.validated)
    if as_json:
        typer.echo(json.dumps({"run": str(result.folder), "global_step": result.global_step,
                               "final": list(result.final)}))
        return
    for row in result.final:
        typer.echo(f"{row['name']:>9}  top-1 {row['top1']:6.2f}%  top-5 {row['top5']:6.2f}%  {row['subnet']}")
    typer.echo(f"run: {result.folder}  ({result.global_step} steps; metrics.jsonl, accuracy.png, supernet.safetensors)")


def evaluate_cmd(
    supernet: Supernet,
    subnet: Annotated[list[str], typer.Option(
        "--subnet", help="max, min, a compact subnet string, or a subnet file: .json (one or a list), .jsonl, or "
                         "text with one per line (repeatable).")] = ["max"],
    data: Data = None,
    split: Annotated[str, typer.Option("--split", help="Split of --data: train or val.")] = "val",
    calib_images: Annotated[Optional[int], typer.Option(
        "--calib-images", callback=limit("images"),
        help="Images for BN re-calibration (default: the recipe's).")] = None,
    calib_data: CalibData = None,
    data_root: DataRoot = None,
    download: Annotated[bool, typer.Option("--download", help="Download CIFAR if missing.")] = False,
    as_json: Json = False,
) -> None:
    """Top-1 / top-5 of subnets of a trained supernet, each after BN re-calibration on the run's training data.

    With --json: one object per subnet, one per line:
      {"subnet", "top1", "top5", "loss", "images", "data", "split"}
    """
    from ofa.spaces import subnet_values
    from ofa.train.run_accuracy import evaluate_run

    for row in evaluate_run(supernet, subnet_values(subnet), data, split, calib_images, data_root, download,
                            calib_data=calib_data):
        if as_json:
            typer.echo(json.dumps(row))
        else:
            typer.echo(f"top-1 {row['top1']:6.2f}%  top-5 {row['top5']:6.2f}%  ({row['images']} images)  "
                       f"{row['subnet']}")
