"""`ofa run PIPELINE`: the whole pipeline, from training to specialized models, in one command."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Optional

import typer

from ofa.cli.options import DataRoot, Json, Quiet
from ofa.errors import OfaError


def run_cmd(
    pipeline: Annotated[str, typer.Argument(
        help="A shipped pipeline (pipelines/NAME.pipeline.yaml) or a pipeline YAML file.")] = "quickstart",
    out: Annotated[Optional[Path], typer.Option(
        "--out", help="Output folder for everything the pipeline makes (default: the pipeline's own).")] = None,
    data_root: DataRoot = None,
    quiet: Quiet = False,
    as_json: Json = False,
) -> None:
    """Run a pipeline's stages in order: train-supernet, latency table, collect, predictor, specialize.

    A stage whose output is already complete is skipped, so running the same command after an
    interruption continues where it stopped. Ends with a table of every stage and where its
    output is.

      ofa run quickstart            # tiny supernet on digits, this CPU, a few minutes

    With --json: one object, progress on stderr:
      {"pipeline": NAME, "out": FOLDER, "stages": [{"stage", "status", "seconds", "output"}, ...],
       "summary": the specialize stage's summary.json (as `ofa specialize --json` prints it) or null}
    """
    from rich.console import Console
    from rich.table import Table

    from ofa.cli.progress import TrainingView, progress_bar
    from ofa.pipeline import Context, check_pipeline_out, load_pipeline, run_pipeline

    p = load_pipeline(pipeline, out)
    check_pipeline_out(p.out)
    console = Console(stderr=True)
    if not quiet:
        console.print(f"[bold]{p.name}[/]: {p.description} -> {p.out}")

    def announce(stage: str, what: str) -> None:
        if not quiet:
            console.print(f"[bold]{stage}[/]: making the {what}")

    # training reports one line per epoch and per validation, as `train-supernet` does off a terminal
    # (one live display at a time: the bar belongs to the stages that follow)
    training = TrainingView(None, quiet)
    with progress_bar(quiet) as progress:
        rows = run_pipeline(p, Context(p.out, progress, lambda line: typer.echo(line, err=True), data_root,
                                       training.step, training.validated), announce)
    summary = p.out / "models" / "summary.json"
    if as_json:
        from ofa.files import read_json

        typer.echo(json.dumps({"pipeline": p.name, "out": str(p.out), "stages": rows,
                               "summary": read_json(summary, "summary") if summary.is_file() else None}))
        return
    grid = Table("stage", "status", "seconds", "output")
    for r in rows:
        grid.add_row(r["stage"], r["status"], f"{r['seconds']:.1f}", r["output"])
    Console().print(grid)
    if summary.is_file():
        from ofa.cli.specialize_cmd import print_summary
        from ofa.files import read_json

        try:
            print_summary(read_json(summary, "summary"))
        except (KeyError, TypeError, ValueError, AttributeError):
            raise OfaError(f"{summary} is damaged; run `ofa specialize` again with --force to remake it") from None
