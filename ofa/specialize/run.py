"""`ofa specialize`: from a trained supernet to one verified, deployable model per (device, budget).

One search serves every target. For each, the most accurate subnet predicted within its budget is
extracted, BN re-calibrated, exported and verified. Where the device is this machine, the exported
file is measured and, if it misses the budget, the next subnet of the front is taken (each miss
also tightens what later candidates must be predicted at). Then, optionally, fine-tuning, and the
model card."""

from __future__ import annotations

import shutil
import time
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

from ofa.devices import get_device
from ofa.errors import OfaError
from ofa.files import read_json, write_json
from ofa.search.settings import DEFAULT_STRATEGY, Settings
from ofa.specialize.card import plot_choice, versions, write_card
from ofa.specialize.package import Staging, check_formats, refuse_existing, write_model, writing
from ofa.specialize.targets import Target, candidates, closed_loop
from ofa.spaces import decode
from ofa.search.columns import latency_column


@dataclass
class Request:
    run: Path
    targets: list[Target]
    out: Path
    finetune_epochs: int = 0
    formats: list[str] = field(default_factory=lambda: ["onnx", "static"])
    auto_calibrate: bool = True
    closed_loop: bool = True
    predictor: Path | None = None
    tables: dict[str, Path] | None = None  # device -> table file (default: ./latency, then packaged)
    settings: Settings = field(default_factory=Settings)
    force: bool = False
    data_root: str | None = None
    download: bool = False
    data: str | None = None  # labelled images to measure accuracy on (default: the run's held-out split)
    calib_data: str | None = None  # images for BatchNorm statistics (default: the run's training data)

    def fingerprint(self) -> dict[str, Any]:
        """What must match for an interrupted run's staging folder to be continued."""
        return {"run": str(Path(self.run).resolve()), "targets": [asdict(t) for t in self.targets],
                "finetune_epochs": self.finetune_epochs, "formats": sorted(self.formats),
                "predictor": str(self.predictor), "settings": asdict(self.settings), "closed_loop": self.closed_loop,
                "data": self.data, "calib_data": self.calib_data}


class Stopwatch:
    """Seconds per stage, summed over targets."""

    def __init__(self):
        self.seconds: dict[str, float] = defaultdict(float)
        self._last = time.perf_counter()

    def lap(self, stage: str) -> None:
        now = time.perf_counter()
        self.seconds[stage] += now - self._last
        self._last = now


def table_error(table_path: Path, space: str) -> dict[str, float] | None:
    """The table's own validation report (`ofa latency validate`), if one lies beside it."""
    report = Path(table_path).parent / f"{space}.validate.json"
    if not report.is_file():
        return None
    try:
        d = read_json(report, "validation report")
        acc = d.get("after") or d["before"]
        return {"mape": float(acc["mape"]), "within_10pct": float(acc["within_10pct"]), "subnets": len(d["subnets"]),
                "report": str(report)}
    except (OfaError, KeyError, TypeError, ValueError):
        return None


OUTPUT_KIND = "models"  # the output folder's kind (ofa.outputs): `--force` replaces only one of these


def specialize(req: Request, progress: Callable | None = None, warn: Callable[[str], None] | None = None) -> dict:
    """Every target's model in req.out (see the module docstring); the output is checked first and
    locked while it is written."""
    check_formats(req.formats)
    refuse_existing(req.out, req.force, OUTPUT_KIND)
    with writing(req.out, OUTPUT_KIND):
        return _specialize(req, progress, warn)


