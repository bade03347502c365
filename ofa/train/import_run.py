"""`ofa import-supernet`: supernet weights trained elsewhere (once-for-all's published ImageNet
supernets) become a run folder that every command takes, as if trained here:

    runs/NAME/
      run.json              space, fingerprint, classes, and `source`: the file, its sha256, where from
      recipe.yaml           the `transfer` recipe with the space filled in and no data of its own
      supernet.safetensors  the weights in our layout

An imported run has no data: BatchNorm statistics need images (`--calib-data`), measured accuracy
needs labelled ones (`--data`), and `ofa train-supernet --init RUN` transfers it to new classes."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path
from typing import Any

from ofa import __version__
from ofa.download import DEFAULT_CACHE, Progress, download
from ofa.families import family_of
from ofa.files import file_sha256, write_atomic
from ofa.spaces import Space, get_space
from ofa.supernet.importers import find_published, get_importer, read_supernet_weights
from ofa.outputs import output_lock
from ofa.train.recipe_reader import with_overrides
from ofa.train.recipes import load_recipe
from ofa.train.run_folder import RunFolder, swap_in, work_folder

IMPORTED_RECIPE = "transfer"  # what ofa does next with imported weights: calibrate, fine-tune, transfer


def fetch_published(name: str, mirror: str | None = None, cache: Path | None = None,
                    progress: Progress | None = None) -> tuple[Path, dict[str, Any]]:
    """Download a published checkpoint into the cache (or take the copy there): (file, its record)."""
    _, published = find_published(name)
    url = published.url if mirror is None else mirror.rstrip("/") + "/" + name
    path = Path(cache or DEFAULT_CACHE).expanduser() / name
    return path, download(url, path, progress)


def import_supernet(fmt: str, path: str | Path, space: str | Space, out: str | Path, force: bool = False,
                    origin: dict[str, Any] | None = None) -> dict[str, Any]:
    """Read, check and convert the checkpoint, then write the run folder `out` (replacing a run there only
    with `force`, and only once the new one is complete). `origin`: where the file came from."""
    start = time.perf_counter()
    get_importer(fmt)
    space, path, out = get_space(space), Path(path), Path(out)
    work = work_folder(out, resume=False, force=force)
    weights = read_supernet_weights(fmt, path, space)  # every check before anything is written
    read_s = time.perf_counter() - start
    source = {"format": fmt, "file": str(path.resolve()), "bytes": path.stat().st_size, "sha256": file_sha256(path),
              **(origin or {}), "imported": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
              "ofa_version": __version__}
    num_classes = int(weights[family_of(space).classifier + "weight"].shape[0])
    recipe = load_recipe(IMPORTED_RECIPE, {"space": space.name, "data": None})
    recipe = with_overrides(recipe, {"description": f"{recipe.description}; the weights of {path.name}"})
    with output_lock(out):
        work.prepare(resume=False)
        _save_weights(weights, work)
        work.write_info({"space": space.name, "space_fingerprint": space.fingerprint(), "num_classes": num_classes,
                         "classes": None, "data": None, "source": source}, recipe.to_dict())
        if work.root != out:
            swap_in(work, out)
    return {"run": str(out), "space": space.name, "num_classes": num_classes,
            "parameters": sum(v.numel() for k, v in weights.items() if not k.endswith("num_batches_tracked")),
            "source": source, "seconds": {"read": round(read_s, 3), "total": round(time.perf_counter() - start, 3)}}


def _save_weights(weights, folder: RunFolder) -> None:
    from safetensors.torch import save

    write_atomic(folder.weights, save(weights))
