"""The `ofa` command line. Every sub-app lives in its own module; bad input exits 2 with one line."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from ofa.errors import Interrupted, OfaError


app = typer.Typer(
    name="ofa",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


def _version(value: bool) -> None:
    if value:
        import platform

        from ofa import __version__

        typer.echo(f"ofa {__version__} (Python {platform.python_version()})")
        raise typer.Exit()


@app.callback()
def _root(version: Annotated[bool, typer.Option("--version", is_eager=True, callback=_version,
                                                help="Show the version of ofa and exit.")] = False) -> None:
    """Train one elastic supernet once, then cut a specialized network out of it for any device and
    latency budget.

    Start with `ofa run quickstart`, or `ofa spaces list` to see the search spaces."""


def _flags_without_type() -> None:
    """typer 0.29 writes `<bool>` after every flag in --help, which reads as if the flag took a
    value; a flag's type says nothing, so it is left out."""
    from typer.core import TyperOption

    shown = getattr(TyperOption, "display_type_rich", None)
    if shown is not None:
        TyperOption.display_type_rich = lambda self, ctx: None if self.is_flag else shown(self, ctx)


def _mount() -> None:
    from ofa.cli import (data_cmd, devices_cmd, import_cmd, latency_cmd, predictor_cmd, run_cmd, search_cmd,
                         spaces_cmd, specialize_cmd, train_cmd)

    app.add_typer(spaces_cmd.app, name="spaces")
    app.add_typer(devices_cmd.app, name="devices")
    app.add_typer(latency_cmd.app, name="latency")
    app.add_typer(data_cmd.app, name="data")
    app.command("train-supernet")(train_cmd.train_supernet_cmd)
    app.command("import-supernet")(import_cmd.import_supernet_cmd)
    app.command("evaluate")(train_cmd.evaluate_cmd)
    app.add_typer(predictor_cmd.app, name="predictor")
    app.command("search")(search_cmd.search_cmd)
    app.command("specialize")(specialize_cmd.specialize_cmd)
    app.command("export")(specialize_cmd.export_cmd)
    app.command("run")(run_cmd.run_cmd)


_mount()
_flags_without_type()


def _one_line(text: str) -> str:
    """A message as one line, however odd the input it quotes. An error raised in a data loader's
    worker process arrives with the worker's traceback in its text: only its own message is kept."""
    if "Original Traceback" in text:
        last = [line for line in text.splitlines() if line.strip()][-1]
        text = last.split("OfaError: ", 1)[-1]
    return " ".join(text.split()) if "\n" in text or "\r" in text else text


def main(argv: list[str] | None = None) -> None:
    """Console entry point: OfaError becomes `ofa: error: ...` on stderr and exit code 2."""
    from typer._click.exceptions import NoArgsIsHelpError, UsageError

    try:
        code = app(args=argv, prog_name="ofa", standalone_mode=False)
        if code == 130:  # typer turns Ctrl-C into this code, silently
            print("ofa: interrupted", file=sys.stderr)
        sys.exit(code if isinstance(code, int) else 0)
    except NoArgsIsHelpError:  # the help has been shown
        sys.exit(2)
    except UsageError as e:  # unknown option, a value of the wrong kind or out of range: one line as well
        where = e.ctx.command_path if e.ctx is not None else "ofa"
        print(f"ofa: error: {e.format_message()} (see: {where} --help)", file=sys.stderr)
        sys.exit(2)
    except OfaError as e:
        print(f"ofa: error: {_one_line(str(e))}", file=sys.stderr)
        sys.exit(2)
    except OSError as e:  # the file system refused a path the user gave (too long, a loop of links, full disk)
        where = f"{e.filename}: " if e.filename else ""
        print(f"ofa: error: {_one_line(where + (e.strerror or str(e)))}", file=sys.stderr)
        sys.exit(2)
    except Interrupted as e:
        print(f"ofa: {e}", file=sys.stderr)
        sys.exit(e.exit_code)
    except KeyboardInterrupt:
        print("ofa: interrupted", file=sys.stderr)
        sys.exit(130)
