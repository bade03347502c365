"""Reading and writing files safely: every reader gets plain, bounded, finite data or a one-line
error naming the file; every writer replaces a file atomically and only where ofa may write.

Reading: YAML without aliases (an alias bomb expands a few hundred bytes into gigabytes) and
JSON without NaN or Infinity, both nested at most `MAX_DEPTH` deep, every number finite and of
a sane size, every mapping key a string, before any field is looked at (`check_plain`).

Writing: `write_atomic` (temporary file, fsync, rename, fsync of the folder) is the one way a
file is replaced; `ofa.outputs` decides which paths may be written at all, before any work.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import tempfile
from pathlib import Path
from typing import Any

import yaml

from ofa.errors import OfaError, shown

MAX_DEPTH = 32               # nesting of lists and mappings in any file ofa reads
MAX_FILE_BYTES = 1 << 30     # 1 GiB: far above the largest table or manifest
MAX_INT = 10**30             # far beyond any count, size or seed (fields check their own ranges)


class _PlainLoader(yaml.SafeLoader):
    """yaml.SafeLoader that refuses aliases and bounds nesting while composing."""

    def compose_node(self, parent, index):  # noqa: ANN001 (PyYAML's signature)
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise _Refused(f"line {event.start_mark.line + 1}: YAML aliases (*{event.anchor}) are not read; "
                           f"write the value out")
        self._depth = getattr(self, "_depth", 0) + 1
        try:
            if self._depth > MAX_DEPTH:
                raise _Refused(f"nested deeper than {MAX_DEPTH} levels")
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


class _Refused(Exception):
    pass


def _read_text(path: Path, what: str) -> str:
    try:
        if not path.is_file():
            raise OfaError(f"{what} not found: {path}")
        if path.stat().st_size > MAX_FILE_BYTES:
            raise OfaError(f"{path}: {path.stat().st_size:,} bytes, more than any {what} holds")
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise OfaError(f"{path}: cannot read ({getattr(e, 'strerror', None) or e})") from None


def load_yaml(text: str, source: str) -> Any:
    """Plain data from YAML text (no objects, no aliases), checked by `check_plain`; a syntax error
    is raised as yaml.YAMLError (for readers that recover from a cut-off file), anything else as OfaError."""
    try:
        data = yaml.load(text, Loader=_PlainLoader)  # noqa: S506 (a SafeLoader subclass)
    except _Refused as e:
        raise OfaError(f"{source}: {e}") from None
    except (ValueError, OverflowError, RecursionError) as e:  # e.g. a 5,000-digit number
        raise OfaError(f"{source}: not readable YAML ({_short(e)})") from None
    return check_plain(data, source)


def parse_yaml(text: str, source: str) -> Any:
    """`load_yaml` with a syntax error as a one-line OfaError too."""
    try:
        return load_yaml(text, source)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark else ""
        raise OfaError(f"{source}: not valid YAML{where}: {getattr(e, 'problem', None) or e}") from None


def parse_json(text: str, source: str) -> Any:
    """Plain data from JSON text (NaN and Infinity refused), checked by `check_plain`."""
    def constant(name: str) -> Any:
        raise _Refused(f"{name} is not a number ofa reads")

    try:
        data = json.loads(text, parse_constant=constant)
    except _Refused as e:
        raise OfaError(f"{source}: {e}") from None
    except json.JSONDecodeError as e:
        raise OfaError(f"{source}: not valid JSON ({e})") from None
    except (ValueError, RecursionError) as e:
        raise OfaError(f"{source}: not readable JSON ({_short(e)})") from None
    return check_plain(data, source)


def _short(e: BaseException) -> str:
    text = str(e).split(";")[0].strip()
    return text if len(text) < 120 else type(e).__name__


def read_yaml(path: str | Path, what: str) -> Any:
    """Plain data from a YAML file (see `parse_yaml`)."""
    path = Path(path)
    return parse_yaml(_read_text(path, what), str(path))


def read_json(path: str | Path, what: str) -> Any:
    """Plain data from a JSON file (see `parse_json`)."""
    path = Path(path)
    return parse_json(_read_text(path, what), str(path))


def check_plain(data: Any, source: str) -> Any:
    """`data` if it is plain data ofa can read: nested at most MAX_DEPTH deep, string keys,
    finite numbers below MAX_INT in size; else a one-line OfaError naming where."""
    stack: list[tuple[Any, str, int]] = [(data, "", 0)]
    while stack:
        value, where, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise OfaError(f"{source}: nested deeper than {MAX_DEPTH} levels")
        at = f"{source}{where}" if where else source
        if isinstance(value, bool) or value is None or isinstance(value, str):
            continue
        if isinstance(value, int):
            if abs(value) > MAX_INT:
                raise OfaError(f"{at}: expected a whole number of at most 30 digits, got {shown(value)}")
        elif isinstance(value, float):
            if not math.isfinite(value):
                raise OfaError(f"{at}: expected a finite number, got {value}")
        elif isinstance(value, dict):
            for key, item in value.items():
                if not isinstance(key, str):
                    raise OfaError(f"{at}: field name {key!r} is not text")
                stack.append((item, f"{where}.{key}", depth + 1))
        elif isinstance(value, list):
            stack.extend((item, f"{where}[{i}]", depth + 1) for i, item in enumerate(value))
        else:  # dates, bytes, sets: YAML tags ofa's files never use
            raise OfaError(f"{at}: a {type(value).__name__} is not a value ofa reads")
    return data


# -- writing -----------------------------------------------------------------------------------------


def usual_mode(path: str | Path) -> Path:
    """Give a file the permissions any new file gets here (0666 less the umask). mkstemp and
    safetensors create files 0600, which hid shared tables and weights from other users."""
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(path, 0o666 & ~umask)
    return Path(path)


def fsync_folder(folder: Path) -> None:
    """Make a rename in `folder` durable (not possible on every platform: then skipped)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def write_temp(final: Path, data: bytes) -> Path:
    """`data` in a new temporary file beside `final`, flushed to disk, with the usual mode."""
    fd, tmp = tempfile.mkstemp(dir=final.parent, prefix=f".{final.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        return usual_mode(tmp)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_atomic(path: str | Path, data: bytes | str) -> Path:
    """Replace `path` with `data` so that a crash leaves the old file or the new one, never half
    of one. Only a regular file (or nothing) is replaced: a link, a folder, a device or a pipe at
    `path` is refused, so that writing never redirects through, or destroys, what ofa did not make."""
    path = Path(path)
    blob = data.encode("utf-8") if isinstance(data, str) else data
    try:
        refuse_special(path, "output")
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = write_temp(path, blob)
        try:
            os.replace(tmp, path)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        fsync_folder(path.parent)
    except OSError as e:
        raise OfaError(f"cannot write {path}: {e.strerror or e}") from None
    return path


def save_figure(figure: Any, path: str | Path) -> Path:
    """A matplotlib figure as PNG, written like any other file (`write_atomic`)."""
    import io

    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return write_atomic(path, buffer.getvalue())


def write_json(path: str | Path, data: Any, indent: int | None = 2) -> Path:
    """`data` as JSON, atomically; a number that could not be computed (NaN, infinite) is written as
    null, since no reader of ofa's takes non-finite numbers."""
    return write_atomic(path, json.dumps(finite(data), indent=indent) + "\n")


def finite(data: Any) -> Any:
    """`data` with every NaN or infinite float replaced by None."""
    if isinstance(data, float):
        return data if math.isfinite(data) else None
    if isinstance(data, dict):
        return {k: finite(v) for k, v in data.items()}
    if isinstance(data, (list, tuple)):
        return [finite(v) for v in data]
    return data


def refuse_special(path: Path, what: str) -> None:
    """Refuse a path that is a symbolic link, or is there and is neither a regular file nor a folder."""
    import stat

    try:
        mode = os.lstat(path).st_mode
    except (FileNotFoundError, NotADirectoryError):  # free, or under a file (the folder checks say so)
        return
    except OSError as e:  # a name too long, a link loop above it, ...
        raise OfaError(f"{what} {path}: {e.strerror or e}") from None
    if stat.S_ISLNK(mode):
        raise OfaError(f"{what} {path} is a symbolic link; ofa writes only real files and folders (give the "
                       f"path it points to, or another)")
    if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
        raise OfaError(f"{what} {path} is not a regular file or folder (a device, pipe or socket); give another")


def file_sha256(path: str | Path) -> str:
    """Hex SHA-256 of a file's bytes, read a megabyte at a time."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()
