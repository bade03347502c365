"""A kit's kit.json and its runner's results.json, read back (`ofa latency import --format kit`,
`ofa latency fit`): each checked whole, and against the device and space they must be for."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ofa import fields
from ofa.devices import DeviceProfile
from ofa.devices.profile import STATISTICS
from ofa.errors import OfaError
from ofa.files import read_json
from ofa.latency import kit_runner
from ofa.latency.kit import RUNTIMES
from ofa.families.parts import all_parts
from ofa.latency.table import LONGEST_MS
from ofa.spaces import Space

STAT_KEYS = ("median_ms", "p10_ms", "p90_ms", "mean_ms", "runs")
RESULT_KEYS = ("format", "runner_version", "kit_format", "kit_id", "device", "space", "space_fingerprint", "batch_size",
               "settings", "runtime", "host", "started", "updated", "complete", "results")  # what the runner writes


def read_kit(folder: Path, profile: DeviceProfile, space: Space) -> dict[str, Any]:
    """kit.json of `folder`, checked whole and refused when it is for another device or space."""
    path = Path(folder) / kit_runner.KIT_FILE
    doc = read_json(path, "kit description")
    where = str(path)
    if not isinstance(doc, dict) or doc.get("format") != kit_runner.KIT_FORMAT:
        found = doc.get("format") if isinstance(doc, dict) else None
        raise OfaError(f"{where}: not a kit of this version of ofa (format {found!r}, expected "
                       f"'{kit_runner.KIT_FORMAT}'); write a new kit with `ofa latency kit`")
    fields.mapping(doc, where, ("format", "kit_id", "device", "space", "space_fingerprint", "num_classes",
                                "batch_size", "resolutions", "runtime", "settings", "profile", "models", "created",
                                "ofa_version"), required=("kit_id", "device", "space", "space_fingerprint",
                                                          "num_classes", "batch_size", "resolutions", "models"))
    fields.hex_digits(doc["kit_id"], f"{where}: kit_id", 16)
    if doc["device"] != profile.name:
        raise OfaError(f"{where}: a kit for device '{doc['device']}', not '{profile.name}'")
    if doc["space"] != space.name:
        raise OfaError(f"{where}: a kit for space '{doc['space']}', not '{space.name}'")
    if doc["space_fingerprint"] != space.fingerprint():
        raise OfaError(f"{where}: a kit for another version of space '{space.name}'; write a new kit")
    fields.whole(doc["num_classes"], f"{where}: num_classes", "classes")
    if fields.whole(doc["batch_size"], f"{where}: batch_size", "batch_size") != profile.batch_size:
        raise OfaError(f"{where}: a kit at batch {doc['batch_size']}, device '{profile.name}' runs batch "
                       f"{profile.batch_size}")
    for r in fields.items(doc["resolutions"], f"{where}: resolutions", "a list of resolutions"):
        if r not in space.resolutions:
            raise fields.fail(f"{where}: resolutions", f"resolutions of space '{space.name}'", r)
    seen, part_keys = set(), {p.key for p in all_parts(space, doc["resolutions"], doc["num_classes"])}
    for i, m in enumerate(fields.items(doc["models"], f"{where}: models", "a non-empty list of models")):
        at = f"{where}: models[{i}]"
        fields.mapping(m, at, ("id", "kind", "name", "file", "sha256", "input_shape", "input_name", "dtype", "weights"),
                       required=("id", "kind", "name"))
        fields.text(m["kind"], f"{at}.kind", ("part", "subnet"))
        fields.text(m["name"], f"{at}.name", longest=2000)
        if m["kind"] == "part" and m["name"] not in part_keys:  # fit reads only the subnets: checked here
            raise fields.fail(f"{at}.name", f"a part of space '{space.name}' at the kit's resolutions", m["name"])
        if fields.text(m["id"], f"{at}.id", longest=64) in seen:
            raise OfaError(f"{at}.id: '{m['id']}' is listed twice")
        seen.add(m["id"])
    # what the commands that read a kit take from it besides its models: the runtime (a table's
    # backend), the statistic, the profile it was measured with (import compares it with the device's)
    if "runtime" in doc:
        fields.text(doc["runtime"], f"{where}: runtime", RUNTIMES)
    _informational(doc, where, records=("settings", "profile"), texts=("created", "ofa_version"))
    if "statistic" in (doc.get("settings") or {}):
        fields.text(doc["settings"]["statistic"], f"{where}: settings.statistic", STATISTICS)
    return doc


def _informational(doc: dict[str, Any], where: str, records: tuple[str, ...], texts: tuple[str, ...]) -> None:
    """Fields kept for information, where present: `records` null or mappings, `texts` strings."""
    for key in records:
        if doc.get(key) is not None and not isinstance(doc[key], dict):
            raise fields.fail(f"{where}: {key}", "a mapping", doc[key])
    for key in texts:
        if key in doc:
            fields.text(doc[key], f"{where}: {key}")


def read_results(path: Path, profile: DeviceProfile, space: Space) -> tuple[dict[str, Any], dict[str, Any]]:
    """A runner's results.json and the kit.json beside it, both checked, the results complete and
    of that kit. Returns (kit, results)."""
    path = Path(path)
    if path.is_dir():
        path = path / kit_runner.RESULTS_FILE
    kit = read_kit(path.parent, profile, space)
    try:
        doc = read_json(path, "kit results")
    except OfaError as e:
        raise OfaError(f"{e} (an unfinished write? run the kit's runner again to complete it)") from None
    where = str(path)
    if not isinstance(doc, dict) or doc.get("format") != kit_runner.RESULTS_FORMAT:
        raise OfaError(f"{where}: not a kit's results (expected format '{kit_runner.RESULTS_FORMAT}')")
    fields.mapping(doc, where, RESULT_KEYS, required=("kit_id", "device", "space", "space_fingerprint", "batch_size",
                                                      "host", "runtime", "complete", "results"))
    if doc.get("kit_id") != kit["kit_id"]:
        raise OfaError(f"{where}: results of another kit (kit {shown_id(doc.get('kit_id'))}, this one {kit['kit_id']})")
    for key in ("device", "space", "space_fingerprint", "batch_size"):
        if doc.get(key) != kit[key] or type(doc.get(key)) is not type(kit[key]):  # true is not batch 1
            raise OfaError(f"{where}: its {key} {doc.get(key)!r} is not its kit's ({kit[key]!r})")
    if doc.get("complete") is not True:
        raise OfaError(f"{where}: the run is not complete ({len(doc.get('results') or {})} of {len(kit['models'])} "
                       f"models); run the kit's runner again to finish it")
    results = doc.get("results")
    if not isinstance(results, dict):
        raise fields.fail(f"{where}: results", "a mapping of model ids to timings", results)
    ids = {m["id"] for m in kit["models"]}
    if set(results) != ids:
        odd = sorted(set(results) ^ ids)
        raise OfaError(f"{where}: its results do not cover its kit's models exactly (first odd id: {odd[0][:40]})")
    for key, stats in results.items():
        at = f"{where}: results.{key}"
        fields.mapping(stats, at, STAT_KEYS, required=STAT_KEYS)
        for name in STAT_KEYS[:-1]:
            fields.real(stats[name], f"{at}.{name}", 0, LONGEST_MS, low_open=True,
                        what=f"milliseconds above 0, at most {LONGEST_MS:g}")
        fields.whole(stats["runs"], f"{at}.runs", "runs", 1)
    for key in ("host", "runtime"):
        if not isinstance(doc.get(key), dict):
            raise fields.fail(f"{where}: {key}", "a mapping", doc.get(key))
    _informational(doc, where, records=("settings",), texts=("runner_version",))
    if "kit_format" in doc:
        fields.text(doc["kit_format"], f"{where}: kit_format", (kit_runner.KIT_FORMAT,))
    for key in ("started", "updated"):
        if doc.get(key) is not None:
            fields.text(doc[key], f"{where}: {key}")
    return kit, doc


def shown_id(value: Any) -> str:
    return repr(value)[:40]
