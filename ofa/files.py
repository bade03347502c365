"""Reading user files (YAML, JSON) safely, with one-line errors that name the file."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

import yaml

from ofa.errors import OfaError


def read_yaml(path: str | Path, what: str) -> Any:
    """Plain data from a YAML file (safe loader only: no object construction)."""
    path = Path(path)
    if not path.is_file():
        raise OfaError(f"{what} not found: {path}")
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark else ""
        raise OfaError(f"{path}: not valid YAML{where}: {getattr(e, 'problem', e)}") from None
    except (OSError, UnicodeDecodeError) as e:
        raise OfaError(f"{path}: cannot read ({e})") from None


def read_json(path: str | Path, what: str) -> Any:
    path = Path(path)
    if not path.is_file():
        raise OfaError(f"{what} not found: {path}")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise OfaError(f"{path}: not valid JSON ({e})") from None


def check_writable_folder(path: Path, what: str) -> None:
    """Whether `path` could be made a folder to write in, creating nothing: checked before any
    work, so an --out that is a file, lies under a file or is not writable costs one line at once."""
    path = Path(path).absolute()
    existing = next(p for p in (path, *path.parents) if p.exists())
    if not existing.is_dir():
        raise OfaError(f"{what} {path}: " + ("a file is in the way (expected a folder)" if existing == path
                                            else f"lies under a file ({existing})"))
    if not os.access(existing, os.W_OK | os.X_OK):
        raise OfaError(f"{what} {path}: cannot write there ({existing} is not writable)")


def ensure_writable_folder(path: Path, what: str) -> None:
    """`check_writable_folder`, then create it."""
    check_writable_folder(path, what)
    Path(path).mkdir(parents=True, exist_ok=True)


def file_sha256(path: str | Path) -> str:
    """Hex SHA-256 of a file's bytes, read a megabyte at a time."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def usual_mode(path: str | Path) -> Path:
    """Give a file the permissions any new file gets here (0666 less the umask). mkstemp and
    safetensors create files 0600, which hid shared tables and weights from other users."""
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(path, 0o666 & ~umask)
    return Path(path)
