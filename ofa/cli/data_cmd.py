"""`ofa data`: the registered data sets."""

from __future__ import annotations

import typer
from rich.console import Console

from ofa.cli.listing import listing

app = typer.Typer(help="Data sets: the offline default, CIFAR, and your own image folders.", no_args_is_help=True)


@app.command("list")
def list_cmd() -> None:
    """List the data sets a recipe or --data can name."""
    from ofa.data import list_datasets

    table = listing("name", "description")
    for name, text in list_datasets().items():
        table.add_row(name, text)
    Console().print(table)
