"""The CLI's one vocabulary: every option that more than one command takes is defined here, once, as
an `Annotated` type (Typer's recommended form), with one help text. A name means one thing in every
command: `--device` is a device profile, `--data` a data set, `--out` says whether it names a file
or a folder, `--json` prints one object (or one per line) whose shape the command's --help gives.

Old spellings keep working for one release: `deprecated(...)` makes a hidden option that says, in
one line on stderr, what to write instead.

Numbers are checked by ofa.limits through `limit`, in one place."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Callable, Optional

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


def deprecated(old: str, new: str, until: str = "the next release") -> Callable:
    """A callback for a hidden option kept under its old name: one line on stderr, then the value
    goes on as the new option's (the command takes whichever is given)."""

    def callback(value):
        if value not in (None, False, [], ()):
            print(f"ofa: note: {old} is deprecated and goes in {until}; use {new}", file=sys.stderr)
        return value

    return callback


# -- what the commands work on -----------------------------------------------------------------------

Supernet = Annotated[Path, typer.Option(
    "--supernet", help="A supernet run folder: trained by `ofa train-supernet` or made by `ofa import-supernet`.")]
OptionalSupernet = Annotated[Optional[Path], typer.Option(
    "--supernet", help="A supernet run folder: trained by `ofa train-supernet` or made by `ofa import-supernet`.")]
Device = Annotated[str, typer.Option(
    "--device", "-d", help="A device profile: a name or alias (see `ofa devices list`) or a profile YAML file.")]
Space = Annotated[str, typer.Option(
    "--space", "-s", help="A search space: a name (see `ofa spaces list`) or a space YAML file.")]
Data = Annotated[Optional[str], typer.Option(
    "--data", help="A data set: digits, cifar10, cifar100 or imagefolder:PATH (default: the run's own).")]
DataRoot = Annotated[Optional[str], typer.Option(
    "--data-root", help="Where downloadable data sets (CIFAR) are kept; default ~/.cache/ofa/data.")]
CalibData = Annotated[Optional[str], typer.Option(
    "--calib-data",
    help="Images for each subnet's BatchNorm statistics, labels not needed: imagefolder:PATH (a folder of images, "
         "or of class folders). Default: the run's own training data; an imported supernet has none.")]
Predictor = Annotated[Optional[Path], typer.Option(
    "--predictor", help="An accuracy predictor file, with or without .json (default: RUN/predictor/predictor.json).")]

# -- how they run and what they print -----------------------------------------------------------------

Seed = Annotated[int, typer.Option("--seed", callback=limit("seed"), help="Seed of every random choice.")]
Force = Annotated[bool, typer.Option("--force", help="Replace what ofa wrote at --out before (never anything else).")]
Quiet = Annotated[bool, typer.Option("--quiet", "-q", help="No progress output.")]
Json = Annotated[bool, typer.Option("--json", help="Print the result as JSON (its shape is in this help).")]


def out_file(default: str) -> object:
    """An `--out` that names a file."""
    return typer.Option("--out", "-o", help=f"Output file (default: {default}).")


def out_folder(default: str | None) -> object:
    """An `--out` that names a folder."""
    return typer.Option("--out", "-o", help="Output folder" + (f" (default: {default})." if default else "."))
