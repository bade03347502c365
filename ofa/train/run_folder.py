"""A training run's folder: what is in it, and the rule that a run is never overwritten by accident.

    runs/NAME/
      run.json              space, fingerprint, classes, data: what `ofa evaluate` needs
      recipe.yaml           the recipe as run (after command-line overrides)
      checkpoints/          last.* (and last.prev.*), atomic, resumable
      metrics.jsonl         one JSON object per training epoch and per validated subnet
      accuracy.png          accuracy of each validated subnet across the phases
      supernet.safetensors  final weights
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from ofa.errors import OfaError
from ofa.files import ensure_writable_folder, read_json, read_yaml

RUN_FORMAT = "ofa-supernet-run/1"


@dataclass(frozen=True)
class RunFolder:
    root: Path

    @property
    def info(self) -> Path:
        return self.root / "run.json"

    @property
    def recipe(self) -> Path:
        return self.root / "recipe.yaml"

    @property
    def checkpoints(self) -> Path:
        return self.root / "checkpoints"

    @property
    def metrics(self) -> Path:
        return self.root / "metrics.jsonl"

    @property
    def plot(self) -> Path:
        return self.root / "accuracy.png"

    @property
    def weights(self) -> Path:
        return self.root / "supernet.safetensors"

    def load_weights(self) -> dict[str, Any]:
        """The final weights (supernet.safetensors) as a state dict of tensors."""
        from safetensors import SafetensorError
        from safetensors.torch import load_file

        try:
            return load_file(str(self.weights))
        except (SafetensorError, OSError) as e:
            raise OfaError(f"{self.weights}: cannot read weights ({e})") from None

    def holds_run(self) -> bool:
        return self.info.exists() or self.checkpoints.exists()

    def prepare(self, resume: bool) -> None:
        """Make the folder ready to train in (see `work_folder` for which folder that is)."""
        if resume:
            if not self.holds_run():
                raise OfaError(f"nothing to resume in {self.root} (no run.json or checkpoints/)")
            self.read_info()  # a corrupt run.json is refused here, as `ofa evaluate` refuses it
            return
        if self.root.name.endswith(".partial"):  # a replacement stopped earlier starts over
            shutil.rmtree(self.root, ignore_errors=True)
        ensure_writable_folder(self.root, "--out")

    def step(self) -> int | None:
        """The global step of the last checkpoint, if any."""
        try:
            return int(json.loads((self.checkpoints / "last.json").read_text())["state"]["position"]["global_step"])
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def write_info(self, info: dict[str, Any], recipe: dict[str, Any]) -> None:
        _atomic_text(self.info, json.dumps({"format": RUN_FORMAT, **info}, indent=2))
        _atomic_text(self.recipe, yaml.safe_dump(recipe, sort_keys=False))

    def read_recipe(self) -> dict[str, Any]:
        recipe = read_yaml(self.recipe, "recipe.yaml of the run")
        if not isinstance(recipe, dict):
            raise OfaError(f"{self.recipe}: not a recipe (expected a mapping)")
        return recipe

    def read_info(self) -> dict[str, Any]:
        if not self.info.is_file():
            raise OfaError(f"{self.root} is not a supernet run (no run.json)")
        info = read_json(self.info, "run.json")
        if not isinstance(info, dict) or info.get("format") != RUN_FORMAT:
            raise OfaError(f"{self.info} is not an ofa supernet run (expected format '{RUN_FORMAT}')")
        return info

    # -- metrics ---------------------------------------------------------------------------------
    def append_metrics(self, rows: list[dict[str, Any]]) -> None:
        with self.metrics.open("a") as f:
            for row in rows:
                f.write(json.dumps(row) + "\n")

    def read_metrics(self) -> list[dict[str, Any]]:
        if not self.metrics.is_file():
            return []
        return [json.loads(line) for line in self.metrics.read_text().splitlines() if line.strip()]

    def truncate_metrics(self, global_step: int) -> None:
        """On resume, drop rows written after the checkpoint; they will be written again."""
        kept = [r for r in self.read_metrics() if r.get("global_step", 0) <= global_step]
        _atomic_text(self.metrics, "".join(json.dumps(r) + "\n" for r in kept))


def staging_folder(out: Path) -> RunFolder:
    """Where `--force` trains the run that replaces the one in `out`: `out` stays whole until the
    new run is complete and swapped in (a --force killed early used to leave neither run)."""
    out = Path(out)
    return RunFolder(out.parent / f".{out.name}.partial")


def work_folder(out: Path, resume: bool, force: bool) -> RunFolder:
    """The folder a run trains in: `out`, or its staging folder when --force replaces a run there
    (and when --resume continues such a replacement). Decided before anything is changed."""
    out, staged = Path(out), staging_folder(out)
    if resume and force:
        raise OfaError("--resume and --force contradict each other: choose one")
    if resume:
        return staged if staged.holds_run() else RunFolder(out)
    if RunFolder(out).holds_run():
        if not force:
            stopped = (f"; a --force replacement stopped at step {staged.step() or 0} is in {staged.root}: "
                       f"--resume continues it") if staged.holds_run() else ""
            raise OfaError(f"{out} already holds a run; pass --resume to continue it or --force to replace it{stopped}")
        return staged
    return RunFolder(out)


def swap_in(work: RunFolder, out: Path) -> None:
    """Put a finished staged run in place of the run it replaces."""
    out = Path(out)
    old = out.parent / f".{out.name}.replaced"
    shutil.rmtree(old, ignore_errors=True)
    if out.exists():
        os.replace(out, old)
    os.replace(work.root, out)
    shutil.rmtree(old, ignore_errors=True)


def _atomic_text(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def plot_accuracy(rows: list[dict[str, Any]], path: Path, title: str) -> Path | None:
    """Top-1 of every validated subnet against training epoch, phases shaded and named."""
    val = [r for r in rows if r.get("kind") == "val"]
    if not val:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4), dpi=120)
    for name in dict.fromkeys(r["name"] for r in val):
        pts = [(r["epoch_total"], r["top1"]) for r in val if r["name"] == name]
        ax.plot(*zip(*pts), marker="o", ms=3, label=name)
    starts: dict[str, float] = {}
    for r in val:
        starts.setdefault(r["phase_name"], r["epoch_total"] - r["epoch"])
    for i, (phase, start) in enumerate(starts.items()):
        ax.axvline(start, color="0.8", lw=0.8)
        ax.text(start, 1.0, f" {phase}", transform=ax.get_xaxis_transform(), va="top", fontsize=7, color="0.4")
    ax.set_xlabel("epoch (all phases)")
    ax.set_ylabel("top-1 accuracy (%)")
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path
