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


@contextmanager
def training_progress(quiet: bool = False) -> Iterator[Callable[[dict], None]]:
    """A bar over all training steps with phase, epoch, loss, learning rate, images/s and ETA;
    on a non-terminal (CI, logs) one plain line per epoch instead."""
    console = Console(stderr=True)
    if quiet or not console.is_terminal:

        def plain(info: dict) -> None:
            if not quiet and info["step"] == info["steps"]:
                print(f"phase {info['phase']} epoch {info['epoch']}/{info['epochs']}: loss {info['loss_max']:.3f}"
                      f" lr {info['lr']:.4f} {info['images_per_s']:.0f} img/s", file=sys.stderr, flush=True)

        yield plain
        return
    columns = (TextColumn("[bold]{task.fields[phase]}[/] ep {task.fields[epoch]}"), BarColumn(),
               MofNCompleteColumn(), TextColumn("loss {task.fields[loss]:.3f} lr {task.fields[lr]:.4f} "
                                               "{task.fields[ips]:.0f} img/s"),
               TimeElapsedColumn(), TextColumn("eta"), TimeRemainingColumn())
    with Progress(*columns, console=console) as bar:
        task = bar.add_task("train", total=None, phase="", epoch="", loss=0.0, lr=0.0, ips=0.0)

        def update(info: dict) -> None:
            bar.update(task, completed=info["step"], total=info["steps"],
                       phase=f"{info['phase']} ({info['phase_index'] + 1}/{info['phases']})",
                       epoch=f"{info['epoch']}/{info['epochs']}", loss=info["loss_max"], lr=info["lr"],
                       ips=info["images_per_s"])

        yield update
