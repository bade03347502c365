"""Every reader of a file refuses malformed and extreme versions of a valid file the same way:
exit code 2, one stderr line that starts with `ofa: error:`, no traceback, and no file created,
changed or removed. Property-based: Hypothesis draws the mutation.

For each reader a valid file is made here (from the shipped space, device profile, recipe and
pipeline, a table written by `write_tiny_table`, a predictor and accuracy data fitted on a copy of
the session's trained run, that run's run.json, the manifest of a run stopped between two
checkpoints, subnet files, a measuring kit's kit.json and results.json from a kit written and run
on this machine's CPU, and a text file of subnets with their measured times), and the cheapest
real command that reads it is run in-process on
each mutated version of it. The valid file itself must be read (exit 0): otherwise every mutation
would be refused for nothing. A mutation is one of:

- a value at a path of the parsed file (every inner node and leaf; long lists by their first two
  and last items) replaced by NaN, inf, -inf, a negative number, 0, 1e308, a 5,000-digit integer,
  a fraction where a whole number is read (the value plus 0.9, so that `int()` gives it back), a
  string (also the value written in ASCII or Arabic-Indic digits: "24", "٢٤", or "35" for the list
  [3, 5]), a bool, null, a list, a mapping, a list nested 5,000 deep, or (YAML) a tree of aliases;
- a required field deleted, an unknown field added, the whole document replaced by a scalar or a
  list;
- raw bytes: the text cut where no valid file can end (inside a `[...]` of YAML, before the last
  `}` of JSON, inside the header of a JSON-lines file, inside the first subnet of a text file),
  or a byte that no valid file holds (NUL, a control character, bytes that are not UTF-8) inserted
  (in a text file: not in its comment);
- for a compact subnet, a number in it rewritten, a stage dropped or added, a block too many;
- for a file of measured subnets, the time of its first line rewritten (NaN, inf, 0, a negative
  number, one that rounds to 0, a huge one, a word, Arabic-Indic digits, another unit);
- for a predictor, one of its arrays given NaN, inf, 1e305, a negative or out-of-range index, a
  complex type, a missing item or a cut file.

Only mutations that surely make the file invalid are drawn. What may stay valid is named per
reader (`opt`: the field may be left out; `null`: null means "not given"; `zero` / `neg`: 0 or a
negative number is a legal value; `frac`: a fraction is legal, as it is for every fractional value
unless `unit` bounds it to [0, 1] or [-1, 1]; `str`: any string is legal (a description, a name);
`free`: a record kept for information (a table's provenance, what a predictor was trained on), in
which only what no file may hold is refused: NaN, inf, huge numbers, deep nesting, aliases; `open`:
a mapping that may hold fields of its own, such as a row of accuracy data with more measurements;
`any`: a field that only another program reads, such as a kit model's file and input, which the
kit's runner checks on the device: as in a `free` record, any value that a file may hold passes).
A bool replaced by the other bool is legal too, except in a checkpoint manifest, which is strict:
`--resume` may continue only from what the manifest proves, so every edit of it is refused.
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import tiny_recipe, write_synthetic_data, write_tiny_table
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

ARABIC = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")
BIGINT, DEEP, BOMB = "__BIGINT_SENTINEL__", "__DEEP_SENTINEL__", "__BOMB_SENTINEL__"
DEEP_TEXT = "[" * 5000 + "]" * 5000
BAD_BYTES = (b"\x00", b"\x01", b"\x02", b"\x80", b"\xc0", b"\xfe", b"\xff")  # never in a valid file
ALWAYS_INVALID = {"nan", "inf", "-inf", "bigint", "deep", "alias"}  # in any file, any field


def alias_bomb(levels: int = 7) -> str:
    """A flow list whose last item expands to 9**levels leaves through aliases (9**7: 4.8 million;
    a larger one could exhaust the machine's memory in a reader that expands it)."""
    parts = ["&l0 [" + ", ".join(["lol"] * 9) + "]"]
    parts += [f"&l{i} [" + ", ".join([f"*l{i - 1}"] * 9) + "]" for i in range(1, levels)]
    return "[" + ", ".join(parts) + "]"


# -- readers -------------------------------------------------------------------------------------------

O = frozenset({"opt"})              # may be left out
ON = frozenset({"opt", "null"})     # may be left out or null


def _f(*names: str) -> frozenset:
    return frozenset(names)


@dataclass(repr=False)
class Reader:
    """One kind of file: where the mutated file goes in the example's folder, the commands that
    read it ({FILE} is its path), and which mutations may leave it valid (see the docstring)."""

    name: str
    fmt: str                      # yaml, json, jsonl, txt
    file: str
    commands: dict[str, list[str]]
    spec: dict[tuple, frozenset] = field(default_factory=dict)
    strict: bool = False
    needs: tuple[str, ...] = ()   # parts of the template copied into the example's folder
    limit: int = 20               # seconds before a command counts as hung
    weight_commands: tuple[str, ...] = ()  # the commands that read a predictor's arrays
    top_ok: tuple[str, ...] = ()  # what the whole document may become and stay valid

    def __repr__(self) -> str:
        return f"Reader({self.name})"

    def _repr_pretty_(self, printer, cycle) -> None:  # Hypothesis prints dataclasses field by field
        printer.text(repr(self))

    def flags(self, path: tuple) -> frozenset:
        out: set = set()
        for pattern, flags in self.spec.items():
            if _matches(pattern, path):
                out |= flags
        return frozenset(out)

    def inside_free(self, path: tuple) -> bool:
        """Whether `path` lies strictly inside a `free` record or an `any` field."""
        return any(("free" in flags or "any" in flags) and len(pattern) < len(path)
                   and _matches(pattern, path[: len(pattern)]) for pattern, flags in self.spec.items())

    def may_stay_valid(self, path: tuple, kind: str, value: Any) -> bool:
        if not path or kind in ALWAYS_INVALID:
            return False
        f = self.flags(path)
        if self.inside_free(path) or "any" in f:
            return True
        if kind == "huge" or self.strict:
            return False
        if kind == "bool":
            return isinstance(value, bool)
        if kind == "null":
            return "null" in f
        if kind == "map" and "free" in f:  # a record kept for information is still a mapping
            return True
        if kind in ("zero", "neg"):
            return kind in f
        if kind == "frac":
            return "frac" in f or (isinstance(value, float) and "unit" not in f)
        if kind in ("str", "digits", "udigits"):
            return "str" in f
        return False


def _matches(pattern: tuple, path: tuple) -> bool:
    return len(pattern) == len(path) and all(
        p == "*" or p == k or (p == "#" and isinstance(k, int) and k >= 1) for p, k in zip(pattern, path))


READERS: dict[str, Reader] = {r.name: r for r in [
    Reader("space", "yaml", "space.yaml", {
        "show": ["spaces", "show", "{FILE}"],
        "sample": ["spaces", "sample", "{FILE}", "-n", "2", "--seed", "0"],
        "cost": ["spaces", "cost", "{FILE}", "max"]}, {
        ("name",): _f("str"), ("description",): _f("str", "opt", "null"),
        ("stem_width",): O, ("stem_stride",): O, ("stem_act",): O, ("first_block_width",): O,
        ("first_block_act",): O, ("head_width",): O, ("feature_width",): _f("opt", "zero"), ("head_act",): O,
        ("dropout",): _f("opt", "unit"),
        ("stages", "*", "stride"): O, ("stages", "*", "act"): O, ("stages", "*", "se"): O,
        ("stages", "*", "expands"): _f("frac"), ("stages", "*", "expands", "*"): _f("frac")}),
    Reader("profile", "yaml", "board.yaml", {"show": ["devices", "show", "{FILE}"]}, {
        ("name",): _f("str"), ("aliases",): ON, ("aliases", "*"): _f("str"), ("description",): _f("str", "opt", "null"),
        ("batch_size",): O, ("threads",): ON, ("warmup",): _f("opt", "zero"), ("iterations",): O, ("rounds",): O,
        ("statistic",): O, ("machine",): _f("str", "opt", "null")}),
    Reader("table", "json", "latency/cpu/tiny.json", {
        "show": ["latency", "show", "-d", "cpu", "-s", "tiny", "--table", "{FILE}"],
        "predict": ["latency", "predict", "-d", "cpu", "-s", "tiny", "--table", "{FILE}", "max", "min"]}, {
        ("provenance",): _f("opt", "null", "free"), ("statistic",): O,
        ("calibration",): ON, ("calibration", "offset_ms"): _f("zero", "neg"), ("calibration", "points"): O,
        ("entries", "*"): O, ("entries", "*", "*"): _f("zero")}),
    Reader("predictor", "json", "run/predictor/predictor.json", {
        "show": ["predictor", "show", "--predictor", "{FILE}"],
        "search": ["search", "--supernet", "run", "-d", "cpu", "--predictor", "{FILE}", "--population", "4",
                   "--generations", "1", "--out", "search-out", "-q"]}, {
        ("space",): _f("str"), ("supernet", "space"): _f("str"),  # `show` knows no space to compare with
        ("supernet",): ON, ("encoding",): O, ("weights",): O, ("num_features",): O, ("seed",): _f("opt", "zero"),
        ("report",): O, ("report", "*"): O,  # a report may lack a metric (an older one, another model)
        ("report", "rmse"): _f("zero"), ("report", "mae"): _f("zero"), ("report", "mean_spread"): _f("zero"),
        ("report", "within_1_spread"): _f("zero", "unit"), ("report", "kendall_tau"): _f("zero", "neg", "unit", "null"),
        ("report", "spearman"): _f("zero", "neg", "unit", "null"), ("report", "tau_in_bins"): _f("zero", "neg", "unit", "null"),
        ("report", "top10_precision"): _f("zero", "unit", "null"), ("report", "bins_by"): _f("str"),
        ("trained_on",): _f("opt", "null", "free")},
        needs=("run", "latency"), weight_commands=("search",)),
    Reader("accuracy", "jsonl", "run/predictor/accuracy.jsonl", {
        "train": ["predictor", "train", "--supernet", "run", "--accuracy-data", "{FILE}", "--out", "fit/p.json"]}, {
        (0, "settings"): _f("opt", "null", "free"), ("#",): _f("open"),  # a row may carry more measurements
        ("#", "index"): _f("opt", "zero"), ("#", "source"): _f("opt", "str"), ("#", "top1"): _f("zero")},
        needs=("run",)),
    Reader("recipe", "yaml", "recipe.yaml", {"train": ["train-supernet", "--recipe", "{FILE}", "--out", "new", "-q"]}, {
        ("description",): _f("str", "opt", "null"), ("resolution",): O, ("batch_size",): O, ("lr_batch_size",): O,
        ("optimizer",): O, ("optimizer", "name"): O, ("optimizer", "momentum"): _f("opt", "zero", "unit"),
        ("optimizer", "nesterov"): O, ("optimizer", "weight_decay"): _f("opt", "zero"),
        ("label_smoothing",): _f("opt", "zero", "unit"), ("distill",): O, ("teacher",): ON,
        ("student_weight",): _f("opt", "null", "zero"), ("zero_init_residual",): O, ("device",): O,
        ("workers",): _f("opt", "zero"), ("checkpoint_every",): _f("opt", "zero"), ("validate_every",): _f("opt", "zero"),
        ("bn_calib_images",): O, ("seed",): _f("opt", "zero"),
        ("phases", "*", "name"): _f("opt", "str"), ("phases", "*", "warmup_epochs"): _f("opt", "zero"),
        ("phases", "*", "subnets_per_step"): _f("opt", "zero"), ("phases", "*", "with_smallest"): O,
        ("phases", "*", "reorder_channels"): O, ("phases", "*", "kernels"): ON, ("phases", "*", "depths"): ON,
        ("phases", "*", "expands"): ON, ("phases", "*", "resolutions"): ON}, limit=60),
    Reader("pipeline", "yaml", "p.pipeline.yaml", {"run": ["run", "{FILE}", "--out", "pipe", "-q"]}, {
        ("description",): _f("str", "opt", "null"), ("out",): _f("str", "opt", "null"),
        ("stages", "*", "*"): _f("null"),  # a stage without settings
        ("stages", "*", "train", "recipe"): O, ("stages", "*", "latency", "device"): O,
        ("stages", "*", "latency", "calibrate"): _f("opt", "zero"), ("stages", "*", "collect", "n"): O,
        ("stages", "*", "predictor", "model"): O, ("stages", "*", "specialize", "device"): O,
        ("stages", "*", "specialize", "latency"): O, ("stages", "*", "specialize", "population"): O,
        ("stages", "*", "specialize", "generations"): O}, needs=("pipe",), limit=45),
    Reader("subnet-txt", "txt", "subnet.txt", {"cost": ["spaces", "cost", "tiny", "{FILE}"]}),
    # a subnet's mapping may carry more (the rows `spaces cost --json` prints: its string, MACs, ...)
    Reader("subnet-json", "json", "subnet.json", {"cost": ["spaces", "cost", "tiny", "{FILE}"]},
           {("depths",): O, (): _f("open")}, top_ok=("list",)),  # a list of subnets: here, of one
    Reader("subnet-jsonl", "jsonl", "subnets.jsonl",
           {"evaluate": ["evaluate", "--supernet", "run", "--subnet", "{FILE}"]}, {(0,): _f("open")}, needs=("run",)),
    Reader("run-json", "json", "run/run.json", {"evaluate": ["evaluate", "--supernet", "run", "--subnet", "min"]}, {
        ("classes",): ON, ("classes", "*"): _f("str"),
        ("data",): _f("opt", "null", "str")}, needs=("run",)),  # evaluate reads the data of the run's recipe
    Reader("manifest", "json", "stopped/checkpoints/last.json",
           {"resume": ["train-supernet", "--resume", "--out", "stopped", "-q"]}, strict=True, needs=("stopped",),
           limit=60),
    # A kit's results and its description are read together (results.json lies beside kit.json), by
    # both commands: import takes the parts and calibration subnets, fit only the subnets.
    Reader("kit-results", "json", "kit/results.json", {
        "import": ["latency", "import", "--format", "kit", "-d", "kitdev.yaml", "-s", "tiny", "{FILE}"],
        "fit": ["latency", "fit", "-d", "kitdev.yaml", "-s", "tiny", "--measured", "{FILE}"]}, {
        ("runner_version",): _f("opt", "str"), ("kit_format",): O, ("settings",): _f("opt", "null", "free"),
        ("host",): _f("free"), ("runtime",): _f("free"),  # the machine and runtime, kept as provenance
        ("started",): _f("opt", "str", "null"), ("updated",): _f("opt", "str", "null")},
        needs=("kitdev.yaml", "kit/kit.json")),
    Reader("kit-json", "json", "kit/kit.json", {
        "import": ["latency", "import", "--format", "kit", "-d", "kitdev.yaml", "-s", "tiny", "kit/results.json"],
        "fit": ["latency", "fit", "-d", "kitdev.yaml", "-s", "tiny", "--measured", "kit/results.json"]}, {
        ("runtime",): O, ("created",): _f("opt", "str"), ("ofa_version",): _f("opt", "str"),
        # how the runner timed: import compares the profile with the device's, fit does not read it;
        # both take settings.statistic (checked) to choose the times
        ("settings",): _f("opt", "null", "free"), ("profile",): _f("opt", "null", "free"),
        # what only the runner reads: a model's file, hash, input and weights
        **{("models", "*", key): _f("opt", "any") for key in ("file", "sha256", "input_shape", "input_name", "dtype",
                                                               "weights")}},
        needs=("kitdev.yaml", "kit/results.json")),
    Reader("measured-txt", "txt", "measured.txt",
           {"fit": ["latency", "fit", "-d", "kitdev.yaml", "-s", "tiny", "--measured", "{FILE}"]},
           needs=("kitdev.yaml",)),
]}


# -- documents, paths and values ---------------------------------------------------------------------


def children(node: Any) -> list[tuple[Any, Any]]:
    if isinstance(node, dict):
        keys = list(node)
        return [(k, node[k]) for k in (keys if len(keys) <= 40 else keys[:3] + keys[-1:])]
    if isinstance(node, list):
        return [(i, node[i]) for i in (range(len(node)) if len(node) <= 4 else (0, 1, len(node) - 1))]
    return []


def walk(node: Any, path: tuple = ()):
    yield path, node
    for key, value in children(node):
        yield from walk(value, path + (key,))


def show_path(path: tuple) -> str:
    text = ""
    for k in path:
        text += f"[{k}]" if isinstance(k, int) else (f".{k}" if text else str(k))
    return text or "<top level>"


def _number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def kinds_for(value: Any, fmt: str) -> tuple[str, ...]:
    if isinstance(value, bool):
        kinds = ("bool", "zero", "str", "null", "list", "map")
    elif _number(value):
        kinds = ("nan", "inf", "-inf", "neg", "zero", "huge", "bigint", "frac", "str", "digits", "udigits", "bool",
                 "null", "list", "map", "deep")
    elif isinstance(value, str):
        kinds = ("zero", "frac", "bigint", "str", "digits", "udigits", "bool", "null", "list", "map", "deep")
    elif value is None:
        kinds = ("zero", "neg", "frac", "huge", "str", "bool", "list", "map")
    elif isinstance(value, list):
        kinds = ("nan", "zero", "frac", "str", "digits", "udigits", "null", "list", "map", "deep")
    else:
        kinds = ("zero", "str", "null", "list", "map", "deep")
    return kinds + (("alias",) if fmt == "yaml" else ())


def _digits(value: Any) -> str:
    if _number(value):
        return repr(value)
    if isinstance(value, list) and value and all(_number(v) for v in value):
        return "".join(str(v) for v in value)  # [3, 5] -> "35"
    return "35"


def _udigits(value: Any) -> str:
    if isinstance(value, str) and any(c.isdigit() for c in value):
        return value.translate(ARABIC)  # "r24:k3e2" -> "r٢٤:k٣e٢"
    return (_digits(value) if _number(value) or isinstance(value, list) else "32").translate(ARABIC)


def is_noop(kind: str, value: Any) -> bool:
    return (kind == "null" and value is None) or (kind == "zero" and _number(value) and value == 0) or \
        (kind == "neg" and _number(value) and value < 0)


def new_value(kind: str, value: Any) -> Any:
    return {
        "nan": lambda: float("nan"), "inf": lambda: float("inf"), "-inf": lambda: float("-inf"),
        "neg": lambda: -value if _number(value) and value > 0 else -1,
        "zero": lambda: 0.0 if isinstance(value, float) else 0,
        "huge": lambda: 1e308, "bigint": lambda: BIGINT,
        "frac": lambda: value + 0.9 if isinstance(value, int) and not isinstance(value, bool) else 3.9,
        "str": lambda: "x", "digits": lambda: _digits(value), "udigits": lambda: _udigits(value),
        "bool": lambda: (not value) if isinstance(value, bool) else True,
        "null": lambda: None, "list": lambda: [value], "map": lambda: {"unknown_field": value},
        "deep": lambda: DEEP, "alias": lambda: BOMB,
    }[kind]()


def set_at(doc: Any, path: tuple, value: Any) -> Any:
    if not path:
        return value
    doc = copy.deepcopy(doc)
    node = doc
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return doc


def delete_at(doc: Any, path: tuple) -> Any:
    doc = copy.deepcopy(doc)
    node = doc
    for key in path[:-1]:
        node = node[key]
    del node[path[-1]]
    return doc


def dump(fmt: str, doc: Any, indent: int | None = 2) -> bytes:
    if fmt == "yaml":
        text = yaml.safe_dump(doc, sort_keys=False, default_flow_style=None, allow_unicode=True, width=10**6)
    elif fmt == "json":
        text = json.dumps(doc, indent=indent) + "\n"
    else:
        text = "".join(json.dumps(record) + "\n" for record in doc)
    for quote in ('"', "'", ""):
        text = text.replace(f"{quote}{BIGINT}{quote}", "9" * 5000).replace(f"{quote}{DEEP}{quote}", DEEP_TEXT)
        text = text.replace(f"{quote}{BOMB}{quote}", alias_bomb())
    return text.encode("utf-8")


# -- mutations -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Mutation:
    category: str       # value, delete, add_key, top, cut, byte, token, subnet, time, array
    command: str
    path: tuple = ()
    kind: str = ""
    offset: int = 0
    extra: Any = None

    def __repr__(self) -> str:
        where = {
            "value": lambda: f"{show_path(self.path)} := {self.kind}",
            "top": lambda: f"whole document := {self.kind}",
            "delete": lambda: f"delete {show_path(self.path)}",
            "add_key": lambda: f"add unknown_field to {show_path(self.path)}",
            "cut": lambda: f"cut at byte {self.offset}",
            "byte": lambda: f"insert {self.extra!r} at byte {self.offset}",
            "token": lambda: f"subnet number {self.offset} := {self.extra!r}",
            "subnet": lambda: f"subnet {self.extra}",
            "time": lambda: f"time of the first subnet := {self.extra[:20]!r}",
            "array": lambda: f"predictor array {self.path[0]} := {self.kind}",
        }[self.category]()
        return f"<{where} | {self.command}>"

    def _repr_pretty_(self, printer, cycle) -> None:
        printer.text(repr(self))


SUBNET_TEXT = "# a subnet of the tiny space\nr24:k3e2-k5e3,k3e3,k5e2\n"
SUBNET_LINE = "r24:k3e2-k5e3,k3e3,k5e2"
TOKEN_VALUES = ("udigits", "nan", "inf", "-1", "0", "1e308", "9" * 5000, "frac", "", "x", "True", "+3", " 3")
# a compact subnet "rR:STAGE,STAGE,...", a stage's blocks joined by '-', edited (tiny: 3 stages of 1 or 2 blocks)
SUBNET_EDITS = {
    "without its last stage": lambda r, stages, first: f"{r}:{','.join(stages[:-1])}",
    "with a fourth stage": lambda r, stages, first: f"{r}:{','.join(stages + [first[0]])}",
    "with three blocks in stage 1": lambda r, stages, first: f"{r}:{'-'.join(first + [first[0]] * (3 - len(first)))},"
                                                            f"{','.join(stages[1:])}",
    "with an empty block": lambda r, stages, first: f"{r}:{'-'.join(first[:1] + [''] + first[1:])},"
                                                   f"{','.join(stages[1:])}",
    "with ';' between stages": lambda r, stages, first: f"{r}:{';'.join(stages)}",
    "without a resolution": lambda r, stages, first: ",".join(stages),
    "with its stages repeated": lambda r, stages, first: f"{r}:{','.join(stages + stages)}",
}
# a measured time (of a line `SUBNET MS`) that no valid file holds: not a plain decimal number of
# milliseconds above 0 and at most 1e6 ("1e-400" is 0 once read; Python's float() takes "٠.٠٥")
TIME_VALUES = ("nan", "inf", "-inf", "-0.05", "0", "-0", "0.0", "1e-400", "1e308", "9" * 5000, "", "x", "True",
               "٠.٠٥", "0.05.9", "0x1", "5 s")


def edited_subnet(subnet: str, edit: str) -> str:
    r, body = subnet.split(":", 1)
    stages = body.split(",")
    return SUBNET_EDITS[edit](r, stages, stages[0].split("-"))


def subnet_tokens(text: str, subnet: str) -> list[tuple[int, int]]:
    """(start, end) in `text` of every number of the compact subnet (its first occurrence)."""
    import re

    start = text.index(subnet)
    return [(start + m.start(), start + m.end()) for m in re.finditer(r"\d+", subnet)]


def time_span(text: str, subnet: str) -> list[tuple[int, int]]:
    """[(start, end)] in `text` of the time measured for the subnet (its first line), or []."""
    import re

    start = text.index(subnet) + len(subnet)
    m = re.fullmatch(r"[ \t,]+(\S+)", text[start: text.index("\n", start)])
    return [(start + m.start(1), start + m.end(1))] if m else []


def cut_offsets(reader: Reader, text: str, subnet: str = "") -> list[int]:
    """Offsets at which the text, cut, is surely no valid file (see the docstring)."""
    if reader.fmt == "json":
        return list(range(0, text.rindex(text.strip()[-1])))
    if reader.fmt == "jsonl":
        return list(range(0, text.index("\n")))
    if reader.fmt == "txt":  # in the comment or the first subnet: no subnet or time is whole
        return list(range(0, text.index(subnet) + len(subnet)))
    offsets, stack = {0}, []
    for i, c in enumerate(text):  # inside a flow list: "key: [16, 2" cannot be completed
        if c == "[":
            before = text[:i].rstrip()
            stack.append(i if before.endswith((":", "-", "[", ",")) else None)
        elif c == "]" and stack:
            opened = stack.pop()
            if opened is not None:
                offsets.update(range(opened + 1, i + 1))
    return sorted(offsets)


def byte_offsets(reader: Reader, text: str, subnet: str = "") -> list[int]:
    if reader.fmt == "jsonl":
        return list(range(0, text.rstrip("\n").rindex("\n") + 1))  # not in the last line (cut by a kill)
    if reader.fmt == "txt":
        return list(range(text.index(subnet), len(text) + 1))  # a byte in the comment is a comment
    return list(range(0, len(text) + 1))


def array_mutations(arrays: dict) -> list[tuple[str, str]]:
    out = []
    for name, a in arrays.items():
        if a.dtype.kind == "f":
            out += [(name, k) for k in ("nan", "inf", "-inf", "huge", "complex")]
        else:
            out += [(name, k) for k in ("negative index", "index 10**9")]
        out += [(name, "missing"), (name, "one item short")]
    return out + [("<file>", "cut in half")]


@dataclass(repr=False)
class Candidates:
    value: list
    top: list
    delete: list
    add_key: list
    cut: list
    byte: list
    array: list
    token: list = field(default_factory=list)  # a text file's: the numbers of its first subnet
    time: list = field(default_factory=list)   # and the time measured for it

    def __repr__(self) -> str:
        return "Candidates(" + ", ".join(f"{k}: {len(v)}" for k, v in vars(self).items()) + ")"

    _repr_pretty_ = Reader._repr_pretty_


def candidates(reader: Reader, base: "Base") -> Candidates:
    doc, text, subnet = base.doc, base.text.decode("utf-8"), base.subnet
    value, delete, add_key = [], [], []
    if reader.fmt in ("json", "yaml", "jsonl"):
        for path, v in walk(doc):
            if not path:
                continue
            for kind in kinds_for(v, reader.fmt):
                if not is_noop(kind, v) and not reader.may_stay_valid(path, kind, v):
                    value.append((path, kind))
            if isinstance(v, dict):
                if reader.strict or not (reader.inside_free(path + ("k",)) or "open" in reader.flags(path)):
                    add_key.append(path)
                for key, _ in children(v):
                    p = path + (key,)
                    if reader.strict or not (reader.inside_free(p) or "opt" in reader.flags(p)):
                        delete.append(p)
        if isinstance(doc, dict) and (reader.strict or "open" not in reader.flags(())):
            add_key.append(())
            delete += [(k,) for k in doc if reader.strict or "opt" not in reader.flags((k,))]
    top = [k for k in ("zero", "str", "null", "list", "deep", "frac")
           if reader.fmt in ("json", "yaml") and k not in reader.top_ok]
    return Candidates(value, top, sorted(set(delete), key=str), add_key, cut_offsets(reader, text, subnet),
                      byte_offsets(reader, text, subnet), array_mutations(base.arrays) if base.arrays else [],
                      subnet_tokens(text, subnet) if subnet else [], time_span(text, subnet) if subnet else [])


@st.composite
def mutations(draw, reader: Reader, c: Candidates):
    commands = sorted(reader.commands)
    categories = []
    for name, weight in (("value", 8), ("top", 1), ("delete", 2), ("add_key", 1), ("cut", 2), ("byte", 2),
                         ("array", 3)):
        if getattr(c, name):
            categories += [name] * weight
    if reader.fmt == "txt":
        categories += ["token"] * 6 + ["subnet"] * 2 + ["time"] * (3 if c.time else 0)
    category = draw(st.sampled_from(categories))
    usable = list(reader.weight_commands) if category == "array" else commands
    command = draw(st.sampled_from(usable))
    if category == "value":
        path, kind = draw(st.sampled_from(c.value))
        return Mutation("value", command, path, kind)
    if category == "top":
        return Mutation("top", command, (), draw(st.sampled_from(c.top)))
    if category == "delete":
        return Mutation("delete", command, draw(st.sampled_from(c.delete)))
    if category == "add_key":
        return Mutation("add_key", command, draw(st.sampled_from(c.add_key)))
    if category == "cut":
        return Mutation("cut", command, offset=draw(st.sampled_from(c.cut)))
    if category == "byte":
        return Mutation("byte", command, offset=draw(st.sampled_from(c.byte)), extra=draw(st.sampled_from(BAD_BYTES)))
    if category == "token":
        return Mutation("token", command, offset=draw(st.integers(0, len(c.token) - 1)),
                        extra=draw(st.sampled_from(TOKEN_VALUES)))
    if category == "subnet":
        return Mutation("subnet", command, extra=draw(st.sampled_from(sorted(SUBNET_EDITS))))
    if category == "time":
        return Mutation("time", command, extra=draw(st.sampled_from(TIME_VALUES)))
    name, kind = draw(st.sampled_from(c.array))
    return Mutation("array", command, (name,), kind)


def render(reader: Reader, base: "Base", m: Mutation) -> dict[str, bytes]:
    """The files of the mutated example: {path in the example's folder: content}."""
    text = base.text.decode("utf-8")  # offsets count characters
    if m.category == "array":
        return {reader.file: base.text,
                "run/predictor/predictor.safetensors": mutate_arrays(base.arrays, base.weights, m)}
    if m.category == "cut":
        return {reader.file: text[: m.offset].encode("utf-8")}
    if m.category == "byte":
        return {reader.file: text[: m.offset].encode("utf-8") + m.extra + text[m.offset:].encode("utf-8")}
    if m.category in ("token", "time"):
        start, end = (base.candidates.token[m.offset] if m.category == "token" else base.candidates.time[0])
        old = text[start:end]
        new = {"udigits": old.translate(ARABIC), "frac": old + ".9"}.get(m.extra, m.extra) \
            if m.category == "token" else m.extra
        return {reader.file: (text[:start] + new + text[end:]).encode("utf-8")}
    if m.category == "subnet":
        return {reader.file: text.replace(base.subnet, edited_subnet(base.subnet, m.extra), 1).encode("utf-8")}
    doc = base.doc
    if m.category == "value":
        old = doc
        for key in m.path:
            old = old[key]
        doc = set_at(doc, m.path, new_value(m.kind, old))
    elif m.category == "top":
        doc = new_value(m.kind, doc)
    elif m.category == "delete":
        doc = delete_at(doc, m.path)
    elif m.category == "add_key":
        doc = set_at(doc, m.path, {**_at(doc, m.path), "unknown_field": 1})
    content = dump(reader.fmt, doc, base.indent)
    if not base.text.endswith(b"\n") and content.endswith(b"\n"):  # written as ofa writes it
        content = content[:-1]
    return {reader.file: content}


def _at(doc: Any, path: tuple) -> Any:
    for key in path:
        doc = doc[key]
    return doc


def mutate_arrays(arrays: dict, weights: bytes, m: Mutation) -> bytes:
    import numpy as np
    from safetensors.numpy import save

    name, kind = m.path[0], m.kind
    if kind == "cut in half":
        return weights[: len(weights) // 2]
    arrays = {k: v.copy() for k, v in arrays.items()}
    a = arrays[name]
    if kind == "missing":
        del arrays[name]
    elif kind == "one item short":
        arrays[name] = a[..., :-1] if a.size > 1 else a.reshape(-1)[:0]
    elif kind == "complex":
        arrays[name] = a.astype(np.complex128)
    else:
        a.reshape(-1)[0] = {"nan": np.nan, "inf": np.inf, "-inf": -np.inf, "huge": 1e305, "negative index": -5,
                            "index 10**9": 10**9}[kind]
    try:
        return save(arrays)
    except Exception:  # safetensors refuses to store complex numbers: write the file by hand
        header, blobs, at = {}, [], 0
        for k, v in arrays.items():
            data = np.ascontiguousarray(v).tobytes()
            dtype = "C128" if v.dtype.kind == "c" else {"f": "F64", "i": "I64"}[v.dtype.kind]
            header[k] = {"dtype": dtype, "shape": list(v.shape), "data_offsets": [at, at + len(data)]}
            blobs.append(data)
            at += len(data)
        head = json.dumps(header).encode()
        head += b" " * (-len(head) % 8)
        return len(head).to_bytes(8, "little") + head + b"".join(blobs)


# -- the valid files and the folders the commands run in ----------------------------------------------


@dataclass(repr=False)
class Base:
    doc: Any
    text: bytes
    indent: int | None = 2
    arrays: dict | None = None
    weights: bytes = b""
    candidates: Candidates | None = None
    strategy: Any = None
    subnet: str = ""  # a text file's first subnet, which its own mutations rewrite


@dataclass(repr=False)
class Place:
    root: Path
    template: Path
    images: Path
    bases: dict[str, Base]
    counter: int = 0

    def __repr__(self) -> str:
        return f"Place({self.root})"

    _repr_pretty_ = Reader._repr_pretty_

    def fresh(self, reader: Reader) -> Path:
        """An example's own folder with the parts of the template its command needs."""
        self.counter += 1
        work = self.root / f"example-{self.counter}"
        work.mkdir()
        for part in reader.needs:
            source = self.template / part
            if source.is_dir():
                shutil.copytree(source, work / part, symlinks=True)
            else:
                (work / part).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(source, work / part)
        return work


@pytest.fixture(scope="session", autouse=True)
def _one_torch_thread_for_the_session_run():
    """One torch thread while the session's trained run is made here: the commands in this module do
    little arithmetic, and two OpenMP threads on two cores shared with other work spin against each
    other (a 4 s training took 64 s under a load of 3)."""
    import torch

    torch.set_num_threads(1)


@pytest.fixture(autouse=True)
def _one_torch_thread(_torch_threads):
    import torch

    torch.set_num_threads(1)


def _indent_of(text: str) -> int | None:
    doc = json.loads(text)
    for indent in (None, 1, 2, 4):
        if json.dumps(doc, indent=indent) + "\n" in (text, text + "\n"):
            return indent
    return 2


KIT_PROFILE = """name: kitdev
backend: onnxruntime-cpu
precision: fp32
batch_size: 1
threads: 1
warmup: 1
iterations: 2
rounds: 2
resolutions: [16, 32]
"""


@pytest.fixture(scope="module")
def place(tmp_path_factory, trained_run, image_folder):
    import numpy as np  # noqa: F401  (safetensors.numpy needs it)
    from safetensors.numpy import load_file

    import ofa.spaces
    from ofa.cli import main
    from ofa.predictor.train import train_predictor
    from ofa.resources import data_dir
    from ofa.train.recipes import load_recipe
    from ofa.train.trainer import train_supernet

    root = tmp_path_factory.mktemp("readers")
    template = root / "template"
    run = template / "run"
    run.mkdir(parents=True)
    for item in trained_run.iterdir():  # the finished run, without what other tests added to it
        if item.is_file():
            shutil.copy2(item, run / item.name)
    train_predictor(run, write_synthetic_data(run, n=120), "trees")
    write_tiny_table(template)

    class Stop(Exception):
        pass

    def stop(step):
        if step["global_step"] == 4:  # after the checkpoint of step 3, before the one of step 6: no last.prev
            raise Stop

    stopped = load_recipe(tiny_recipe(f"imagefolder:{image_folder}", validate_every=0, checkpoint_every=3, phases=[
        {"name": "full", "epochs": 1, "lr": 0.05, "resolutions": [16]}]))
    with pytest.raises(Stop):
        train_supernet(stopped, template / "stopped", on_step=stop)

    bases: dict[str, Base] = {}

    def yaml_base(name: str, doc: Any) -> None:
        bases[name] = Base(doc, dump("yaml", doc))

    def json_base(name: str, path: Path) -> None:
        text = path.read_text(encoding="utf-8")
        bases[name] = Base(json.loads(text), text.encode("utf-8"), _indent_of(text))

    space = yaml.safe_load((Path(ofa.spaces.__file__).parent / "builtin" / "tiny.yaml").read_text())
    yaml_base("space", {**space, "name": "hyp-space"})
    board = yaml.safe_load((data_dir("devices") / "cpu.yaml").read_text())
    yaml_base("profile", {**board, "name": "hyp-board", "aliases": ["hyp-alias"]})
    recipe = yaml.safe_load((data_dir("pipelines") / "quickstart.yaml").read_text())
    recipe.update(data=f"imagefolder:{image_folder}", resolution=16, batch_size=8, lr_batch_size=8, device="cpu",
                  workers=0, checkpoint_every=0, validate_every=0, bn_calib_images=16)
    recipe["phases"] = [{**recipe["phases"][0], "epochs": 1, "resolutions": [16]}, {**recipe["phases"][1], "epochs": 1}]
    yaml_base("recipe", recipe)
    pipeline = yaml.safe_load((data_dir("pipelines") / "quickstart.pipeline.yaml").read_text())
    for stage in pipeline["stages"]:
        if "specialize" in stage:
            stage["specialize"].update(population=8, generations=2)
    yaml_base("pipeline", pipeline)
    json_base("table", template / "latency" / "cpu" / "tiny.json")
    json_base("predictor", run / "predictor" / "predictor.json")
    json_base("run-json", run / "run.json")
    json_base("manifest", template / "stopped" / "checkpoints" / "last.json")
    lines = (run / "predictor" / "accuracy.jsonl").read_text(encoding="utf-8")
    bases["accuracy"] = Base([json.loads(line) for line in lines.splitlines()], lines.encode("utf-8"), None)
    subnet = {"resolution": 24, "depths": [2, 1, 1], "kernels": [[3, 5], [3], [5]], "expands": [[2, 3], [3], [2]]}
    bases["subnet-json"] = Base(subnet, dump("json", subnet))
    records = [{k: v for k, v in subnet.items() if k != "depths"}, "r16:k3e2,k3e2,k3e2"]
    bases["subnet-jsonl"] = Base(records, dump("jsonl", records), None)
    bases["subnet-txt"] = Base(None, SUBNET_TEXT.encode("utf-8"), subnet=SUBNET_LINE)
    weights = run / "predictor" / "predictor.safetensors"
    bases["predictor"].arrays, bases["predictor"].weights = load_file(str(weights)), weights.read_bytes()

    # A pipeline folder whose every stage is complete, so that the valid pipeline runs nothing:
    # the run with its data and predictor and this host's table are copied in, specialize runs once.
    pipe = template / "pipe"
    shutil.copytree(run, pipe / "supernet")
    write_tiny_table(pipe)
    (template / "p.pipeline.yaml").write_bytes(bases["pipeline"].text)
    cwd = os.getcwd()
    os.chdir(template)
    try:
        main(["run", "p.pipeline.yaml", "--out", "pipe", "-q"])
    except SystemExit as e:
        assert e.code in (0, None), f"the valid pipeline did not complete: exit {e.code}"
    finally:
        os.chdir(cwd)
    (template / "p.pipeline.yaml").unlink()

    # A measuring kit for a quick ONNX Runtime profile of this machine's CPU, written here and timed
    # by its own runner in a process of its own, as on a device; and its subnets' times as a text
    # file of lines `SUBNET MS` (each subnet twice), as another benchmark tool writes them.
    (template / "kitdev.yaml").write_text(KIT_PROFILE, encoding="utf-8")
    os.chdir(template)
    try:
        main(["latency", "kit", "-d", "kitdev.yaml", "-s", "tiny", "--out", "kit", "-k", "4", "-q"])
    except SystemExit as e:
        assert e.code in (0, None), f"the kit was not written: exit {e.code}"
    finally:
        os.chdir(cwd)
    ran = subprocess.run([sys.executable, str(template / "kit" / "run_kit.py"), "--quiet"], cwd=template,
                         capture_output=True, text=True, timeout=300)
    assert ran.returncode == 0, f"the kit's runner failed: {ran.stderr.strip()[-300:]}"
    json_base("kit-results", template / "kit" / "results.json")
    json_base("kit-json", template / "kit" / "kit.json")
    kit_subnets = [line.split("\t")[0] for line in (template / "kit" / "subnets.txt").read_text().splitlines()]
    measured = "# the kit's subnets timed by another tool: SUBNET MS\n" + "".join(
        f"{kit_subnets[i % len(kit_subnets)]} {0.05 * (i + 1):.2f}\n" for i in range(2 * len(kit_subnets)))
    bases["measured-txt"] = Base(None, measured.encode("utf-8"), subnet=kit_subnets[0])

    for name, base in bases.items():
        reader = READERS[name]
        base.candidates = candidates(reader, base)
        base.strategy = mutations(reader, base.candidates)
    return Place(root, template, image_folder, bases)


# -- running a command and judging what it did ---------------------------------------------------------


class Hung(BaseException):
    """Raised in the command by a timer: it ran past its reader's limit."""


def snapshot(folder: Path) -> dict[str, tuple]:
    out = {}
    for p in sorted(folder.rglob("*")):
        rel = str(p.relative_to(folder))
        if p.is_symlink():
            out[rel] = ("link", os.readlink(p))
        elif p.is_dir():
            out[rel] = ("folder",)
        else:
            stat = p.stat()
            out[rel] = (stat.st_size, stat.st_mtime_ns, hashlib.sha256(p.read_bytes()).hexdigest())
    return out


def changes(before: dict, after: dict) -> str:
    created = sorted(set(after) - set(before))
    removed = sorted(set(before) - set(after))
    changed = sorted(p for p in set(before) & set(after) if before[p] != after[p])
    parts = [f"{what}: {', '.join(paths[:4])}{' ...' if len(paths) > 4 else ''}"
             for what, paths in (("created", created), ("removed", removed), ("changed", changed)) if paths]
    return "; ".join(parts)


def invoke(run_cli, capsys, argv: list[str], limit: int) -> tuple[int | None, str, str | None]:
    """(exit code, stderr, what escaped the entry point or None)."""

    def ring(signum, frame):
        raise Hung

    previous = signal.signal(signal.SIGALRM, ring)
    signal.setitimer(signal.ITIMER_REAL, limit)
    try:
        code, _, err = run_cli(*argv)
        return code, err, None
    except Hung:
        return None, capsys.readouterr().err, f"still running after {limit} s"
    except KeyboardInterrupt:
        raise
    except BaseException as e:  # noqa: BLE001 (anything escaping the entry point is the finding)
        return None, capsys.readouterr().err, f"{type(e).__name__} escaped: {str(e)[:200]}"
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def attempt(name: str, place: Place, m: Mutation | None, run_cli, capsys, monkeypatch,
            command: str | None = None) -> list[str]:
    """Run the command on the mutated (or, with m None, the valid) file; the problems seen."""
    reader, base = READERS[name], place.bases[name]
    command = m.command if m is not None else command
    work = place.fresh(reader)
    files = {reader.file: base.text} if m is None else render(reader, base, m)
    for rel, content in files.items():
        (work / rel).parent.mkdir(parents=True, exist_ok=True)
        (work / rel).write_bytes(content)
    argv = [a.replace("{FILE}", reader.file) for a in reader.commands[command]]
    monkeypatch.chdir(work)
    before = snapshot(work)
    try:
        code, err, escaped = invoke(run_cli, capsys, argv, reader.limit)
        after = snapshot(work)
    finally:
        monkeypatch.chdir(place.root)
    problems = []
    if escaped:
        problems.append(escaped)
    lines = err.strip().splitlines()
    if m is None:
        if code != 0:
            problems.append(f"the valid file is refused: exit {code}: {err.strip()[-300:]}")
    else:
        if code is not None and code != 2:
            problems.append(f"exit {code}" + (" (accepted)" if code == 0 else ""))
        if code == 2 and (len(lines) != 1 or not lines[0].startswith("ofa: error:")):
            problems.append(f"stderr is not one 'ofa: error:' line: {err.strip()[-300:]!r}")
        changed = changes(before, after)
        if changed:
            problems.append(f"files changed ({changed})")
    if "Traceback" in err:
        problems.append("a traceback on stderr")
    shutil.rmtree(work, ignore_errors=True)
    return problems + [f"(ofa {' '.join(argv)})"] if problems else []


def refused(name: str, place: Place, run_cli, capsys, monkeypatch, data) -> None:
    m = data.draw(place.bases[name].strategy, label="mutation")
    problems = attempt(name, place, m, run_cli, capsys, monkeypatch)
    assert not problems, f"{name} file, {m!r}: " + "; ".join(problems)


def budget(n: int):
    return settings(max_examples=n, deadline=None, derandomize=True, database=None, print_blob=False,
                    phases=[Phase.explicit, Phase.generate],  # no shrinking: a mutation is already small
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                           HealthCheck.data_too_large, HealthCheck.filter_too_much])


# -- the tests -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name, command", [(r.name, c) for r in READERS.values() for c in sorted(r.commands)])
def test_the_valid_file_is_read(place, run_cli, capsys, monkeypatch, name, command):
    problems = attempt(name, place, None, run_cli, capsys, monkeypatch, command)
    assert not problems, problems


@budget(100)
@given(data=st.data())
def test_space_files(place, run_cli, capsys, monkeypatch, data):
    refused("space", place, run_cli, capsys, monkeypatch, data)


@budget(60)
@given(data=st.data())
def test_device_profiles(place, run_cli, capsys, monkeypatch, data):
    refused("profile", place, run_cli, capsys, monkeypatch, data)


@budget(80)
@given(data=st.data())
def test_latency_tables(place, run_cli, capsys, monkeypatch, data):
    refused("table", place, run_cli, capsys, monkeypatch, data)


@budget(60)
@given(data=st.data())
def test_predictors(place, run_cli, capsys, monkeypatch, data):
    refused("predictor", place, run_cli, capsys, monkeypatch, data)


@budget(40)
@given(data=st.data())
def test_accuracy_data(place, run_cli, capsys, monkeypatch, data):
    refused("accuracy", place, run_cli, capsys, monkeypatch, data)


@budget(50)
@given(data=st.data())
def test_recipes(place, run_cli, capsys, monkeypatch, data):
    refused("recipe", place, run_cli, capsys, monkeypatch, data)


@budget(40)
@given(data=st.data())
def test_pipelines(place, run_cli, capsys, monkeypatch, data):
    refused("pipeline", place, run_cli, capsys, monkeypatch, data)


@budget(40)
@given(data=st.data())
def test_subnet_text_files(place, run_cli, capsys, monkeypatch, data):
    refused("subnet-txt", place, run_cli, capsys, monkeypatch, data)


@budget(40)
@given(data=st.data())
def test_subnet_json_files(place, run_cli, capsys, monkeypatch, data):
    refused("subnet-json", place, run_cli, capsys, monkeypatch, data)


@budget(25)
@given(data=st.data())
def test_subnet_json_lines_files(place, run_cli, capsys, monkeypatch, data):
    refused("subnet-jsonl", place, run_cli, capsys, monkeypatch, data)


@budget(30)
@given(data=st.data())
def test_run_folders(place, run_cli, capsys, monkeypatch, data):
    refused("run-json", place, run_cli, capsys, monkeypatch, data)


@budget(40)
@given(data=st.data())
def test_checkpoint_manifests(place, run_cli, capsys, monkeypatch, data):
    refused("manifest", place, run_cli, capsys, monkeypatch, data)


@budget(60)
@given(data=st.data())
def test_kit_results(place, run_cli, capsys, monkeypatch, data):
    refused("kit-results", place, run_cli, capsys, monkeypatch, data)


@budget(60)
@given(data=st.data())
def test_kit_descriptions(place, run_cli, capsys, monkeypatch, data):
    refused("kit-json", place, run_cli, capsys, monkeypatch, data)


@budget(40)
@given(data=st.data())
def test_measured_files(place, run_cli, capsys, monkeypatch, data):
    refused("measured-txt", place, run_cli, capsys, monkeypatch, data)

