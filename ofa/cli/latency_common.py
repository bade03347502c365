"""What the `ofa latency` commands share: the table file options, reading a device and a space,
notes beside a --json result, and the counts' old spellings."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Callable, Optional

import typer

from ofa.cli.options import deprecated, limit, out_file

TABLE_FILE = "latency/<device>/<space>.json"

TableFile = Annotated[Optional[Path], typer.Option(
    "--table", help=f"Table file (default: {TABLE_FILE}, then the packaged one).")]
TableOut = Annotated[Optional[Path], out_file(TABLE_FILE)]


def old_count(old: str, new: str) -> Callable:
    """The callback of a count's old, hidden spelling: checked as the new one is (so that a bad
    value is one error line), then the one-line note that it is deprecated."""
    check, note = limit("subnets", 0), deprecated(old, new)

    def callback(param: typer.CallbackParam, value):
        return note(check(param, value))

    return callback


def count_given(ctx: typer.Context, name: str, value: int, old: Optional[int]) -> int:
    """Option `name`'s value, or the old spelling's where only that was given (the new one wins)."""
    source = ctx.get_parameter_source(name)
    given = source is not None and source.name != "DEFAULT"
    return value if given or old is None else old


def note(text: str) -> None:
    """A line that is not the result: stderr under --json, where stdout holds only the object."""
    typer.echo(text, err=True)


def resolve(device: str, space: str):
    from ofa.devices import get_device
    from ofa.spaces import get_space

    return get_device(device), get_space(space)
