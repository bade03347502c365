"""The predictor's labels: one JSON line per measured subnet, after a header that binds them to a
supernet (its space and the hash of its weights) and to how they were measured.

    runs/NAME/predictor/accuracy.jsonl
      {"format": "ofa-accuracy-data/1", "supernet": {...}, "settings": {...}}
      {"index": 0, "source": "collect", "subnet": "r32:...", "top1": 41.2, ...}

Appending one line per subnet makes a killed collect lose at most the subnet in flight.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ofa import fields
from ofa.errors import OfaError
from ofa.files import file_sha256, parse_json, write_atomic
from ofa.outputs import check_writable_file

DATA_FORMAT = "ofa-accuracy-data/1"


def supernet_fingerprint(run: Path) -> dict[str, str]:
    """What predictor labels depend on: the space and the exact final weights of a run."""
    from ofa.train.run_folder import RunFolder

    folder = RunFolder(Path(run))
    info = folder.read_info()
    if not folder.weights.is_file():
        raise OfaError(f"{folder.root} has no {folder.weights.name}: training has not finished "
                       f"(resume it with: ofa train-supernet --resume --out {folder.root})")
    return {"space": str(info["space"]), "space_fingerprint": str(info["space_fingerprint"]),
            "weights_sha256": file_sha256(folder.weights)}


def describe(fingerprint: dict[str, str]) -> str:
    return f"space '{fingerprint.get('space')}', weights {str(fingerprint.get('weights_sha256'))[:12]}"


@dataclass
class AccuracyData:
    path: Path
    supernet: dict[str, str]
    settings: dict[str, Any]
    rows: list[dict[str, Any]] = field(default_factory=list)

    def measured(self) -> set[str]:
        return {r["subnet"] for r in self.rows}

    def append(self, row: dict[str, Any]) -> None:
        with self.path.open("a", encoding="utf-8") as f:
            f.write(json.dumps(row) + "\n")
            f.flush()
        self.rows.append(row)


def default_data_path(run: Path) -> Path:
    return Path(run) / "predictor" / "accuracy.jsonl"


def read_accuracy_data(path: Path) -> AccuracyData:
    path = Path(path)
    if not path.is_file():
        raise OfaError(f"accuracy data not found: {path} (measure it with `ofa predictor collect`)")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise OfaError(f"{path}: cannot read ({getattr(e, 'strerror', None) or e})") from None
    lines = text.splitlines()
    records = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            records.append((number, parse_json(line, f"{path} line {number}")))
        except OfaError:
            if number == len(lines) and not text.endswith("\n"):  # cut short by a kill: measured again
                break
            raise
    head = records[0][1] if records else None
    if not isinstance(head, dict) or head.get("format") != DATA_FORMAT:
        raise OfaError(f"{path} is not predictor accuracy data (expected format '{DATA_FORMAT}')")
    fields.mapping(head, f"{path} line 1", ("format", "supernet", "settings"), required=("supernet", "settings"))
    supernet = fields.mapping(head["supernet"], f"{path} line 1: supernet", _SUPERNET, required=_SUPERNET)
    for key in _SUPERNET:
        fields.text(supernet[key], f"{path} line 1: supernet.{key}")
    if not isinstance(head["settings"], dict):
        raise fields.fail(f"{path} line 1: settings", "a mapping", head["settings"])
    rows = [check_row(row, f"{path} line {number}") for number, row in records[1:]]
    return AccuracyData(path, dict(supernet), dict(head["settings"]), rows)


_SUPERNET = ("space", "space_fingerprint", "weights_sha256")
_PERCENT = ("top1", "top5")


def check_row(row: Any, where: str) -> dict[str, Any]:
    """One measured subnet: its compact string and top-1 % (0-100) at least; counts whole, figures finite."""
    if not isinstance(row, dict) or not {"subnet", "top1"} <= set(row):
        raise OfaError(f"{where}: expected an object with 'subnet' and 'top1'")
    fields.text(row["subnet"], f"{where}: subnet", longest=2_000)
    for key, value in row.items():
        if key in _PERCENT:
            fields.real(value, f"{where}: {key}", 0, 100, what="a percentage from 0 to 100")
        elif key == "source":
            fields.text(value, f"{where}: source", longest=100)
        elif key in ("index", "macs", "params", "images"):
            fields.whole(value, f"{where}: {key}", "count")
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            fields.real(value, f"{where}: {key}")
    return row


def open_accuracy_data(path: Path, supernet: dict[str, str], settings: dict[str, Any]) -> AccuracyData:
    """The data file at `path`, created if absent; refused when it belongs to other weights or was
    measured with other settings (mixing them would train the predictor on two different tasks)."""
    path = Path(path)
    if path.is_dir():
        raise OfaError(f"{path} is a folder; give a file for the accuracy data (e.g. {path / 'accuracy.jsonl'})")
    check_writable_file(path, "accuracy data")
    if not path.exists():
        write_atomic(path, json.dumps({"format": DATA_FORMAT, "supernet": supernet, "settings": settings}) + "\n")
        return AccuracyData(path, supernet, settings)
    data = read_accuracy_data(path)
    check_supernet(data.supernet, supernet, str(path))
    changed = {k: (data.settings.get(k), v) for k, v in settings.items() if data.settings.get(k) != v}
    if changed:
        what = ", ".join(f"{k} {old!r} -> {new!r}" for k, (old, new) in changed.items())
        raise OfaError(f"{path} was measured with other settings ({what}); use the same settings, or "
                       f"another --out for a new data set")
    _drop_partial_line(path)
    return data


def check_supernet(theirs: dict[str, str], mine: dict[str, str], source: str) -> None:
    if theirs != mine:
        raise OfaError(f"{source} belongs to another supernet ({describe(theirs)}), not this run "
                       f"({describe(mine)}); collect and train again for this run")


def _drop_partial_line(path: Path) -> None:
    """A kill in mid-write leaves a line without its newline: cut it so appends start clean."""
    text = path.read_bytes()
    if text and not text.endswith(b"\n"):
        write_atomic(path, text[: text.rfind(b"\n") + 1])
