"""`ofa data`: the registered data sets."""

from __future__ import annotations

import json

import typer
from rich.console import Console

from ofa.cli.listing import listing
from ofa.cli.options import Json

app = typer.Typer(help="Data sets: the offline default, CIFAR, and your own image folders.", no_args_is_help=True)


@app.command("list")
def list_cmd(as_json: Json = False) -> None:
    """List the data sets a recipe or --data can name.

    With --json: one object per data set, one per line: {"name", "description"}
    """
    from ofa.data import list_datasets

    if as_json:
        for name, text in list_datasets().items():
            typer.echo(json.dumps({"name": name, "description": text}))
        return
    table = listing("name", "description")
    for name, text in list_datasets().items():
        table.add_row(name, text)
    Console().print(table)
