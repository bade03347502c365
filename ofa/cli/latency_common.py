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


# The options `build` and `kit` share: what a table covers and how its calibration is fitted.
Resolutions = Annotated[Optional[list[int]], typer.Option(
    "--resolution", "-r", callback=limit("resolution"),
    help="Resolution to cover (repeat the flag); default: the device's resolutions of interest.")]
NumClasses = Annotated[int, typer.Option("--num-classes", callback=limit("classes"),
                                         help="Classifier size of the head.")]
CalibrationSubnets = Annotated[int, typer.Option(
    "--calibration-subnets", "-k", callback=limit("subnets", 0),
    help="Whole subnets the table's calibration is fitted on (0: none).")]


def old_calibrate(command: str):
    """The hidden `--calibrate N` of `command`, the count's spelling of earlier releases."""
    return Annotated[Optional[int], typer.Option(
        "--calibrate", hidden=True, callback=old_count(f"latency {command} --calibrate N", "--calibration-subnets N"))]
