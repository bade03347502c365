"""Checkpoints that survive a crash mid-save and load without running pickled code.

A checkpoint `<name>` in a folder is three files:

    <name>.safetensors        the model's weights (a plain state dict, usable on its own)
    <name>.state.safetensors  every tensor of the training state (optimizer, RNG, ...)
    <name>.json               the rest of the state as JSON, plus the size and SHA-256 of both
                              tensor files; written last, it is the commit marker

Every file is written to a temporary file in the same folder, fsynced, and moved into place
with os.replace. Before the new files replace a complete checkpoint, that one is kept as
`<name>.prev` (hard links, no copy), so a crash between the three moves loses nothing: the
checksums show `<name>` as half-written and `<name>.prev` still loads.

Loading reads only JSON and safetensors: no pickle, no torch.load.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import re
from pathlib import Path
from typing import Any, Mapping

import numpy as np
import torch
from safetensors import SafetensorError
from safetensors.torch import load as _load_tensors
from safetensors.torch import save as _save_tensors

from ofa.errors import OfaError, shown
from ofa.files import fsync_folder, write_temp
from ofa.train.state_tree import flatten_tree, unflatten_tree

FORMAT = "ofa-checkpoint"
VERSION = 1
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


# -- random number generators ------------------------------------------------------------------


def capture_rng() -> dict[str, Any]:
    """The state of every generator a training step draws from: Python, numpy, torch, CUDA."""
    state: dict[str, Any] = {
        "python": random.getstate(),
        "numpy": np.random.get_state(legacy=False),
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def restore_rng(state: Mapping[str, Any]) -> None:
    """Put back generators saved by `capture_rng` (pass the rng dict or a state holding "rng").

    CUDA states are restored for the devices present; they are skipped on a machine without CUDA.
    """
    rng = state["rng"] if "rng" in state else state
    random.setstate(rng["python"])
    np.random.set_state(rng["numpy"])
    torch.set_rng_state(rng["torch"])
    if "cuda" in rng and torch.cuda.is_available():
        for index, cuda_state in enumerate(rng["cuda"][: torch.cuda.device_count()]):
            torch.cuda.set_rng_state(cuda_state, index)


# -- files -------------------------------------------------------------------------------------


def checkpoint_paths(folder: str | Path, name: str = "last") -> dict[str, Path]:
    """The three files of checkpoint `name`: weights, state tensors, JSON manifest."""
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise OfaError(f"bad checkpoint name {name!r}: use letters, digits, '.', '_' and '-'")
    folder = Path(folder)
    return {
        "weights": folder / f"{name}.safetensors",
        "state": folder / f"{name}.state.safetensors",
        "manifest": folder / f"{name}.json",
    }


def _write_temp(final: Path, data: bytes, temps: list[Path]) -> Path:
    tmp = write_temp(final, data)
    temps.append(tmp)
    return tmp


def manifest_digest(manifest: Mapping[str, Any]) -> str:
    """SHA-256 of a manifest's content without its own digest: an edited manifest is refused
    instead of resuming from fields nobody checked."""
    body = {k: v for k, v in manifest.items() if k != "manifest_sha256"}
    return hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":")).encode("utf-8")).hexdigest()


def _is_complete(paths: dict[str, Path]) -> bool:
    """Whether a checkpoint's files match its manifest (checksums: sizes repeat between saves)."""
    try:
        files = json.loads(paths["manifest"].read_text("utf-8"))["files"]
        for role in ("weights", "state"):
            data = paths[role].read_bytes()
            if len(data) != files[role]["bytes"] or hashlib.sha256(data).hexdigest() != files[role]["sha256"]:
                return False
        return True
    except (OSError, ValueError, KeyError, TypeError, RecursionError):
        return False


def _keep_previous(folder: Path, name: str, temps: list[Path]) -> None:
    """Hard-link a complete checkpoint `name` as `name.prev` (data first, manifest last)."""
    current = checkpoint_paths(folder, name)
    if not _is_complete(current):
        return
    prev = checkpoint_paths(folder, f"{name}.prev")
    links = []
    for role in ("weights", "state", "manifest"):
        tmp = folder / f".{prev[role].name}.{os.getpid()}.link.tmp"
        try:
            tmp.unlink(missing_ok=True)
            os.link(current[role], tmp)
        except OSError:  # no hard links on this file system: keep no backup
            for t in links:
                t.unlink(missing_ok=True)
            return
        temps.append(tmp)
        links.append(tmp)
    prev["manifest"].unlink(missing_ok=True)  # `.prev` is uncommitted while its data changes
    for role, tmp in zip(("weights", "state", "manifest"), links):
        os.replace(tmp, prev[role])


