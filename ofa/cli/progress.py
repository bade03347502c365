"""One progress bar style for every long command; plain lines when not on a terminal (CI, logs)."""

from __future__ import annotations

import sys
from contextlib import contextmanager
from typing import Callable, Iterator

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn


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
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn(), TextColumn("eta"), TimeRemainingColumn(), console=console) as bar:
        tasks: dict[str, int] = {}

        def update(what: str, done: int, total: int) -> None:
            if what not in tasks:
                tasks[what] = bar.add_task(what, total=total)
            bar.update(tasks[what], completed=done, total=total)

        yield update
