"""The `ofa` command line. Every sub-app lives in its own module; bad input exits 2 with one line."""

from __future__ import annotations

import sys

import typer

from ofa.errors import Interrupted, OfaError

app = typer.Typer(
    name="ofa",
    help=(
        "Train one elastic supernet once, then cut a specialized network out of it for any "
        "device and latency budget.\n\n"
        "Start with `ofa spaces list` to see the search spaces."
    ),
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


def _mount() -> None:
    from ofa.cli import (data_cmd, devices_cmd, latency_cmd, predictor_cmd, run_cmd, search_cmd, spaces_cmd,
                         specialize_cmd, train_cmd)

    app.add_typer(spaces_cmd.app, name="spaces")
    app.add_typer(devices_cmd.app, name="devices")
    app.add_typer(latency_cmd.app, name="latency")
    app.add_typer(data_cmd.app, name="data")
    app.command("train-supernet")(train_cmd.train_supernet_cmd)
    app.command("evaluate")(train_cmd.evaluate_cmd)
    app.add_typer(predictor_cmd.app, name="predictor")
    app.command("search")(search_cmd.search_cmd)
    app.command("specialize")(specialize_cmd.specialize_cmd)
    app.command("export")(specialize_cmd.export_cmd)
    app.command("run")(run_cmd.run_cmd)


_mount()


def main(argv: list[str] | None = None) -> None:
    """Console entry point: OfaError becomes `ofa: error: ...` on stderr and exit code 2."""
    try:
        app(args=argv, prog_name="ofa")
    except OfaError as e:
        print(f"ofa: error: {e}", file=sys.stderr)
        sys.exit(2)
    except Interrupted as e:
        print(f"ofa: {e}", file=sys.stderr)
        sys.exit(e.exit_code)
    except KeyboardInterrupt:
        print("ofa: interrupted", file=sys.stderr)
        sys.exit(130)