def save_checkpoint(
    folder: str | Path,
    model_state: Mapping[str, torch.Tensor],
    state: Mapping[str, Any],
    name: str = "last",
) -> Path:
    """Write checkpoint `name` atomically; returns the manifest's path.

    `state` is nested plain data and tensors (optimizer and scheduler state dicts, phase, epoch,
    step, the recipe as a dict, ...). Unless it already holds "rng", the current generator states
    are added as "rng" (see `restore_rng`).
    """
    paths = checkpoint_paths(folder, name)
    folder = paths["manifest"].parent
    for key, value in model_state.items():
        if not isinstance(key, str) or not isinstance(value, torch.Tensor):
            raise TypeError(f"model_state must map names to tensors, got {key!r}: {type(value).__name__}")
    if "rng" not in state:
        state = {**state, "rng": capture_rng()}
    weights = {k: v.detach().to("cpu", copy=True).contiguous() for k, v in model_state.items()}
    state_tensors, skeleton = flatten_tree(dict(state))
    blobs = {
        "weights": _save_tensors(weights, metadata={"format": "pt"}),
        "state": _save_tensors(state_tensors, metadata={"format": "pt"}),
    }
    manifest = {
        "format": FORMAT,
        "version": VERSION,
        "files": {role: {"bytes": len(b), "sha256": hashlib.sha256(b).hexdigest()} for role, b in blobs.items()},
        "state": skeleton,
    }
    manifest["manifest_sha256"] = manifest_digest(manifest)
    blobs["manifest"] = json.dumps(manifest).encode("utf-8")

    temps: list[Path] = []
    try:
        folder.mkdir(parents=True, exist_ok=True)
        written = {role: _write_temp(paths[role], blobs[role], temps) for role in ("weights", "state", "manifest")}
        _keep_previous(folder, name, temps)
        for role in ("weights", "state", "manifest"):  # the manifest last: it commits the rest
            os.replace(written[role], paths[role])
        fsync_folder(folder)
    except OSError as e:
        raise OfaError(f"could not write checkpoint {paths['manifest']}: {e.strerror or e}") from None
    finally:
        for tmp in temps:
            try:
                tmp.unlink(missing_ok=True)
            except OSError:
                pass
    return paths["manifest"]


def _read_tensors(path: Path, info: Any, manifest: Path, hint: str) -> dict[str, torch.Tensor]:
    if not isinstance(info, dict) or not isinstance(info.get("bytes"), int) or not isinstance(info.get("sha256"), str):
        raise OfaError(f"{manifest}: malformed entry for {path.name}")
    if not path.is_file():
        raise OfaError(f"{path}: missing (listed in {manifest.name}){hint}")
    data = path.read_bytes()
    if len(data) != info["bytes"]:
        raise OfaError(
            f"{path}: {len(data)} bytes, {manifest.name} expects {info['bytes']} "
            f"(truncated or half-written checkpoint){hint}"
        )
    if hashlib.sha256(data).hexdigest() != info["sha256"]:
        raise OfaError(f"{path}: checksum does not match {manifest.name} (corrupted or half-written checkpoint){hint}")
    try:
        return _load_tensors(data)
    except SafetensorError as e:
        raise OfaError(f"{path}: not a readable safetensors file ({e})") from None


def has_checkpoint(folder: str | Path, name: str = "last") -> bool:
    """Whether any file of checkpoint `name` (or of the one before it) is there, whole or not:
    load_checkpoint says what is wrong with a broken one."""
    return any(p.exists() for n in (name, f"{name}.prev") for p in checkpoint_paths(folder, n).values())


def load_checkpoint(
    folder: str | Path, name: str = "last", expect: Mapping[str, Any] | None = None
) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Read checkpoint `name` back as (model_state, state), tensors on the CPU.

    `expect` names state entries that must match (e.g. {"space_fingerprint": ...}), so a
    checkpoint of another supernet is refused. Every problem is a one-line OfaError naming the file.
    """
    paths = checkpoint_paths(folder, name)
    manifest_path = paths["manifest"]
    prev = checkpoint_paths(folder, f"{name}.prev")["manifest"]
    hint = f"; the previous checkpoint is kept as '{name}.prev'" if prev.is_file() else ""
    if not manifest_path.is_file():
        if paths["weights"].is_file():
            raise OfaError(f"{manifest_path}: missing, so checkpoint '{name}' was never completed{hint}")
        raise OfaError(f"{manifest_path}: no checkpoint '{name}' in {manifest_path.parent}")
    try:
        manifest = json.loads(manifest_path.read_bytes().decode("utf-8"))
    except (ValueError, UnicodeDecodeError, RecursionError, OSError) as e:
        raise OfaError(f"{manifest_path}: not valid JSON ({str(e)[:80]}){hint}") from None
    fmt = manifest.get("format") if isinstance(manifest, dict) else None
    if fmt != FORMAT:
        raise OfaError(f"{manifest_path}: not an ofa checkpoint (format {shown(fmt)}, expected '{FORMAT}')")
    if manifest.get("manifest_sha256") != manifest_digest(manifest):
        raise OfaError(f"{manifest_path}: its content does not match its own checksum (edited, or written by an "
                       f"older ofa); it cannot be resumed from{hint}")
    version = manifest.get("version")
    if not isinstance(version, int) or version > VERSION:
        raise OfaError(f"{manifest_path}: checkpoint version {version!r} is newer than this ofa reads ({VERSION})")
    files = manifest.get("files")
    if not isinstance(files, dict) or "state" not in manifest:
        raise OfaError(f"{manifest_path}: malformed checkpoint manifest (no 'files' or 'state')")
    weights = _read_tensors(paths["weights"], files.get("weights"), manifest_path, hint)
    tensors = _read_tensors(paths["state"], files.get("state"), manifest_path, hint)
    try:
        state = unflatten_tree(manifest["state"], tensors)
    except KeyError as e:
        raise OfaError(f"{manifest_path}: refers to tensor {e} missing from {paths['state'].name}") from None
    except (ValueError, TypeError, AttributeError) as e:
        raise OfaError(f"{manifest_path}: malformed state ({e})") from None
    if not isinstance(state, dict):
        raise OfaError(f"{manifest_path}: malformed state (expected a mapping)")
    for key, wanted in (expect or {}).items():
        found = state.get(key)
        if found != wanted:
            raise OfaError(f"{manifest_path}: checkpoint is for {key} {found!r}, expected {wanted!r}")
    return weights, state
