"""`ofa import-supernet`: a supernet trained elsewhere as a run folder every command takes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Optional

import typer

from ofa.cli.options import Force, Json, Quiet
from ofa.errors import OfaError


def import_supernet_cmd(
    source: Annotated[Optional[Path], typer.Argument(
        help="The checkpoint file (leave out with --download).")] = None,
    fmt: Annotated[str, typer.Option(
        "--format", "-f", help="The checkpoint's format: ofa (once-for-all's OFAMobileNetV3, OFAProxylessNASNets or "
                               "OFAResNets, {'state_dict': ...} or a bare state dict, any key spelling its loader "
                               "accepts).")
    ] = "ofa",
    space: Annotated[Optional[str], typer.Option(
        "--space", "-s", help="The search space the weights fill (see `ofa spaces list`): mbv3-w1.0 and mbv3-w1.2 for "
                              "once-for-all's MobileNetV3 at width 1.0 and 1.2, proxyless-w1.3 for its ProxylessNAS, "
                              "resnet50 for its ResNet50 (ofa_resnet50). "
                              "With --download: the published network's.")] = None,
    out: Annotated[Path, typer.Option(
        "--out", "-o", help="Output folder: the run folder to write (an existing run is replaced only with --force, "
                            "once the new one is complete).")] = ...,
    download: Annotated[Optional[str], typer.Option(
        "--download", help="Fetch this published checkpoint into the cache first (resumable): "
                           "ofa_mbv3_d234_e346_k357_w1.0, ofa_mbv3_d234_e346_k357_w1.2, "
                           "ofa_proxyless_d234_e346_k357_w1.3 or ofa_resnet50.")] = None,
    mirror: Annotated[Optional[str], typer.Option(
        "--mirror", help="With --download: fetch from this address (the name is appended) instead of the source's "
                         "model zoo.")] = None,
    cache: Annotated[Optional[Path], typer.Option(
        "--cache", help="With --download: the cache folder (default: ~/.cache/ofa/checkpoints).")] = None,
    force: Force = False,
    as_json: Json = False,
    quiet: Quiet = False,
) -> None:
    """Import supernet weights trained elsewhere as a run folder that evaluate, predictor collect,
    search, specialize, export and train-supernet --init all take.

    Every key, shape and number of the file is checked before anything is written (a checkpoint of
    another width or block family, truncated, or a pickle that holds more than tensors is refused in
    one line). The run records the file and its sha256. It has no data of its own: give images for
    BatchNorm statistics with --calib-data, labelled images with --data.

      ofa import-supernet --download ofa_mbv3_d234_e346_k357_w1.2 --out runs/ofa-w1.2

      ofa import-supernet --format ofa ofa_mbv3_d234_e346_k357_w1.0 --space mbv3-w1.0 --out runs/ofa-w1.0

      ofa import-supernet --format ofa ofa_supernet_resnet50 --space resnet50 --out runs/ofa-resnet50

      ofa specialize --supernet runs/ofa-w1.2 --predictor ofa-mbv3-w1.2.json --device cpu --latency 15ms \\
          --calib-data imagefolder:PATH

    With --json: one object, progress on stderr:
      {"run": FOLDER, "space", "num_classes", "parameters",
       "source": {"format", "file", "bytes", "sha256", "imported", ...}, "seconds": {"read", "total"}}
    """
    from ofa.cli.progress import progress_bar
    from ofa.spaces import get_space
    from ofa.supernet.importers import all_published, find_published, get_importer
    from ofa.train.import_run import fetch_published, import_supernet
    from ofa.train.run_folder import work_folder

    if (source is None) == (download is None):
        names = ", ".join(f"{p.name} ({p.space})" for _, p in all_published())
        raise OfaError(f"give either a checkpoint FILE or --download NAME (published: {names})")
    origin = None
    if download is not None:
        importer, published = find_published(download)
        if space is not None and get_space(space).name != published.space:
            raise OfaError(f"{download} fills space '{published.space}', not '{space}'; leave out --space")
        fmt, space = importer.name, published.space
    elif space is None:
        spaces = sorted({p.space for _, p in all_published()})
        raise OfaError(f"--space is needed: the space the weights fill ({', '.join(spaces)} for once-for-all's)")
    get_importer(fmt)
    get_space(space)
    work_folder(out, resume=False, force=force)  # an --out that cannot be written is refused before any download
    with progress_bar(quiet) as progress:
        if download is not None:
            source, record = fetch_published(download, mirror, cache, progress)
            origin = {"published": download, "url": record["url"], "downloaded": record["downloaded"]}
        summary = import_supernet(fmt, source, space, out, force, origin)
    if as_json:
        typer.echo(json.dumps(summary))
        return
    src = summary["source"]
    typer.echo(f"{out}: space {summary['space']}, {summary['parameters'] / 1e6:.2f} M parameters, "
               f"{summary['num_classes']} classes, from {Path(src['file']).name} (sha256 {src['sha256'][:12]}); "
               f"{summary['seconds']['total']:.1f} s")
    typer.echo(f"next: ofa specialize --supernet {out} --predictor PRED --device cpu --latency 15ms "
               f"--calib-data imagefolder:PATH   (or train-supernet --init {out} --recipe transfer --data ...)")
