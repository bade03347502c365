"""The weights a run starts from when its recipe names `init_from`: another supernet run of the same
space (trained here, or imported with `ofa import-supernet`), for transfer to new data."""

from __future__ import annotations

from pathlib import Path

import torch

from ofa.errors import OfaError
from ofa.families import family_of
from ofa.spaces import Space
from ofa.train.run_folder import RunFolder



def check_init_run(run: str | Path, what: str = "--init") -> dict:
    """run.json of a finished supernet run, or a one-line error naming `what`."""
    folder = RunFolder(Path(run))
    try:
        info = folder.read_info()
    except OfaError as e:
        raise OfaError(f"{what} {run}: {e}") from None
    if not folder.weights.is_file():
        raise OfaError(f"{what} {run}: no {folder.weights.name} (training has not finished)")
    return info


def check_start(run: str | Path, space: Space) -> dict:
    """run.json of the run a recipe starts from, refused unless it is a finished run of `space`."""
    info = check_init_run(run, "init_from")
    if info.get("space") != space.name or info.get("space_fingerprint") != space.fingerprint():
        raise OfaError(f"--init {run} is a supernet of space '{info.get('space')}' "
                       f"({info.get('space_fingerprint')}), the recipe trains space '{space.name}' "
                       f"({space.fingerprint()}); start from a run of the same space")
    return info


def start_weights(run: str | Path, info: dict, classes: tuple[str, ...],
                  space: Space) -> tuple[dict[str, torch.Tensor], bool]:
    """Every weight of `run`'s supernet (`info`: its run.json, as `check_start` passed it), and whether its
    classifier was kept: only when the run predicts exactly `classes`, in that order; otherwise the new
    run's classifier starts fresh."""
    weights = RunFolder(Path(run)).load_weights()
    keep_head = info.get("classes") is not None and list(info["classes"]) == list(classes)
    if not keep_head:
        weights = {k: v for k, v in weights.items() if not k.startswith(family_of(space).classifier)}
    return weights, keep_head


def load_start(model: torch.nn.Module, weights: dict[str, torch.Tensor], source: str | Path, space: Space) -> None:
    """Put the start weights into a fresh supernet; only a replaced classifier may be left out."""
    try:
        missing, unexpected = model.load_state_dict(weights, strict=False)
    except RuntimeError as e:
        raise OfaError(f"weights of {source} do not fit the supernet: {str(e).splitlines()[0]}") from None
    stray = [k for k in missing if not k.startswith(family_of(space).classifier)] + list(unexpected)
    if stray:
        raise OfaError(f"weights of {source} do not fit the supernet: {stray[0]} ({len(stray)} keys)")
