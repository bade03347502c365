"""`ofa run PIPELINE`: every stage from supernet training to specialized models, as data.

A pipeline is a YAML file (`pipelines/NAME.pipeline.yaml`, or any path) naming an output folder
and its stages in order, each with its settings. A stage whose output is complete is skipped; the
stages that stopped half-way resume (training from its checkpoint, the table and the accuracy data
from what they hold, specialize from its staging folder). So after an interruption, the same
command continues where it stopped."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from ofa import fields
from ofa.errors import OfaError, shown
from ofa.files import read_yaml
from ofa.resources import data_dir
from ofa.pipeline import stages
from ofa.pipeline.stages import Context

SUFFIX = ".pipeline.yaml"


# -- each stage's settings, checked when the pipeline is read (defaults stated here, once) ----------
# A pipeline's stages are quicker than the commands' defaults: the quick start must end in minutes,
# so it collects 100 subnets (the CLI: 500) and calibrates on 10 (the CLI: 30).


def _device(value: Any, where: str) -> str:
    from ofa.devices import get_device

    return get_device(fields.name(value, where)).name


def _recipe(value: Any, where: str) -> str:
    return fields.text(value, where, longest=1_000)


def _overrides(value: Any, where: str) -> dict:
    if not isinstance(value, dict):
        raise fields.fail(where, "a mapping of recipe fields to values (dotted names allowed)", value)
    return value


def _resolutions(value: Any, where: str) -> list[int] | None:
    if value is None:
        return None
    return [fields.whole(r, where, "resolution") for r in fields.items(value, where, "a list of resolutions")]


def _budgets(value: Any, where: str) -> list[str]:
    from ofa.search.budget import parse_latency

    out = []
    for b in fields.items(value, where, "a list of budgets such as [2ms, 40%]"):
        text = fields.text(b, where, longest=100).strip()
        if text.endswith("%"):
            if not re.fullmatch(r"[0-9]{1,3}(\.[0-9]{1,6})?", text[:-1].strip()) or float(text[:-1]) > 100:
                raise fields.fail(where, "a share from 0% to 100% (of the way from the smallest subnet's latency "
                                         "to the largest's)", b)
        else:
            try:
                parse_latency(text)
            except OfaError as e:
                raise OfaError(f"{where}: {e}") from None
        out.append(text)
    return out


def _model(value: Any, where: str) -> str:
    from ofa.predictor.models import MODELS

    return fields.text(value, where, tuple(MODELS))


def _count(kind: str, low: int | None = None) -> Callable[[Any, str], int]:
    return lambda value, where: fields.whole(value, where, kind, low)


@dataclass(frozen=True)
class Stage:
    done: Callable[[Context, dict], bool]
    run: Callable[[Context, dict], None]
    output: Callable[[Context, dict], Path]
    what: str
    settings: dict[str, tuple[Any, Callable[[Any, str], Any]]]  # name -> (default, check)


STAGES: dict[str, Stage] = {
    "train": Stage(stages.train_done, stages.train, lambda c, s: c.run, "supernet",
                   {"recipe": ("quickstart", _recipe), "set": ({}, _overrides)}),
    "latency": Stage(stages.latency_done, stages.latency, lambda c, s: c.table(s["device"]), "latency table",
                     {"device": ("cpu", _device), "resolutions": (None, _resolutions),
                      "calibrate": (10, _count("subnets", 2))}),
    "collect": Stage(stages.collect_done, stages.collect, lambda c, s: c.run / "predictor" / "accuracy.jsonl", "accuracy data",
                     {"n": (100, _count("subnets")), "seed": (0, _count("seed"))}),
    "predictor": Stage(stages.predictor_done, stages.predictor, lambda c, s: c.run / "predictor" / "predictor.json",
                       "accuracy predictor", {"model": ("trees", _model)}),
    "specialize": Stage(stages.specialize_done, stages.specialize, lambda c, s: c.models, "specialized models",
                        {"device": ("cpu", _device), "latency": (["50%"], _budgets),
                         "finetune_epochs": (0, _count("epochs")), "population": (100, _count("population")),
                         "generations": (100, _count("generations"))}),
}


def _settings(stage: str, given: Any, where: str) -> dict[str, Any]:
    """A stage's settings with every default filled in and every value checked."""
    known = STAGES[stage].settings
    given = fields.mapping({} if given is None else given, where, tuple(known))
    return {name: check(given[name], f"{where}.{name}") if name in given else default
            for name, (default, check) in known.items()}


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
    fields.mapping(d, str(path), ("description", "out", "stages"))
    chosen = []
    for i, item in enumerate(d["stages"]):
        if not isinstance(item, dict) or len(item) != 1:
            raise OfaError(f"{path}: stages[{i}] must be one 'name: settings' pair")
        (stage, settings), = item.items()
        if stage not in STAGES:
            raise OfaError(f"{path}: stages[{i}] is {shown(stage)}; known stages: {', '.join(STAGES)}")
        chosen.append((stage, _settings(stage, settings, f"{path}: stages[{i}].{stage}")))
    for stage, s in chosen:
        if stage == "train":  # the recipe and its overrides, checked now rather than when training starts
            from ofa.train.recipes import load_recipe

            load_recipe(s["recipe"], s["set"])
    description = fields.text(d["description"], f"{path}: description") if "description" in d else ""
    where = d.get("out")
    if where is not None:
        fields.text(where, f"{path}: out", longest=1_000)
    return Pipeline(path.name.removesuffix(SUFFIX), description,
                    Path(out or where or f"runs/{path.name.removesuffix(SUFFIX)}"), chosen)


PARTS = ("supernet", "latency", "models")  # what a pipeline makes in its folder (see Context)


def check_pipeline_out(out: Path) -> None:
    """Before the first stage: the pipeline's folder is new, or holds only what a pipeline makes
    (and their hidden staging and lock files): a folder of other files is refused, not mixed into."""
    from ofa.outputs import check_writable_folder

    check_writable_folder(out, "--out")
    if not out.is_dir():
        return
    other = [p.name for p in out.iterdir() if p.name.lstrip(".").split(".")[0] not in PARTS]
    if other:
        raise OfaError(f"--out {out} holds files a pipeline did not make ({', '.join(sorted(other)[:3])}"
                       f"{', ...' if len(other) > 3 else ''}); choose another --out")


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
