"""The five stages of a pipeline as plain functions, each a pair (is its output complete?, make it)
over a `Context`: the pipeline's folder, and how to report progress."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from ofa.errors import OfaError


@dataclass
class Context:
    out: Path
    progress: Callable | None = None
    warn: Callable[[str], None] | None = None
    data_root: str | None = None
    on_step: Callable[[dict], None] | None = None  # training: as `train-supernet` reports each step
    on_validate: Callable[[list], None] | None = None

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


def train_done(ctx: Context, s: dict) -> bool:
    return (ctx.run / "supernet.safetensors").is_file()


def train(ctx: Context, s: dict) -> None:
    from ofa.train.recipes import load_recipe
    from ofa.train.run_folder import RunFolder
    from ofa.train.trainer import train_supernet

    folder = RunFolder(ctx.run)
    resume = folder.holds_run()  # a run stopped half-way continues from its checkpoint
    spec = load_recipe(folder.recipe) if resume else load_recipe(s["recipe"], s["set"])
    train_supernet(spec, ctx.run, resume=resume, data_root=ctx.data_root, on_step=ctx.on_step,
                   on_validate=ctx.on_validate, again="the same `ofa run` command (it continues where it stopped)")


def latency_done(ctx: Context, s: dict) -> bool:
    from ofa.latency.predict import LatencyPredictor
    from ofa.latency.table import load_table
    from ofa.spaces import get_space

    path = ctx.table(s["device"])
    if not path.is_file():
        return False
    table = load_table(path)
    try:
        LatencyPredictor(table, get_space(table.space))
    except OfaError:  # entries missing: the build stopped half-way
        return False
    return table.calibration is not None


def latency(ctx: Context, s: dict) -> None:
    from ofa.devices import get_device
    from ofa.latency.build import calibrate, measure_parts, open_table, resolutions_for
    from ofa.spaces import get_space
    from ofa.train.run_folder import RunFolder

    profile = get_device(s["device"])
    space = get_space(RunFolder(ctx.run).read_info()["space"])
    path = ctx.table(profile.name)
    table = open_table(path, profile, space, resolutions_for(space, profile, s["resolutions"]), ctx.num_classes(),
                       force=False)
    measure_parts(table, space, profile, path, ctx.progress)
    calibrate(table, space, profile, path, s["calibrate"], progress=ctx.progress)


def collect_done(ctx: Context, s: dict) -> bool:
    from ofa.predictor.accuracy_data import default_data_path, read_accuracy_data

    path = default_data_path(ctx.run)
    if not path.is_file():
        return False
    rows = [r for r in read_accuracy_data(path).rows if r.get("source") == "collect"]
    return len(rows) >= s["n"]


def collect(ctx: Context, s: dict) -> None:
    from ofa.predictor.collect import collect

    collect(ctx.run, s["n"], s["seed"], data_root=ctx.data_root, progress=ctx.progress)


def predictor_done(ctx: Context, s: dict) -> bool:
    from ofa.predictor.accuracy_data import default_data_path
    from ofa.predictor.store import default_predictor_path

    model, data = default_predictor_path(ctx.run), default_data_path(ctx.run)
    return model.is_file() and data.is_file() and model.stat().st_mtime >= data.stat().st_mtime


def predictor(ctx: Context, s: dict) -> None:
    from ofa.predictor.accuracy_data import default_data_path, read_accuracy_data
    from ofa.predictor.train import train_predictor

    train_predictor(ctx.run, read_accuracy_data(default_data_path(ctx.run)), s["model"])


def specialize_done(ctx: Context, s: dict) -> bool:
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


def specialize(ctx: Context, s: dict) -> None:
    from ofa.devices import get_device
    from ofa.search.settings import Settings
    from ofa.specialize.run import Request, specialize
    from ofa.specialize.targets import parse_targets

    device = get_device(s["device"]).name
    budgets = budgets_in_range(ctx, device, s["latency"])
    req = Request(run=ctx.run, targets=parse_targets([device], budgets), out=ctx.models,
                  finetune_epochs=s["finetune_epochs"], tables={device: ctx.table(device)},
                  settings=Settings(s["population"], s["generations"]), data_root=ctx.data_root)
    specialize(req, ctx.progress, ctx.warn)
