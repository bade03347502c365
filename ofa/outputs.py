"""What ofa may write over: only what it can prove it wrote, and only one command at a time.

Every output folder ofa makes (a supernet run, an exported model, a folder of specialized models,
a staging folder beside one of them) holds a small marker file, `.ofa-output`, naming its kind.
A folder is replaced (`--force`) or removed only when its marker names a kind the command makes:
`export --force` replaces an exported model, never a supernet run, and a folder of the user's
photos named `x.partial` is never taken for ofa's staging folder. An output is written under an
exclusive lock (`output_lock`): a second command writing the same output stops at once with one
line instead of mixing its files into the first one's.

Before any work, every command checks each path it will write (`check_writable_folder`,
`check_writable_file`, `check_own_files`): a file in the way, a link, a read-only folder or
another command's file costs one line at once, not an hour of work lost at the end.
"""

from __future__ import annotations

import errno
import fcntl
import os
import shutil
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from ofa.errors import OfaError
from ofa.files import read_json, refuse_special, write_atomic

MARKER = ".ofa-output"
KINDS = {"supernet-run": "a run", "model": "an exported model", "models": "specialized models",
         "latency-kit": "a measuring kit"}
_LOCK_TEXT = b"ofa output lock\n"


def check_writable_folder(path: Path, what: str) -> None:
    """Whether `path` could be made a folder to write in, creating nothing: checked before any
    work, so an --out that is a file, a link, lies under a file or is not writable costs one line at once."""
    path = Path(path).absolute()
    refuse_special(path, what)
    existing = path
    while True:
        try:
            os.stat(existing)
            break
        except (FileNotFoundError, NotADirectoryError):
            existing = existing.parent
        except OSError as e:
            raise OfaError(f"{what} {path}: {e.strerror or e}") from None
    if not existing.is_dir():
        raise OfaError(f"{what} {path}: " + ("a file is in the way (expected a folder)" if existing == path
                                            else f"lies under a file ({existing})"))
    if not os.access(existing, os.W_OK | os.X_OK):
        raise OfaError(f"{what} {path}: cannot write there ({existing} is not writable)")


def ensure_writable_folder(path: Path, what: str) -> None:
    """`check_writable_folder`, then create it."""
    check_writable_folder(path, what)
    try:
        Path(path).mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise OfaError(f"{what} {path}: {e.strerror or e}") from None


def check_writable_file(path: Path, what: str) -> None:
    """Whether a file could be written at `path`: its folder as `check_writable_folder`, and the
    path itself nothing but a regular file or free."""
    path = Path(path)
    refuse_special(path, what)
    if path.is_dir():
        raise OfaError(f"{what} {path} is a folder; give a file name")
    if path.is_file():
        check_writable_folder(path.parent, what)  # a new version is written beside it, then renamed
        if not os.access(path, os.W_OK):
            raise OfaError(f"{what} {path}: cannot write it (read-only)")
    else:
        check_writable_folder(path, what)


def check_own_files(folder: Path, names: tuple[str, ...], report: str, keys: tuple[str, ...], what: str) -> None:
    """Before work: files `names` that a command writes into `folder` may replace only earlier
    output of that command: if any is there, `report` (one of them, JSON) must hold `keys`."""
    folder = Path(folder)
    check_writable_folder(folder, what)
    for name in names:
        check_writable_file(folder / name, what)
    if not any((folder / name).exists() for name in names):
        return
    try:
        ours = set(keys) <= set(read_json(folder / report, "report"))
    except (OfaError, TypeError):
        ours = False
    if not ours:
        raise OfaError(f"{what} {folder}: {', '.join(n for n in names if (folder / n).exists())} there "
                       f"{'were' if len(names) > 1 else 'was'} not written by this command; they are not replaced "
                       f"(choose another {what})")


def mark(folder: Path, kind: str) -> None:
    """Record that ofa made `folder` as an output of `kind`."""
    assert kind in KINDS, kind
    Path(folder).mkdir(parents=True, exist_ok=True)
    write_atomic(Path(folder) / MARKER, f"{kind}\n")


