"""`ofa devices`: list and inspect the device profiles latency is measured for."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from ofa.cli.listing import first_sentence, listing
from ofa.cli.options import Json

app = typer.Typer(help="Device profiles: where and how latency is measured.", no_args_is_help=True)


def _availability(backend_name: str) -> tuple[bool, str | None]:
    from ofa.latency.backends import get_backend

    reason = get_backend(backend_name).why_unavailable()
    return reason is None, reason


@app.command("list")
def list_cmd(as_json: Json = False) -> None:
    """List the shipped device profiles and whether their backend can measure on this machine.

    With --json: one object per profile, one per line:
      {"name", "aliases", "description", "backend", "precision", "batch_size", ..., "backend_available"}
    """
    from ofa.devices import list_devices

    profiles = list_devices()
    ready = {b: _availability(b)[0] for b in sorted({p.backend for p in profiles.values()})}
    if as_json:
        for name, p in sorted(profiles.items()):
            typer.echo(json.dumps({**p.to_dict(), "backend_available": ready[p.backend]}))
        return
    table = listing("name (aliases)", "backend, precision, batch", "here", "description")
    for name, p in sorted(profiles.items()):
        aliases = f"\n[dim]({', '.join(p.aliases)})[/dim]" if p.aliases else ""
        table.add_row(
            name + aliases, f"{p.backend}\n{p.precision}, batch {p.batch_size}",
            "[green]yes[/green]" if ready[p.backend] else "[red]no[/red]", escape(first_sentence(p.description)),
        )
    Console().print(table)


@app.command("show")
def show_cmd(
    name: Annotated[str, typer.Argument(
        help="A device name or alias (see `ofa devices list`) or a profile YAML file.")],
    as_json: Json = False,
) -> None:
    """Show one device profile and whether its backend can measure here (and if not, why).

    With --json: the profile as one object:
      {"name", "aliases", "description", "backend", "precision", "batch_size", "threads", "warmup", "iterations",
       "rounds", "statistic", "resolutions", "machine", "backend_version", "backend_available",
       "backend_unavailable_reason"}
    """
    from ofa.devices import get_device
    from ofa.latency.backends import get_backend

    profile = get_device(name)
    backend = get_backend(profile.backend)
    available, reason = _availability(profile.backend)
    if as_json:
        info = {
            **profile.to_dict(),
            "backend_version": backend.version(),
            "backend_available": available,
            "backend_unavailable_reason": reason,
        }
        typer.echo(json.dumps(info, indent=2))
        return
    console = Console()
    console.print(f"[bold]{profile.name}[/bold]  {escape(profile.description)}")
    rows = [
        ("aliases", ", ".join(profile.aliases) or "-"),
        ("backend", f"{profile.backend} ({backend.summary}; version {backend.version()})"),
        ("available here", "yes" if available else f"no: {reason}"),
        ("precision", profile.precision),
        ("batch size", str(profile.batch_size)),
        ("threads", "all cores" if profile.threads is None else str(profile.threads)),
        ("warm-up runs", str(profile.warmup)),
        ("timed runs", str(profile.iterations)),
        ("resolutions", str(list(profile.resolutions))),
    ]
    table = Table("field", "value", show_header=False)
    for key, value in rows:
        table.add_row(key, escape(value))
    console.print(table)
