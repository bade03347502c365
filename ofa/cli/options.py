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
