"""From a run folder (or a space and a predictor bound to it) to a search result."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from ofa.errors import OfaError
from ofa.predictor.accuracy_data import describe, supernet_fingerprint
from ofa.predictor.store import AccuracyPredictor, default_predictor_path, load_predictor
from ofa.search.columns import column_device
from ofa.search.evaluator import Evaluator
from ofa.search.problem import SubnetProblem
from ofa.search.result import SearchResult, collect_result
from ofa.search.settings import Settings
from ofa.search.strategies import run_strategy
from ofa.spaces import Space
from ofa.families.parts import CostTable


DEFAULT_CLASSES = 1000  # the head a search without a run or tables counts MACs with (ImageNet's)


def latency_predictors(space: Space, devices: list[str], num_classes: int | None, tables: dict[str, Path] | None = None,
                       auto_calibrate: bool = True, progress=None, warn=None):
    """device name -> (its table's predictor, table path), each opened by open_device_table."""
    from ofa.latency.recalibrate import open_device_table

    out = {}
    for device in devices:
        latency, path, profile = open_device_table(device, space, (tables or {}).get(device), auto_calibrate,
                                                   progress, warn, num_classes)
        if profile.name in out:
            raise OfaError(f"--device {device} is given twice")
        out[profile.name] = (latency, path)
        if latency.table.incomplete and warn:
            warn(f"{path} lacks parts at {sorted(latency.table.incomplete)} px (an incomplete import): "
                 f"searching at {latency.table.complete_resolutions} px")
        num_classes = latency.table.num_classes  # without a run, the first table sets the head for the others
    return out


def open_run_predictor(run: Path, predictor_path: Path | None) -> tuple[AccuracyPredictor, Path, int]:
    """The predictor bound to this run's weights, its path, and the run's class count."""
    from ofa.spaces import get_space
    from ofa.train.run_folder import RunFolder

    fingerprint = supernet_fingerprint(run)
    space = get_space(fingerprint["space"])
    path = Path(predictor_path or default_predictor_path(run))
    if not path.is_file():
        raise OfaError(f"no predictor at {path}; make one with: ofa predictor collect --supernet {run} && "
                       f"ofa predictor train --supernet {run}")
    predictor = load_predictor(path, space)
    if predictor.supernet is not None and predictor.supernet != fingerprint:
        raise OfaError(f"{path} learned from another supernet ({describe(predictor.supernet)}), not {run} "
                       f"({describe(fingerprint)}); collect and train again for this run")
    return predictor, path, int(RunFolder(Path(run)).read_info()["num_classes"])


def check_budgets(evaluator: Evaluator, budgets: dict[str, float]) -> None:
    """Refuse a budget (keyed by column: 'latency:DEVICE', 'macs', 'params') that no subnet fits."""
    ends = evaluator.extremes()
    for column, budget in budgets.items():
        low, high = ends["min"][column], ends["max"][column]
        if budget >= low:
            continue
        device = column_device(column)
        if device is not None:
            raise OfaError(f"no subnet runs within {budget:g} ms on {device}: the smallest subnet takes {low:.3g} ms "
                           f"and the largest {high:.3g} ms")
        raise OfaError(f"no subnet has {budget / 1e6:g}M {column} or fewer: the smallest subnet has {low / 1e6:.4g}M "
                       f"and the largest {high / 1e6:.4g}M")


def search(evaluator: Evaluator, columns: list[str], budgets: dict[str, float], strategy: str, settings: Settings,
           progress=None, targets: list[dict[str, float]] | None = None) -> SearchResult:
    """Search under `budgets` (constraints keyed by column: 'latency:DEVICE' in ms, 'macs', 'params');
    `targets` are the budgets the answer is wanted at (default: the budgets together), where strategies
    that can spend effort on them do."""
    check_budgets(evaluator, budgets)
    problem = SubnetProblem(evaluator, columns, budgets)
    start = time.perf_counter()
    run_strategy(strategy, problem, settings, progress, targets)
    seconds = time.perf_counter() - start
    return collect_result(problem, {
        "strategy": strategy, "seed": settings.seed, "population": settings.population,
        "generations": settings.generations, "mutation_rate": settings.mutation_rate,
        "seconds": round(seconds, 4), "seconds_evaluating": round(problem.seconds_evaluating, 4)})


def make_evaluator(space: Space, predictor: AccuracyPredictor, devices: list[str], num_classes: int | None,
                   tables: dict[str, Path] | None = None, **calibration) -> tuple[Evaluator, dict[str, Path]]:
    """`num_classes`: the supernet's head, or None to take the tables' (a search without a run; without
    tables either, ImageNet's 1000, as once-for-all's predictors speak for).
    `calibration`: auto_calibrate, progress and warn, as latency_predictors takes them."""
    found = latency_predictors(space, devices, num_classes, tables, **calibration)
    if found:
        num_classes = next(iter(found.values()))[0].table.num_classes
    elif num_classes is None:
        num_classes = DEFAULT_CLASSES
    return (Evaluator(space, predictor, {d: p for d, (p, _) in found.items()}, CostTable(space, num_classes)),
            {d: path for d, (_, path) in found.items()})


def open_space_predictor(space: Space, predictor_path: Path) -> AccuracyPredictor:
    """A predictor bound to a space alone (an imported one), for a search without a run folder."""
    predictor = load_predictor(Path(predictor_path), space)
    if predictor.supernet is not None:
        raise OfaError(f"{predictor_path} learned from a supernet run ({describe(predictor.supernet)}); "
                       f"search with --supernet RUN instead of --space")
    return predictor


def random_cloud(evaluator: Evaluator, n: int = 1000, seed: int = 0):
    """Random subnets across the whole size range, for the picture behind the front."""
    from ofa.predictor.sampling import biased_genes

    genes = evaluator.valid(biased_genes(evaluator.space, n, np.random.default_rng(seed)))
    return genes, evaluator(genes)
