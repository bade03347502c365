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
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from ofa import fields
from ofa.errors import OfaError
from ofa.files import parse_json, read_json, read_yaml, save_figure, write_atomic
from ofa.outputs import check_writable_folder, ensure_writable_folder
from ofa.outputs import check_free, check_out_folder, kind_of, mark, remove_own
from ofa.outputs import swap_in as _swap_folders
from ofa.torch_files import check_finite

RUN_FORMAT = "ofa-supernet-run/1"
KIND = "supernet-run"  # the output marker of a run folder and of its staging folder (ofa.outputs)


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
            weights = load_file(str(self.weights))
        except (SafetensorError, OSError) as e:
            raise OfaError(f"{self.weights}: cannot read weights ({e})") from None
        check_finite(weights, str(self.weights))
        return weights

    def holds_run(self) -> bool:
        return self.info.exists() or self.checkpoints.exists()

    def prepare(self, resume: bool) -> None:
        """Make the folder ready to train in (see `work_folder` for which folder that is)."""
        if resume:
            if not self.holds_run():
                raise OfaError(f"nothing to resume in {self.root} (no run.json or checkpoints/)")
            self.read_info()  # a corrupt run.json is refused here, as `ofa evaluate` refuses it
            return
        if self.root.name.startswith(".") and self.root.name.endswith(".partial"):
            remove_own(self.root, (KIND,))  # a replacement stopped earlier starts over
        ensure_writable_folder(self.root, "--out")
        mark(self.root, KIND)

    def step(self) -> int | None:
        """The global step of the last checkpoint, if any."""
        try:
            step = parse_json((self.checkpoints / "last.json").read_text(), "last.json")["state"]["position"]["global_step"]
        except (OSError, ValueError, KeyError, TypeError, OfaError):
            return None
        return step if isinstance(step, int) and not isinstance(step, bool) else None

    def write_info(self, info: dict[str, Any], recipe: dict[str, Any]) -> None:
        write_atomic(self.info, json.dumps({"format": RUN_FORMAT, **info}, indent=2))
        write_atomic(self.recipe, yaml.safe_dump(recipe, sort_keys=False))

    def read_recipe(self) -> dict[str, Any]:
        recipe = read_yaml(self.recipe, "recipe.yaml of the run")
        if not isinstance(recipe, dict):
            raise OfaError(f"{self.recipe}: not a recipe (expected a mapping)")
        return recipe

    def read_info(self) -> dict[str, Any]:
        """run.json, every field checked (see `check_info`)."""
        if not self.info.is_file():
            raise OfaError(f"{self.root} is not a supernet run (no run.json)")
        return check_info(read_json(self.info, "run.json"), str(self.info))

    # -- metrics ---------------------------------------------------------------------------------
    def append_metrics(self, rows: list[dict[str, Any]]) -> None:
        with self.metrics.open("a") as f:
            for row in rows:
                f.write(json.dumps(row) + "\n")

    def read_metrics(self) -> list[dict[str, Any]]:
        if not self.metrics.is_file():
            return []
        try:
            text = self.metrics.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as e:
            raise OfaError(f"{self.metrics}: cannot read ({getattr(e, 'strerror', None) or e})") from None
        rows = [parse_json(line, f"{self.metrics} line {i}") for i, line in enumerate(text.splitlines(), 1) if line.strip()]
        for i, row in enumerate(rows, 1):
            if not isinstance(row, dict) or not fields.is_whole(row.get("global_step", 0)):
                raise OfaError(f"{self.metrics}: row {i} is not a metrics row; remove it or the file")
        return rows

    def truncate_metrics(self, global_step: int) -> None:
        """On resume, drop rows written after the checkpoint; they will be written again."""
        kept = [r for r in self.read_metrics() if r.get("global_step", 0) <= global_step]
        write_atomic(self.metrics, "".join(json.dumps(r) + "\n" for r in kept))


_INFO_FIELDS = ("format", "space", "space_fingerprint", "num_classes", "classes", "data", "source")


def check_info(info: Any, source: str) -> dict[str, Any]:
    """A run.json's fields, each of the right type and range, or one line naming the field."""
    if not isinstance(info, dict) or info.get("format") != RUN_FORMAT:
        raise OfaError(f"{source} is not an ofa supernet run (expected format '{RUN_FORMAT}')")
    fields.mapping(info, source, _INFO_FIELDS, required=("space", "space_fingerprint", "num_classes"))
    fields.name(info["space"], f"{source}: space")
    fields.hex_digits(info["space_fingerprint"], f"{source}: space_fingerprint", 16)
    n = fields.whole(info["num_classes"], f"{source}: num_classes", "classes")
    classes = info.get("classes")
    if classes is not None and (not isinstance(classes, list) or len(classes) != n
                                or not all(isinstance(c, str) and len(c) < 1000 for c in classes)):
        raise fields.fail(f"{source}: classes", f"null or {n} class names", classes)
    if info.get("data") is not None:
        fields.text(info["data"], f"{source}: data")
    if info.get("source") is not None and not isinstance(info["source"], dict):
        raise fields.fail(f"{source}: source", "a mapping (where imported weights came from)", info["source"])
    return info


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
        check_writable_folder(out, "--out")
        if out.is_dir() and kind_of(out) != KIND and any(out.iterdir()):
            RunFolder(out).read_info()  # a run of an older ofa (no marker) resumes; other folders are refused
        check_free(staged.root, (KIND,))
        return staged if staged.holds_run() else RunFolder(out)
    stopped = (f"; a --force replacement stopped at step {staged.step() or 0} is in {staged.root}: --resume "
               f"continues it") if staged.holds_run() else "; --resume continues it"
    replacing = check_out_folder(out, "--out", (KIND,), force, hint=stopped)
    check_free(staged.root, (KIND,))
    if not replacing:
        return RunFolder(out)
    return staged


def swap_in(work: RunFolder, out: Path) -> None:
    """Put a finished staged run in place of the run it replaces."""
    _swap_folders(work.root, Path(out))


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
    save_figure(fig, path)
    plt.close(fig)
    return path
