"""Fetching a published file into a cache: resumable (an interrupted download continues where it
stopped, by an HTTP Range request), its sha256 recorded beside it, and one line when the network or
the server fails. Standard library only (urllib)."""

from __future__ import annotations

import datetime as dt
import http.client
import os
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Callable

from ofa.errors import OfaError
from ofa.files import file_sha256, read_json, usual_mode, write_json
from ofa.outputs import check_writable_folder

DEFAULT_CACHE = Path("~/.cache/ofa/checkpoints")
CHUNK = 1 << 20
TIMEOUT_S = 30.0

Progress = Callable[[str, int, int], None]


def _record(path: Path) -> Path:
    return path.with_name(path.name + ".json")


def cached(path: Path) -> dict | None:
    """The record of a finished download at `path`, if the file is still the one recorded."""
    record = _record(path)
    if not (path.is_file() and record.is_file()):
        return None
    try:
        info = read_json(record, "download record")
    except OfaError:
        return None
    if not isinstance(info, dict) or info.get("bytes") != path.stat().st_size:
        return None
    return info if info.get("sha256") == file_sha256(path) else None


def _open(url: str, start: int):
    """The server's answer from byte `start` on; None when the part already holds the whole file."""
    if urllib.parse.urlsplit(url).scheme not in ("http", "https"):
        raise OfaError(f"cannot download {url}: expected an http:// or https:// address")
    request = urllib.request.Request(url, headers={"Range": f"bytes={start}-"} if start else {})
    try:
        return urllib.request.urlopen(request, timeout=TIMEOUT_S)
    except urllib.error.HTTPError as e:
        if e.code == 416 and start:  # nothing from `start` on: the part is whole, or not the server's file
            size = e.headers.get("Content-Range", "").rpartition("/")[2]
            return None if size == str(start) else _open(url, 0)
        raise OfaError(f"cannot download {url}: the server answered {e.code} {e.reason}") from None
    except (urllib.error.URLError, http.client.HTTPException, OSError, ValueError) as e:
        reason = getattr(e, "reason", None) or e
        raise OfaError(f"cannot download {url}: {reason} (no network? download it elsewhere and pass the file "
                       f"instead)") from None


def download(url: str, path: Path, progress: Progress | None = None) -> dict:
    """Fetch `url` to `path` (kept as `path`.part until complete), or take the finished copy already
    there; returns its record: url, bytes, sha256, when."""
    path = Path(path).expanduser()
    done = cached(path)
    if done is not None:
        return done
    check_writable_folder(path.parent, "download cache")
    part = path.with_name(path.name + ".part")
    start = part.stat().st_size if part.is_file() else 0
    response = _open(url, start)
    path.parent.mkdir(parents=True, exist_ok=True)
    if response is not None:
        with response:
            resumed = start > 0 and response.status == 206
            have = start if resumed else 0
            total = have + response.length if response.length is not None else 0
            try:
                with open(part, "ab" if resumed else "wb") as f:
                    while block := response.read(CHUNK):
                        f.write(block)
                        have += len(block)
                        if progress:
                            progress("download", have, max(total, have))
                    f.flush()
                    os.fsync(f.fileno())
            except (OSError, urllib.error.URLError, http.client.HTTPException) as e:  # the part stays for next time
                raise OfaError(f"download of {url} stopped at {have:,} bytes ({e}); run the same command again "
                               f"to continue it") from None
            if total and have < total:
                raise OfaError(f"download of {url} stopped at {have:,} of {total:,} bytes; run the same command "
                               f"again to continue it")
    info = {"url": url, "bytes": part.stat().st_size, "sha256": file_sha256(part),
            "downloaded": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")}
    os.replace(usual_mode(part), path)
    write_json(_record(path), info)
    return info
