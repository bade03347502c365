"""`ofa spaces`: list and inspect the registered search spaces."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from ofa.cli.listing import first_sentence, listing
from ofa.cli.options import Json, Seed, limit


app = typer.Typer(help="Search spaces: what a supernet may become.", no_args_is_help=True)


@app.command("list")
def list_cmd(as_json: Json = False) -> None:
    """List the registered search spaces with their size.

    With --json: one object per space, one per line:
      {"name", "description", "num_stages", "num_block_slots", "num_architectures", "resolutions"}
    """
    from ofa.spaces import list_spaces

    if as_json:
        for name, s in sorted(list_spaces().items()):
            typer.echo(json.dumps({"name": name, "description": s.description, "num_stages": len(s.stages),
                                   "num_block_slots": s.num_blocks, "num_architectures": s.num_architectures,
                                   "resolutions": list(s.resolutions)}))
        return
    table = listing("name", "stages", "slots", "architectures", "resolutions", "description")
    for name, s in sorted(list_spaces().items()):
        res = s.resolutions
        table.add_row(
            name, str(len(s.stages)), str(s.num_blocks), f"{s.num_architectures:.3e}",
            f"{res[0]}..{res[-1]} ({len(res)})", first_sentence(s.description),
        )
    Console().print(table)


@app.command("show")
def show_cmd(
    name: Annotated[str, typer.Argument(
        help="A registered space name (see `ofa spaces list`) or a space YAML file.")],
    as_json: Json = False,
) -> None:
    """Show one space: its stages, choices, resolutions and number of architectures.

    With --json: the full description as one object:
      {"name", "description", "fingerprint", "num_architectures", "num_architectures_sci",
       "log10_num_architectures", "num_stages", "num_block_slots", "resolutions", "stages": [...], ...}
    """
    from ofa.families import family_of
    from ofa.spaces import get_space

    space = get_space(name)
    info = space.summary()
    if as_json:
        typer.echo(json.dumps(info, indent=2))
        return
    console = Console()
    outline, header, rows = family_of(space).describe(space)
    console.print(f"[bold]{space.name}[/bold]  {space.description}")
    console.print(
        f"family {space.family}   fingerprint {info['fingerprint']}   architectures per resolution "
        f"{info['num_architectures_sci']}   resolutions {list(space.resolutions)}"
    )
    console.print(outline)
    table = Table(*header)
    for row in rows:
        table.add_row(*row)
    console.print(table)


def _read_subnet(space, value: str):
    """A subnet given as 'max', 'min', its compact string, or a subnet file holding exactly one."""
    from ofa.errors import OfaError
    from ofa.spaces import subnet_values, to_subnet

    values = subnet_values([value])
    if len(values) != 1:
        raise OfaError(f"{value} holds {len(values)} subnets; `ofa spaces cost` takes one")
    return to_subnet(space, values[0])


def _subnet_row(space, subnet, num_classes: int) -> dict:
    from ofa.spaces import encode
    from ofa.supernet import subnet_cost

    cost = subnet_cost(space, subnet, num_classes)
    return {
        "subnet": str(subnet),
        **subnet.to_dict(),
        "genes": encode(space, subnet).tolist(),
        "mmacs": round(cost.mmacs, 3),
        "params": cost.params,
    }


@app.command("sample")
def sample_cmd(
    name: Annotated[str, typer.Argument(help="Space name or YAML file.")],
    n: Annotated[int, typer.Option("-n", callback=limit("subnets"), help="How many subnets.")] = 5,
    kind: Annotated[str, typer.Option("--kind", help="uniform, max or min.")] = "uniform",
    seed: Seed = 0,
    num_classes: Annotated[int, typer.Option(
        "--num-classes", callback=limit("classes"), help="Classifier size used for the cost.")] = 1000,
    as_json: Json = False,
) -> None:
    """Draw subnets from a space and show their compact form, MACs and parameters. The same --seed draws
    the same subnets.

    With --json: one object per subnet, one per line:
      {"subnet", "resolution", "depths", "kernels", "expands", "genes", "mmacs", "params"}
    """
    import numpy as np

    from ofa.errors import OfaError
    from ofa.spaces import get_space, sample_subnet

    if kind not in ("uniform", "max", "min"):
        raise OfaError(f"unknown sample kind '{kind}'; expected uniform, max or min")
    space = get_space(name)
    rng = np.random.default_rng(seed)
    rows = [_subnet_row(space, sample_subnet(space, kind, rng), num_classes) for _ in range(n)]
    if as_json:
        for row in rows:
            typer.echo(json.dumps(row))
        return
    table = Table("subnet", "MMACs", "params")
    for row in rows:
        table.add_row(row["subnet"], f"{row['mmacs']:.1f}", f"{row['params'] / 1e6:.2f}M")
    Console().print(table)


@app.command("cost")
def cost_cmd(
    name: Annotated[str, typer.Argument(help="Space name or YAML file.")],
    subnet: Annotated[str, typer.Argument(
        help="'max', 'min', a compact subnet like r160:k3e4-k5e6,... or a file holding one (.json, .jsonl, .txt).")],
    num_classes: Annotated[int, typer.Option(
        "--num-classes", callback=limit("classes"), help="Classifier size used for the cost.")] = 1000,
    as_json: Json = False,
) -> None:
    """Check a subnet against a space and show its genes, MACs and parameters.

    With --json: one object {"subnet", "resolution", "depths", "kernels", "expands", "genes", "mmacs", "params"}
    """
    from ofa.spaces import get_space

    space = get_space(name)
    row = _subnet_row(space, _read_subnet(space, subnet), num_classes)
    if as_json:
        typer.echo(json.dumps(row, indent=2))
        return
    typer.echo(f"{row['subnet']}\n  depths {row['depths']}  genes {row['genes']}\n"
               f"  {row['mmacs']:.1f} MMACs, {row['params'] / 1e6:.3f}M parameters")
