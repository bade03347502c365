"""`ofa run PIPELINE`: every stage from supernet training to specialized models, as data.

A pipeline is a YAML file (`pipelines/NAME.pipeline.yaml`, or any path) naming an output folder
and its stages in order, each with its settings. A stage whose output is complete is skipped; the
stages that stopped half-way resume (training from its checkpoint, the table and the accuracy data
from what they hold, specialize from its staging folder). So after an interruption, the same
command continues where it stopped."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from ofa.errors import OfaError
from ofa.files import read_yaml
from ofa.resources import data_dir

SUFFIX = ".pipeline.yaml"


@dataclass
class Context:
    out: Path
    progress: Callable | None = None
    warn: Callable[[str], None] | None = None
    data_root: str | None = None

    @property
    def run(self) -> Path:
        return self.out / "supernet"

    @property
    def models(self) -> Path:
        return self.out / "models"

    def table(self, device: str) -> Path:
        from ofa.devices import get_device
        from ofa.train.run_folder import RunFolder

        space = RunFolder(self.run).read_info()["space"]
        return self.out / "latency" / get_device(device).name / f"{space}.json"

    def num_classes(self) -> int:
        from ofa.train.run_folder import RunFolder

        return int(RunFolder(self.run).read_info()["num_classes"])


# -- the stages: (is its output complete?, run it, where its output is) ---------------------------


def _train_done(ctx: Context, s: dict) -> bool:
    return (ctx.run / "supernet.safetensors").is_file()


def _train(ctx: Context, s: dict) -> None:
    from ofa.train.recipe import load_recipe
    from ofa.train.run_folder import RunFolder
    from ofa.train.trainer import train_supernet

    folder = RunFolder(ctx.run)
    resume = folder.holds_run()  # a run stopped half-way continues from its checkpoint
    spec = load_recipe(folder.recipe) if resume else load_recipe(s.get("recipe", "quickstart"), s.get("set", {}))
    train_supernet(spec, ctx.run, resume=resume, data_root=ctx.data_root,
                   again="the same `ofa run` command (it continues where it stopped)")


def _latency_done(ctx: Context, s: dict) -> bool:
    from ofa.latency.predict import LatencyPredictor
    from ofa.latency.table import load_table
    from ofa.spaces import get_space

    path = ctx.table(s.get("device", "cpu"))
    if not path.is_file():
        return False
    table = load_table(path)
    try:
        LatencyPredictor(table, get_space(table.space))
    except OfaError:  # entries missing: the build stopped half-way
        return False
    return table.calibration is not None


def _latency(ctx: Context, s: dict) -> None:
    from ofa.devices import get_device
    from ofa.latency.build import calibrate, measure_parts, open_table, resolutions_for
    from ofa.spaces import get_space
    from ofa.train.run_folder import RunFolder

    profile = get_device(s.get("device", "cpu"))
    space = get_space(RunFolder(ctx.run).read_info()["space"])
    path = ctx.table(profile.name)
    table = open_table(path, profile, space, resolutions_for(space, profile, s.get("resolutions")), ctx.num_classes(),
                       force=False)
    measure_parts(table, space, profile, path, ctx.progress)
    calibrate(table, space, profile, path, int(s.get("calibrate", 10)), progress=ctx.progress)


def _collect_done(ctx: Context, s: dict) -> bool:
    from ofa.predictor.accuracy_data import default_data_path, read_accuracy_data

    path = default_data_path(ctx.run)
    if not path.is_file():
        return False
    rows = [r for r in read_accuracy_data(path).rows if r.get("source") == "collect"]
    return len(rows) >= int(s.get("n", 100))


def _collect(ctx: Context, s: dict) -> None:
    from ofa.predictor.collect import collect

    collect(ctx.run, int(s.get("n", 100)), int(s.get("seed", 0)), data_root=ctx.data_root, progress=ctx.progress)


def _predictor_done(ctx: Context, s: dict) -> bool:
    from ofa.predictor.accuracy_data import default_data_path
    from ofa.predictor.store import default_predictor_path

    model, data = default_predictor_path(ctx.run), default_data_path(ctx.run)
    return model.is_file() and data.is_file() and model.stat().st_mtime >= data.stat().st_mtime


def _predictor(ctx: Context, s: dict) -> None:
    from ofa.predictor.accuracy_data import default_data_path, read_accuracy_data
    from ofa.predictor.train import train_predictor

    train_predictor(ctx.run, read_accuracy_data(default_data_path(ctx.run)), s.get("model", "trees"))


def _specialize_done(ctx: Context, s: dict) -> bool:
    return (ctx.models / "summary.json").is_file()


def budgets_in_range(ctx: Context, device: str, budgets: list[str]) -> list[str]:
    """`40%` is 40% of the way from the smallest subnet's latency to the largest's on this
    device's table: a pipeline that runs on any machine cannot name milliseconds in advance."""
    from ofa.latency.predict import LatencyPredictor
    from ofa.latency.table import load_table
    from ofa.spaces import get_space

    out, extremes = [], None
    for b in budgets:
        text = str(b).strip()
        if not text.endswith("%"):
            out.append(text)
            continue
        if extremes is None:
            table = load_table(ctx.table(device))
            extremes = LatencyPredictor(table, get_space(table.space)).extremes()
        lo, hi = extremes
        out.append(f"{lo + float(text[:-1]) / 100 * (hi - lo):.3g}ms")
    return out