def kind_of(folder: Path) -> str | None:
    """The kind ofa recorded for `folder`, or None when ofa did not make it (or it is no folder)."""
    marker = Path(folder) / MARKER
    try:
        if Path(folder).is_symlink() or marker.is_symlink() or not marker.is_file() or marker.stat().st_size > 64:
            return None
        kind = marker.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError):
        return None
    return kind if kind in KINDS else None


def check_out_folder(path: Path, what: str, kinds: tuple[str, ...], force: bool, hint: str = "") -> bool:
    """Checked before any work: may a command that makes `kinds` write its output folder at `path`?
    True when a folder of one of `kinds` is there to be replaced (which needs `force`). A folder of
    files ofa did not write (or of another kind) is refused even with --force; so are links and
    special files."""
    path = Path(path)
    check_writable_folder(path, what)
    if not path.is_dir() or not any(path.iterdir()):
        return False
    found = kind_of(path)
    if found not in kinds:
        what_is_there = f"an ofa {found} folder" if found else "files ofa did not write"
        raise OfaError(f"{what} {path} holds {what_is_there}; ofa replaces only its own {' or '.join(kinds)} "
                       f"folders: choose another {what}")
    if not force:
        raise OfaError(f"{path} already holds {KINDS[found]}; pass --force to replace it (it is kept until the new "
                       f"one is complete) or choose another {what}{hint}")
    return True


def remove_own(folder: Path, kinds: tuple[str, ...]) -> None:
    """Remove `folder` if ofa made it as one of `kinds`; anything else there is refused, untouched."""
    folder = Path(folder)
    if not folder.exists() and not folder.is_symlink():
        return
    if kind_of(folder) not in kinds:
        raise OfaError(f"{folder} is in the way and ofa did not write it; move it away and run again")
    shutil.rmtree(folder)


def check_free(folder: Path, kinds: tuple[str, ...]) -> None:
    """Before work: a scratch name ofa will use (`.NAME.partial`, `.NAME.old`) is free or its own."""
    folder = Path(folder)
    refuse_special(folder, "scratch folder")
    if folder.exists() and kind_of(folder) not in kinds:
        raise OfaError(f"{folder} is in the way and ofa did not write it; move it away and run again")


def swap_in(new: Path, out: Path) -> Path:
    """Put the finished folder `new` in place of `out` (which, if there, ofa made: checked before)."""
    new, out = Path(new), Path(out)
    old = out.with_name(f".{out.name}.old")
    remove_own(old, KINDS)
    if out.exists():
        os.replace(out, old)
    os.replace(new, out)
    shutil.rmtree(old, ignore_errors=True)
    return out


@contextmanager
def output_lock(path: Path, what: str = "--out") -> Iterator[None]:
    """Hold an exclusive lock on output `path` (a file `.NAME.ofa-lock` beside it) for the block.
    A second holder is refused at once, naming the output."""
    path = Path(path).absolute()
    lock = path.with_name(f".{path.name}.ofa-lock")
    made = [p for p in (lock.parent, *lock.parent.parents) if not p.exists()]
    lock.parent.mkdir(parents=True, exist_ok=True)
    while True:
        try:
            fd = os.open(lock, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o644)
        except OSError as e:
            raise OfaError(f"{what} {path}: cannot take its lock {lock.name} ({e.strerror or e})") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as e:
            os.close(fd)
            if e.errno in (errno.EWOULDBLOCK, errno.EAGAIN):
                raise OfaError(f"{what} {path} is being written by another ofa command; wait for it to finish "
                               f"or choose another {what}") from None
            raise OfaError(f"{what} {path}: cannot lock it ({e.strerror or e})") from None
        try:
            same = os.fstat(fd).st_ino == os.stat(lock).st_ino  # not removed by the holder before us
        except FileNotFoundError:
            same = False
        if same:
            break
        os.close(fd)
    ours = os.fstat(fd).st_size in (0, len(_LOCK_TEXT))
    if ours and os.fstat(fd).st_size == 0:
        os.write(fd, _LOCK_TEXT)
    try:
        yield
    finally:
        if ours:
            try:
                lock.unlink()
            except OSError:
                pass
        os.close(fd)
        for folder in made:  # folders made for the lock alone go again (the output's parents stay)
            try:
                folder.rmdir()
            except OSError:
                break