def _specialize(req: Request, progress: Callable | None, warn: Callable[[str], None] | None) -> dict:
    from ofa.latency.host import is_local
    from ofa.latency.table import source_text
    from ofa.predictor.accuracy_data import supernet_fingerprint
    from ofa.search.run import check_budgets, make_evaluator, open_run_predictor, random_cloud, search
    from ofa.train.run_accuracy import SubnetMeter

    clock = Stopwatch()
    formats = check_formats(list(dict.fromkeys(["onnx", *req.formats])))
    if req.finetune_epochs < 0:
        raise OfaError(f"--finetune-epochs must be 0 or more, got {req.finetune_epochs}")
    predictor, predictor_path, num_classes = open_run_predictor(req.run, req.predictor)
    # the images (for BN statistics, and labelled ones where fine-tuning needs them) before tables and search
    meter = SubnetMeter(req.run, req.data, data_root=req.data_root, download=req.download, calib_data=req.calib_data)
    if req.finetune_epochs:
        meter.require_labels()
    clock.lap("load supernet")
    space = predictor.space
    devices = list(dict.fromkeys(t.device for t in req.targets))
    evaluator, tables = make_evaluator(space, predictor, devices, num_classes, req.tables,
                                       auto_calibrate=req.auto_calibrate, progress=progress, warn=warn)
    for t in req.targets:
        check_budgets(evaluator, {latency_column(t.device): t.budget_ms})
    staging = Staging(req.out, req.force, req.fingerprint(), OUTPUT_KIND)
    clock.lap("tables")

    result = search(evaluator, ["acc", *(latency_column(d) for d in devices)], {}, DEFAULT_STRATEGY, req.settings, progress,
                    targets=[{latency_column(t.device): t.budget_ms} for t in req.targets])
    genes, values = result.problem.archive()
    _, cloud = random_cloud(evaluator, seed=req.settings.seed)
    clock.lap("search")
    shared = {"supernet": {"run": str(req.run), **supernet_fingerprint(req.run)}, "predictor": str(predictor_path)}
    models = []
    teacher = None
    for target in req.targets:
        folder = staging.partial / target.label
        if (folder / "card.json").is_file():  # finished before an interruption
            models.append(read_json(folder / "card.json", "model card"))
            continue
        profile = get_device(target.device)
        local = req.closed_loop and is_local(profile)
        static, i, export, attempts, measured = _choose(target, genes, values, meter, folder, formats, profile, local,
                                                        clock, progress)
        if measured is not None and measured > target.budget_ms and warn:
            warn(f"warning: {target.label}: no subnet measured within the budget in {len(attempts)} tries; kept the "
                 f"fastest, {measured:.3f} ms")
        card = {
            "label": target.label, "device": target.device, "budget_ms": target.budget_ms,
            "batch_size": profile.batch_size, "budget_per": "image" if profile.batch_size == 1 else "batch",
            "subnet": str(decode(space, genes[i])), "resolution": static.config.resolution,
            "macs": int(values["macs"][i]), "params": int(values["params"][i]),
            "accuracy": {"predicted": float(values["acc"][i]), "predicted_std": float(values["acc_std"][i]),
                         "split": meter.settings["split"], "data": meter.settings["data_name"],
                         "bn_calibrated": meter.accuracy(static) if meter.labelled else None,
                         "bn_calibration": meter.calibration_note(), "finetune_epochs": req.finetune_epochs},
        }
        clock.lap("evaluate")
        if req.finetune_epochs:
            from ofa.specialize.finetune import finetune

            if teacher is None:
                teacher = meter.calibrated("max")
            history = finetune(static, teacher, meter.recipe, req.finetune_epochs, folder / "finetune", meter.device,
                               req.data_root, req.download, progress, data=req.data)
            clock.lap("fine-tune")
            card["accuracy"].update(finetuned=meter.accuracy(static), finetune_history=history)
            clock.lap("evaluate")
            export = write_model(static, folder, formats, profile.precision)
            shutil.rmtree(folder / "finetune", ignore_errors=True)
            clock.lap("export + verify")
        table = tables[target.device]
        card["latency"] = {
            "predicted_ms": float(values[latency_column(target.device)][i]), "table": str(table),
            "table_error": table_error(table, space.name),
            "table_source": source_text(evaluator.latency[target.device].table), "attempts": attempts,
            "measured_ms": measured,
            "measured_how": f"{profile.backend}, {profile.statistic} of {profile.iterations} runs of model.onnx "
                            f"(batch {profile.batch_size})" if attempts else None,
            "why_not_measured": None if attempts else (
                "closed loop turned off" if not req.closed_loop else
                f"{profile.name} is not this machine: the prediction stands, with the table's error"),
            "within_budget": None if measured is None else measured <= target.budget_ms,
        }
        card.update(export=export, versions=versions(), **shared)

        front = candidates(genes, values, Target(target.device, np.inf))
        plot_choice(values, front[np.argsort(values[latency_column(target.device)][front])], cloud, card,
                    folder / "pareto.png")
        write_card(folder, card)
        export["files"].update(card="card.json", card_md="card.md", plot="pareto.png")
        models.append(card)
        clock.lap("card")
    summary = {"models": [{"label": m["label"], "folder": str(req.out / m["label"]), "subnet": m["subnet"],
                           "accuracy": m["accuracy"], "latency": {k: m["latency"][k] for k in
                                                                  ("predicted_ms", "measured_ms", "within_budget")},
                           "budget_ms": m["budget_ms"], "device": m["device"]} for m in models],
               "search": {"evaluations": result.problem.evaluations, "seconds": result.info["seconds"]},
               "tables": {d: str(p) for d, p in tables.items()}, "seconds": dict(clock.seconds), **shared}
    summary["seconds"]["total"] = sum(clock.seconds.values())
    write_json(staging.partial / "summary.json", summary)
    staging.commit()
    return summary


def _choose(target: Target, genes, values, meter, folder: Path, formats, profile, local: bool, clock: Stopwatch,
            progress: Callable | None = None):
    """The subnet for the target, exported: on a device that is this machine the one
    `closed_loop` keeps, else the most accurate predicted within the budget."""
    from ofa.latency.measure import measure_exported

    space, column = meter.model.space, latency_column(target.device)
    exported: dict[str, Any] = {}

    def export(i: int) -> None:
        if exported.get("index") == i:
            return
        step = (lambda what, done, total: progress(f"{target.label}: {what}", done, total)) if progress else None
        static = meter.calibrated(decode(space, genes[i]), step)
        clock.lap("extract + BN")
        if folder.exists():
            shutil.rmtree(folder)
        exported.update(index=i, static=static, export=write_model(static, folder, formats, profile.precision))
        clock.lap("export + verify")

    def measure(i: int) -> float:
        export(i)
        ms = measure_exported(folder / "model.onnx", exported["static"], profile).value(profile.statistic)
        clock.lap("measure")
        return ms

    if not local:
        order = candidates(genes, values, target)
        if not len(order):
            raise OfaError(f"no subnet of the front is predicted within {target.budget_ms:g} ms on {target.device}")
        export(int(order[0]))
        return exported["static"], int(order[0]), exported["export"], [], None
    i, measured = closed_loop(genes, values, target, measure)
    export(i)
    attempts = [{"subnet": str(decode(space, genes[j])), "predicted_ms": float(values[column][j]), "measured_ms": ms}
                for j, ms in measured]
    return exported["static"], i, exported["export"], attempts, dict(measured)[i]
