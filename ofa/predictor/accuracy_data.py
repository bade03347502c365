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

from ofa.errors import OfaError
from ofa.files import file_sha256

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
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as e:
        raise OfaError(f"{path}: cannot read ({e})") from None
    records = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError:
            if number == len(lines):  # a line cut short by a kill: the subnet is measured again
                break
            raise OfaError(f"{path} line {number}: not valid JSON") from None
    head = records[0] if records else None
    if not isinstance(head, dict) or head.get("format") != DATA_FORMAT:
        raise OfaError(f"{path} is not predictor accuracy data (expected format '{DATA_FORMAT}')")
    rows = records[1:]
    for number, row in enumerate(rows, 2):
        if not isinstance(row, dict) or not {"subnet", "top1"} <= set(row):
            raise OfaError(f"{path} line {number}: expected an object with 'subnet' and 'top1'")
    return AccuracyData(path, dict(head.get("supernet", {})), dict(head.get("settings", {})), rows)


def open_accuracy_data(path: Path, supernet: dict[str, str], settings: dict[str, Any]) -> AccuracyData:
    """The data file at `path`, created if absent; refused when it belongs to other weights or was
    measured with other settings (mixing them would train the predictor on two different tasks)."""
    path = Path(path)
    if path.is_dir():
        raise OfaError(f"{path} is a folder; give a file for the accuracy data (e.g. {path / 'accuracy.jsonl'})")
    if not path.exists():
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps({"format": DATA_FORMAT, "supernet": supernet, "settings": settings}) + "\n",
                            encoding="utf-8")
        except OSError as e:
            raise OfaError(f"cannot write accuracy data to {path}: {e.strerror or e}") from None
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
        path.write_bytes(text[: text.rfind(b"\n") + 1])
