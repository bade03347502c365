"""once-for-all's per-resolution YAML lookup tables as one ofa table. Each of our parts (stem,
fixed first block, elastic blocks, head) holds the sum of the source entries that make it up, so
every prediction afterwards is the same vectorized gather as for a measured table."""

from __future__ import annotations

import datetime as dt
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from ofa import __version__
from ofa.devices import DeviceProfile
from ofa.errors import OfaError
from ofa.files import file_sha256, load_yaml
from ofa.families.mbconv.parts import Part
from ofa.families.parts import null_key, resolution_parts
from ofa.latency.table import LatencyTable, at_resolution
from ofa.families.mbconv.space import SearchSpace
from ofa.layers.shapes import conv_out

_OFA_KEY = re.compile(r"^(Conv|Conv_1|Conv_2|AvgPool2D|Logits|expanded_conv)-input:")
_OFA_FILE = re.compile(r"([0-9]+)_lookup_table\.ya?ml$")


@dataclass(frozen=True)
class SourceFile:
    """One once-for-all table file, read: its entries' mean times (ms) and how it was read."""

    path: Path
    resolution: int
    means: dict[str, float]
    stds: dict[str, float]
    sha256: str
    truncated: bool  # the file ended inside an entry; that entry was dropped


def ofa_keys(part: Part) -> list[str]:
    """once-for-all's key(s) for one of our parts: its head is four entries (final expand, pool,
    feature mix, classifier), every other part one."""
    n, cfg = part.input_shape[-1], part.net
    if part.kind == "stem":
        s = conv_out(n, 3, cfg.stem_stride)
        return [f"Conv-input:{n}x{n}x{cfg.in_channels}-output:{s}x{s}x{cfg.stem_width}"]
    if part.kind == "head":
        c, h, f = part.input_shape[0], cfg.head_width, cfg.feature_width
        return [f"Conv_1-input:{n}x{n}x{c}-output:{n}x{n}x{h}", f"AvgPool2D-input:{n}x{n}x{h}-output:1x1x{h}",
                f"Conv_2-input:1x1x{h}-output:1x1x{f}", f"Logits-input:1x1x{f}-output:{cfg.num_classes}"]
    b = part.block
    o = conv_out(n, b.kernel, b.stride)
    return [f"expanded_conv-input:{n}x{n}x{b.in_channels}-output:{o}x{o}x{b.out_channels}-expand:{b.mid_channels}"
            f"-kernel:{b.kernel}-stride:{b.stride}-idskip:{int(b.residual)}-se:{int(b.se_channels > 0)}"
            f"-hs:{int(b.act == 'hswish')}"]