def _specialize(ctx: Context, s: dict) -> None:
    from ofa.devices import get_device
    from ofa.search.settings import Settings
    from ofa.specialize.run import Request, specialize
    from ofa.specialize.targets import parse_targets

    device = get_device(s.get("device", "cpu")).name
    budgets = budgets_in_range(ctx, device, list(s.get("latency", ["50%"])))
    req = Request(run=ctx.run, targets=parse_targets([device], budgets), out=ctx.models,
                  finetune_epochs=int(s.get("finetune_epochs", 0)), tables={device: ctx.table(device)},
                  settings=Settings(int(s.get("population", 100)), int(s.get("generations", 100))),
                  data_root=ctx.data_root)
    specialize(req, ctx.progress, ctx.warn)


@dataclass(frozen=True)
class Stage:
    done: Callable[[Context, dict], bool]
    run: Callable[[Context, dict], None]
    output: Callable[[Context, dict], Path]
    what: str
    settings: tuple[str, ...]


STAGES: dict[str, Stage] = {
    "train": Stage(_train_done, _train, lambda c, s: c.run, "supernet", ("recipe", "set")),
    "latency": Stage(_latency_done, _latency, lambda c, s: c.table(s.get("device", "cpu")), "latency table",
                     ("device", "resolutions", "calibrate")),
    "collect": Stage(_collect_done, _collect, lambda c, s: c.run / "predictor" / "accuracy.jsonl", "accuracy data",
                     ("n", "seed")),
    "predictor": Stage(_predictor_done, _predictor, lambda c, s: c.run / "predictor" / "predictor.json",
                       "accuracy predictor", ("model",)),
    "specialize": Stage(_specialize_done, _specialize, lambda c, s: c.models, "specialized models",
                        ("device", "latency", "finetune_epochs", "population", "generations")),
}


@dataclass(frozen=True)
class Pipeline:
    name: str
    description: str
    out: Path
    stages: list[tuple[str, dict[str, Any]]]


def find_pipeline(name: str) -> Path:
    path = Path(name)
    if path.suffix in (".yaml", ".yml") or path.is_file():
        return path
    shipped = data_dir("pipelines") / f"{name}{SUFFIX}"
    if not shipped.is_file():
        known = sorted(p.name[: -len(SUFFIX)] for p in data_dir("pipelines").glob(f"*{SUFFIX}"))
        raise OfaError(f"unknown pipeline '{name}'; shipped: {', '.join(known)}; or give a YAML file")
    return shipped


def load_pipeline(name: str, out: Path | None = None) -> Pipeline:
    path = find_pipeline(name)
    d = read_yaml(path, "pipeline")
    if not isinstance(d, dict) or not isinstance(d.get("stages"), list) or not d["stages"]:
        raise OfaError(f"{path}: a pipeline needs a non-empty list 'stages'")
    unknown = set(d) - {"description", "out", "stages"}
    if unknown:
        raise OfaError(f"{path}: unknown field(s) {sorted(unknown)}; known: description, out, stages")
    stages = []
    for i, item in enumerate(d["stages"]):
        if not isinstance(item, dict) or len(item) != 1:
            raise OfaError(f"{path}: stages[{i}] must be one 'name: settings' pair")
        (stage, settings), = item.items()
        if stage not in STAGES:
            raise OfaError(f"{path}: stages[{i}] is '{stage}'; known stages: {', '.join(STAGES)}")
        if settings is not None and not isinstance(settings, dict):
            raise OfaError(f"{path}: stages[{i}].{stage} must be a mapping of settings")
        wrong = set(settings or {}) - set(STAGES[stage].settings)
        if wrong:
            raise OfaError(f"{path}: stages[{i}].{stage} has unknown setting(s) {sorted(wrong)}; "
                           f"known: {', '.join(STAGES[stage].settings)}")
        stages.append((stage, dict(settings or {})))
    return Pipeline(path.name.removesuffix(SUFFIX), str(d.get("description", "")),
                    Path(out or d.get("out") or f"runs/{path.name.removesuffix(SUFFIX)}"), stages)


def run_pipeline(p: Pipeline, ctx: Context, on_stage: Callable[[str, str], None] | None = None) -> list[dict]:
    """Run (or skip) each stage in order; one row per stage: name, status, seconds, output."""
    rows = []
    for name, settings in p.stages:
        stage = STAGES[name]
        start = time.perf_counter()
        if stage.done(ctx, settings):
            status = "complete (skipped)"
        else:
            if on_stage:
                on_stage(name, stage.what)
            stage.run(ctx, settings)
            status = "ran"
        rows.append({"stage": name, "status": status, "seconds": round(time.perf_counter() - start, 1),
                     "output": str(stage.output(ctx, settings))})
    return rows
