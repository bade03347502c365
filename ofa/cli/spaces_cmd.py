"""`ofa spaces`: list and inspect the registered search spaces."""

from __future__ import annotations

import json

import typer
from rich.console import Console
from rich.table import Table

app = typer.Typer(help="Search spaces: what a supernet may become.", no_args_is_help=True)


@app.command("list")
def list_cmd() -> None:
    """List the registered search spaces with their size."""
    from ofa.spaces import list_spaces

    table = Table("name", "stages", "block slots", "architectures", "resolutions", "description")
    for name, s in sorted(list_spaces().items()):
        res = s.resolutions
        table.add_row(
            name, str(len(s.stages)), str(s.num_blocks), f"{s.num_architectures:.3e}",
            f"{res[0]}..{res[-1]} ({len(res)})", s.description,
        )
    Console().print(table)


@app.command("show")
def show_cmd(
    name: str = typer.Argument(..., help="A registered space name (see `ofa spaces list`) or a space YAML file."),
    as_json: bool = typer.Option(False, "--json", help="Print the full description as JSON."),
) -> None:
    """Show one space: its stages, choices, resolutions and number of architectures."""
    from ofa.spaces import get_space

    space = get_space(name)
    info = space.summary()
    if as_json:
        typer.echo(json.dumps(info, indent=2))
        return
    console = Console()
    console.print(f"[bold]{space.name}[/bold]  {space.description}")
    console.print(
        f"fingerprint {info['fingerprint']}   architectures per resolution {info['num_architectures_sci']}"
        f"   resolutions {list(space.resolutions)}"
    )
    console.print(
        f"stem {space.stem_width} (stride {space.stem_stride}, {space.stem_act}) -> first block "
        f"{space.first_block_width} ({space.first_block_act}) -> head {space.head_width} -> {space.feature_width}"
    )
    table = Table("stage", "width", "stride", "act", "SE", "depths", "kernels", "expands")
    for i, s in enumerate(space.stages, 1):
        table.add_row(
            str(i), str(s.width), str(s.stride), s.act, "yes" if s.se else "no",
            str(list(s.depths)), str(list(s.kernels)), str(list(s.expands)),
        )
    console.print(table)
