"""Reading user files (YAML, JSON) safely, with one-line errors that name the file."""

from __future__ import annotations

import json
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
