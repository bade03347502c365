"""One progress bar style for every long command; plain lines when not on a terminal (CI, logs)."""

from __future__ import annotations

import sys
from contextlib import contextmanager
from typing import Callable, Iterator

from rich.console import Console
from rich.progress import (BarColumn, MofNCompleteColumn, Progress, ProgressColumn, TextColumn, TimeElapsedColumn,
                           TimeRemainingColumn)
from rich.text import Text


class RateColumn(ProgressColumn):
    """Items per second (or seconds per item when slower than one a second)."""

    def render(self, task) -> Text:
        speed = task.finished_speed or task.speed
        if not speed:
            return Text("  -/s")
        return Text(f"{speed:.1f}/s" if speed >= 1 else f"{1 / speed:.1f}s/it")


@contextmanager
def progress_bar(quiet: bool = False) -> Iterator[Callable[[str, int, int], None]]:
    """Yields update(what, done, total); one task per distinct `what`."""
    console = Console(stderr=True)
    if quiet or not console.is_terminal:
        last: dict[str, int] = {}

        def plain(what: str, done: int, total: int) -> None:
            step = max(1, total // 10)
            if not quiet and (done == total or done - last.get(what, 0) >= step):
                last[what] = done
                print(f"{what}: {done}/{total}", file=sys.stderr, flush=True)

        yield plain
        return
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), RateColumn(),
                  TimeElapsedColumn(), TextColumn("eta"), TimeRemainingColumn(), console=console) as bar:
        tasks: dict[str, int] = {}

        def update(what: str, done: int, total: int) -> None:
            if what not in tasks:
                tasks[what] = bar.add_task(what, total=total)
            bar.update(tasks[what], completed=done, total=total)

        yield update


def _accuracies(rows: list[dict]) -> str:
    return " ".join(f"{r['name']} {r['top1']:.1f}%" for r in rows if not r["name"].startswith("random"))


class TrainingView:
    """What `ofa train-supernet` shows: one bar over every step of every phase (so elapsed time and
    the ETA run across epochs and phases), the phase and epoch, loss, learning rate, images/s, and
    the accuracies of the last validation. On a non-terminal (CI, logs): one line per epoch and per
    validation."""

    def __init__(self, bar: Progress | None, quiet: bool):
        self.bar, self.quiet, self.task, self.val = bar, quiet, None, "val -"

    def step(self, info: dict) -> None:
        where = f"{info['phase']} ({info['phase_index'] + 1}/{info['phases']}) ep {info['epoch']}/{info['epochs']}"
        stats = f"loss {info['loss_max']:.3f} lr {info['lr']:.4f} {info['images_per_s']:.0f} img/s"
        if self.bar is None:
            if not self.quiet and info["step"] == info["steps"]:
                print(f"{where}: {stats}; step {info['global_step']}/{info['total_steps']}", file=sys.stderr, flush=True)
            return
        if self.task is None:  # begun here, at the step a resumed run starts from: its rate is not inflated
            self.task = self.bar.add_task("train", total=info["total_steps"], completed=info["global_step"] - 1,
                                          where=where, stats=stats, val=self.val)
        self.bar.update(self.task, completed=info["global_step"], where=where, stats=stats, val=self.val)

    def validated(self, rows: list[dict]) -> None:
        self.val = f"val {_accuracies(rows)}"
        if self.bar is None:
            if not self.quiet:
                print(f"  {self.val}", file=sys.stderr, flush=True)
        elif self.task is not None:
            self.bar.update(self.task, val=self.val)


@contextmanager
def training_progress(quiet: bool = False) -> Iterator[TrainingView]:
    console = Console(stderr=True)
    if quiet or not console.is_terminal:
        yield TrainingView(None, quiet)
        return
    columns = (TextColumn("[bold]{task.fields[where]}[/]"), BarColumn(), MofNCompleteColumn(),
               TextColumn("{task.fields[stats]}"), TimeElapsedColumn(), TextColumn("eta"), TimeRemainingColumn(),
               TextColumn("{task.fields[val]}"))
    with Progress(*columns, console=console) as bar:
        yield TrainingView(bar, quiet)
