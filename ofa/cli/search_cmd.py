"""`ofa search`: the Pareto front of predicted accuracy against latency (and MACs, parameters)."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Annotated, Optional

import typer

from ofa.cli.options import Device, Json, OptionalSupernet, Predictor, Quiet, Seed, Space, limit
from ofa.errors import OfaError
from ofa.search.columns import column_device
from ofa.search.settings import DEFAULT_STRATEGY, MUTATION_RATE


def search_cmd(
    device: Annotated[Optional[list[str]], typer.Option(
        "--device", "-d",
        help=Device.__metadata__[0].help + " Repeat for one latency objective per device; none: search MACs or "
             "parameters alone (--objectives acc,macs).")] = None,
    supernet: OptionalSupernet = None,
    space: Space = None,
    latency: Annotated[Optional[list[str]], typer.Option(
        "--latency", "-l", help="Budget: 20ms, 0.02s, 20000us, or DEVICE=20ms (repeat, one per device).")] = None,
    macs: Annotated[Optional[str], typer.Option(
        "--macs", help="MACs budget: 2000M, 2G or a count (once-for-all's ResNet50 tutorial searches under one).")] = None,
    params: Annotated[Optional[str], typer.Option(
        "--params", help="Parameter budget: 5M, 500k or a count.")] = None,
    objectives: Annotated[str, typer.Option(
        "--objectives", help="Comma list from acc, latency, macs, params.")] = "acc,latency",
    strategy: Annotated[str, typer.Option(
        "--strategy",
        help="nsga2-local (NSGA-II for the front, then a local search at each budget), nsga2, random, evolution "
             "or reinforce.")] = DEFAULT_STRATEGY,
    generations: Annotated[int, typer.Option(
        "--generations", callback=limit("generations"),
        help="Generations (evaluations = population x generations; with --latency, nsga2-local runs 40% of them "
             "and then up to 2x as many predictions in its local search).")] = 100,
    population: Annotated[int, typer.Option(
        "--population", callback=limit("population"), help="Population size.")] = 100,
    mutation_rate: Annotated[float, typer.Option(
        "--mutation-rate", help="NSGA-II: share of genes a mutation changes (random reset).")] = MUTATION_RATE,
    seed: Seed = 0,
    predictor: Predictor = None,
    out: Annotated[Optional[Path], typer.Option(
        "--out", "-o",
        help="Output folder for front.json, front.csv, front.png (default: RUN/search, or search/SPACE with "
             "--space).")] = None,
    check: Annotated[int, typer.Option(
        "--check", callback=limit("subnets", 0),
        help="Measure the real accuracy of this many subnets along the front.")] = 0,
    refine: Annotated[int, typer.Option(
        "--refine", callback=limit("rounds"),
        help="Rounds of: add the checked subnets to the predictor data, refit, search again.")] = 0,
    calibrate: Annotated[bool, typer.Option(
        "--calibrate/--no-calibrate",
        help="Recalibrate a local device's table calibrated on another host (10 subnets, seconds); "
             "--no-calibrate uses it as it is, with a warning.")] = True,
    as_json: Json = False,
    quiet: Quiet = False,
) -> None:
    """Search the supernet's subnets for the best trade-offs of accuracy and latency.

    Accuracy comes from the run's predictor, latency from each device's table, both for a whole
    population per call. Writes the front (JSON, CSV), its hypervolume and a plot of the front
    over random subnets. With --latency, also the most accurate subnet within every budget.
    The same --seed gives the same front.

      ofa search --supernet runs/quick --device cpu --latency 2ms

      ofa search --supernet runs/quick -d cpu -d gpu-ort --objectives acc,latency,macs --check 8

    Without a run, search a space: --space needs a --predictor bound to the space and the devices'
    tables (once-for-all's assets, imported with `ofa predictor import` and `ofa latency import`):

      ofa search --space mbv3-w1.2 --predictor ofa-mbv3-w1.2.json --device note10 --latency 25ms

    Under a MACs budget, no device needed (once-for-all's ResNet50 tutorial):

      ofa search --space resnet50 --predictor ofa-resnet50.json --objectives acc,macs --macs 2000M

    With --json: one object {"strategy", "seed", "population", "generations", "mutation_rate", "seconds",
    "seconds_evaluating", "predictor", "tables": {device: file}, "objectives", "budgets_ms", "cost_budgets": {"macs",
    "params"}, "evaluations",
    "hypervolume", "hypervolume_box", "front": [{"subnet", "accuracy", "accuracy_std", "latency_ms":
    {device: ms}, "macs", "params"}], "best" (with a budget), "check" (with --check), "refine" (with
    --refine)}: what front.json holds.
    """
    from ofa.cli.progress import progress_bar
    from ofa.search.budget import distinct, parse_budgets, parse_count
    from ofa.search.columns import latency_column
    from ofa.search.evaluator import objective_columns
    from ofa.search.run import make_evaluator, open_run_predictor, open_space_predictor, random_cloud, search
    from ofa.spaces import get_space
    from ofa.search.result import check_result_out, write_result
    from ofa.search.settings import Settings
    from ofa.search.strategies import STRATEGIES

    if strategy not in STRATEGIES:
        raise OfaError(f"unknown strategy '{strategy}'; choose one of: {', '.join(STRATEGIES)}")
    if refine and not check:
        raise OfaError("--refine learns from the subnets that --check measures: give --check K too")
    from ofa.devices import get_device
    from ofa.predictor.store import predictor_file

    predictor = None if predictor is None else predictor_file(predictor)  # given with or without .json
    devices = distinct([get_device(d).name for d in device or []])
    columns = objective_columns(objectives.split(","), devices)
    budgets = {latency_column(d): ms for d, ms in parse_budgets(latency or [], devices).items()}
    budgets.update({name: parse_count(value, name) for name, value in (("macs", macs), ("params", params)) if value})
    settings = Settings(population, generations, seed, mutation_rate)
    if supernet is not None:
        pred, pred_path, num_classes = open_run_predictor(supernet, predictor)
        if space is not None and get_space(space).name != pred.space.name:
            raise OfaError(f"--space {space} disagrees with the run's space '{pred.space.name}'; leave --space out")
        out = out or Path(supernet) / "search"
    elif space is None or predictor is None:
        raise OfaError("give --supernet RUN, or --space SPACE with --predictor FILE (a predictor bound to the space)")
    elif check:
        raise OfaError("--check measures real accuracy with the supernet's weights: give --supernet RUN")
    else:
        pred, pred_path, num_classes = open_space_predictor(get_space(space), predictor), predictor, None
        out = out or Path("search") / pred.space.name
    check_result_out(out)
    checks = []
    with progress_bar(quiet) as progress:
        evaluator, tables = make_evaluator(pred.space, pred, devices, num_classes, auto_calibrate=calibrate,
                                           progress=progress, warn=warn)
        for round_ in range(refine + 1):
            result = search(evaluator, columns, budgets, strategy, settings, progress)
            if check:
                from ofa.search.check import check_front

                checks.append({"round": round_, **check_front(supernet, result, check, progress=progress)})
            if round_ < refine:
                from ofa.predictor.accuracy_data import default_data_path, read_accuracy_data
                from ofa.predictor.store import load_predictor
                from ofa.predictor.train import train_predictor

                train_predictor(supernet, read_accuracy_data(default_data_path(supernet)), pred.model.kind,
                                pred_path, seed=pred.meta.get("seed", 0))
                pred = load_predictor(pred_path, pred.space)
                evaluator = replace(evaluator, predictor=pred)  # the tables stay as they are
    result.info.update({"predictor": str(pred_path), "tables": {d: str(p) for d, p in tables.items()}})
    if checks:
        result.info["check"] = checks[-1]
        if refine:
            result.info["refine"] = [{k: c[k] for k in ("round", "k", "mae", "kendall_tau")} for c in checks]
    paths = write_result(result, out, random_cloud(evaluator, seed=seed))
    if as_json:
        typer.echo(json.dumps(result.to_dict()))
        return
    report(result, paths)


def warn(line: str) -> None:
    typer.echo(line, err=True)


def report(result, paths) -> None:
    front = result.front()
    typer.echo(f"{result.info['strategy']}: {result.problem.evaluations} subnets evaluated in "
               f"{result.info['seconds']:.2f} s; front of {len(front)}, hypervolume {result.hypervolume:.4f}")
    for i in sorted({0, len(front) // 2, len(front) - 1}) if front else []:
        typer.echo("  " + _point(front[i]))
    if result.problem.budgets:
        best = result.best()
        budgets = ", ".join(f"{column_device(c)} {b:g} ms" if column_device(c) else f"{b / 1e6:g}M {c}"
                            for c, b in result.problem.budgets.items())
        typer.echo(f"best within {budgets}: " + (_point(best) if best else "none found"))
    if "check" in result.info:
        c = result.info["check"]
        typer.echo(f"check: {c['k']} subnets measured along the front: mean |predicted - measured| "
                   f"{c['mae']:.2f} points, Kendall tau {c['kendall_tau']:.3f}")
        for r in result.info.get("refine", [])[:-1]:
            typer.echo(f"  round {r['round']} (before refit): MAE {r['mae']:.2f}, tau {r['kendall_tau']:.3f}")
    typer.echo("wrote " + ", ".join(str(p) for p in paths))


def _point(p: dict) -> str:
    lat = "".join(f"{d} {ms:.3f} ms  " for d, ms in p["latency_ms"].items())
    return f"top-1 {p['accuracy']:.2f}% (±{p['accuracy_std']:.2f})  {lat}{p['macs'] / 1e6:.1f} MMACs  {p['subnet']}"