def _load_ofa_yaml(path: Path) -> tuple[Any, bool]:
    """Safe-load a table; a file cut off inside its last entry (as once-for-all's published 224 px
    table is) is read without that entry and reported as truncated."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise OfaError(f"{path}: cannot read ({e})") from None
    try:
        return load_yaml(text, str(path)), False
    except yaml.YAMLError as e:
        lines = text.splitlines()
        starts = [i for i, line in enumerate(lines) if line[:1] not in ("", " ", "\t", "#")]
        mark = getattr(e, "problem_mark", None) or getattr(e, "context_mark", None)
        if not starts or mark is None or mark.line < starts[-1]:
            raise OfaError(f"{path}: not valid YAML (line {mark.line + 1 if mark else '?'}); "
                           f"not a once-for-all latency table") from None
        try:  # the error lies in the last entry: read what precedes it
            return load_yaml("\n".join(lines[: starts[-1]]), str(path)), True
        except yaml.YAMLError:
            raise OfaError(f"{path}: not valid YAML; not a once-for-all latency table") from None


def read_ofa_file(path: Path) -> SourceFile:
    """Read and check one `<resolution>_lookup_table.yaml`."""
    data, truncated = _load_ofa_yaml(path)
    hint = "expected once-for-all's mapping of keys like 'Conv-input:160x160x3-output:80x80x24' to {count, mean, std}"
    if not isinstance(data, dict) or not data:
        raise OfaError(f"{path} is not a once-for-all latency table ({hint})")
    means, stds = {}, {}
    for key, entry in data.items():
        if not isinstance(key, str) or not _OFA_KEY.match(key) or not isinstance(entry, dict):
            raise OfaError(f"{path} is not a once-for-all latency table: entry {str(key)[:60]!r} ({hint})")
        mean = entry.get("mean")
        if isinstance(mean, bool) or not isinstance(mean, (int, float)) or not math.isfinite(mean) or mean < 0:
            raise OfaError(f"{path}: entry {key!r} has no valid 'mean' (ms), got {mean!r}")
        means[key] = float(mean)
        std = entry.get("std", 0.0)
        stds[key] = float(std) if isinstance(std, (int, float)) and not isinstance(std, bool) else 0.0
    stems = [k for k in means if k.startswith("Conv-input:")]
    sizes = {int(m.group(1)) for k in stems if (m := re.match(r"Conv-input:(\d+)x\1x", k))}
    if len(sizes) != 1:
        raise OfaError(f"{path}: expected one stem entry 'Conv-input:RxRx3-...' that gives the resolution, "
                       f"found {len(stems)}")
    resolution = sizes.pop()
    named = _OFA_FILE.search(path.name)
    if named and int(named.group(1)) != resolution:
        raise OfaError(f"{path}: the file name says {named.group(1)} px, its stem entry {resolution} px")
    digest = file_sha256(path)
    return SourceFile(path, resolution, means, stds, digest, truncated)


def ofa_files(paths: list[Path]) -> list[Path]:
    """The table files named, a folder standing for its `*_lookup_table.yaml` files."""
    found: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            inside = sorted(q for q in p.iterdir() if _OFA_FILE.search(q.name))
            if not inside:
                raise OfaError(f"{p}: no once-for-all table files (<resolution>_lookup_table.yaml) in this folder")
            found += inside
        elif p.is_file():
            found.append(p)
        else:
            raise OfaError(f"latency table file not found: {p}")
    return found


def import_tables(paths: list[Path], profile: DeviceProfile, space: SearchSpace) -> LatencyTable:
    """once-for-all's per-resolution tables as one of ours. A table predicts a network as the plain
    sum of its entries' means, so the imported parts are plain sums too (statistic `mean`, no
    calibration), each kept for its own resolution (`at_resolution`); its entries time layers inside
    a network, with no per-call overhead to take off, so the empty-call entries are 0."""
    sources = [read_ofa_file(p) for p in ofa_files(paths)]
    by_res: dict[int, SourceFile] = {}
    for src in sources:
        if src.resolution in by_res:
            raise OfaError(f"{src.path} and {by_res[src.resolution].path} are both {src.resolution} px tables")
        if src.resolution not in space.resolutions:
            raise OfaError(f"{src.path}: {src.resolution} px is not a resolution of space '{space.name}' "
                           f"(allowed: {list(space.resolutions)})")
        by_res[src.resolution] = src
    classes = {int(k.rsplit(":", 1)[1]) for s in sources for k in s.means if k.startswith("Logits-")}
    if len(classes) != 1:
        raise OfaError(f"expected one classifier size over the tables' 'Logits' entries, found {sorted(classes) or 'none'}")
    num_classes = classes.pop()

    entries: dict[str, dict[str, float]] = {}
    incomplete: dict[int, dict[str, str]] = {}
    for r, src in sorted(by_res.items()):
        fixed, slots = resolution_parts(space, r, num_classes)
        parts = fixed + [p for choices in slots for p in choices if p is not None]
        used: set[str] = set()
        for part in parts:
            keys = ofa_keys(part)
            used.update(keys)
            lacking = [k for k in keys if k not in src.means]
            if lacking:
                incomplete.setdefault(r, {})[part.key] = lacking[0]
                continue
            entries[at_resolution(part.key, r)] = {"mean_ms": sum(src.means[k] for k in keys),
                                 "std_ms": math.sqrt(sum(src.stds[k] ** 2 for k in keys))}
            entries[null_key(part.input_shape)] = {"mean_ms": 0.0, "std_ms": 0.0}
        foreign = sorted(set(src.means) - used)
        if foreign:
            raise OfaError(f"{src.path}: {len(foreign)} of its entries are no part of space '{space.name}' "
                           f"(first: {foreign[0]}); it is a table for another space")
    return LatencyTable(
        device=profile.name, space=space.name, space_fingerprint=space.fingerprint(), num_classes=num_classes,
        batch_size=profile.batch_size, resolutions=sorted(by_res), statistic="mean", incomplete=incomplete,
        entries=entries, calibration=None,
        provenance={
            "source": "once-for-all latency lookup tables", "format": "ofa", "profile": profile.to_dict(),
            "backend": "imported", "prediction": "plain sum of the source entries' means, as once-for-all's",
            "files": [{"name": s.path.name, "sha256": s.sha256, "resolution": s.resolution,
                       "entries": len(s.means), "truncated": s.truncated} for s in sources],
            "ofa_version": __version__,
            "created": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        },
    )


NAME = "ofa"
SUMMARY = "once-for-all's <resolution>_lookup_table.yaml files (a folder or the files)"
