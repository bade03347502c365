"""Option callbacks shared by every command: numbers are checked by ofa.limits, in one place."""

from __future__ import annotations

from typing import Callable

import typer

from ofa.limits import check


def limit(kind: str, low: int | None = None) -> Callable:
    """A Typer callback that checks a whole-number option against the range of `kind`."""

    def callback(param: typer.CallbackParam, value):
        where = "/".join(param.opts)
        if isinstance(value, (list, tuple)):  # a repeatable option
            return [check(v, kind, where, low) for v in value]
        return None if value is None else check(value, kind, where, low)

    return callback


# Options that several commands share: one help text each.
CALIB_DATA = typer.Option(
    None, "--calib-data",
    help="Images for each subnet's BatchNorm statistics, labels not needed: imagefolder:PATH (a folder of images, "
         "or of class folders). Default: the run's own training data; an imported supernet has none.")
