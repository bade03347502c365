"""Hostile-input sweep of the `ofa` command line (issue 24): several hundred cases across every
command, each run as a real `ofa` process in a folder of its own, each classified as exactly one of

    clean               refused with exit 2 and one `ofa: error:` line (or, where a case allows it,
                        accepted), nothing changed that ofa did not write
    traceback           'Traceback' on stderr, an exit code other than 0 and 2, or a refusal whose
                        stderr is not exactly one `ofa: error:` line
    accepted-but-wrong  exit 0 where the input had to be refused (or an accepted result that is
                        visibly wrong: a dropped budget, two writers that both refused)
    hang                still running at the timeout (killed)
    file damage         a file, folder, link, fifo or device node that existed before was changed,
                        replaced or removed, or a file was created outside what the case allows

    .venv/bin/python benchmarks/hostile_sweep.py --work /tmp/sweep [--only PATTERN] [--jobs 1] \
        [--json results.json] [--timeout 60] [--list]

Fixtures (a tiny trained supernet on a generated image folder, its accuracy data and predictors, a
latency table of `tiny`, a run stopped half-way by SIGTERM, a finished pipeline, exports, a
specialized folder, once-for-all-format assets) are built once under WORK/fixtures and reused;
a rerun only reruns the cases. Each case copies what it needs into WORK/cases/NAME/p/q/cwd (the
two extra levels catch paths that escape upwards), snapshots that case folder, the fixtures and
the repository's data folders, runs `python -m ofa ...` there with OMP_NUM_THREADS=1, a timeout
and an address-space limit, and compares. Exit status 1 when any case is not clean.

The harness itself imports nothing of ofa; fixtures come from the `ofa` command line, except the
once-for-all-format checkpoints and tables, which come from the test suite's own generators
(tests/test_supernet_import.py, tests/test_ofa_import.py), run in a separate process.
"""

from __future__ import annotations

import argparse
import dataclasses
import fnmatch
import hashlib
import json
import os
import random
import re
import resource
import shlex
import shutil
import signal
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, ClassVar

import yaml

REPO = Path(__file__).resolve().parents[1]
CLASSES = ("destroy", "paths", "numbers", "structures", "checkpoints", "output-before-work", "options")
OUTCOMES = ("clean", "traceback", "accepted-but-wrong", "hang", "file damage")
ESCAPE = "ofa-sweep-escaped"            # every path-escape mutation uses this name, so it is found
PWNED = "SWEEP-PWNED"                   # what an unpickled payload would create in the case folder
HASH_LIMIT = 4 << 20                    # files up to this size are hashed in snapshots
SETPRIV = ["setpriv", "--bounding-set=-dac_override,-dac_read_search"]
WATCH_REPO = ("latency", "devices", "pipelines")   # packaged data folders no case may change
CHEAP_SEARCH = ["--generations", "2", "--population", "4", "--no-calibrate", "-q"]
CHEAP_SPECIALIZE = ["--generations", "2", "--population", "4", "--no-calibrate", "--open-loop", "-q"]


def default_python() -> str:
    venv = REPO / ".venv" / "bin" / "python"
    return str(venv) if venv.exists() else sys.executable


# ----------------------------------------------------------------------------------------------
# small utilities


def slug(name: str) -> str:
    s = re.sub(r"[^A-Za-z0-9._=-]+", "_", name).strip("_")
    if len(s) > 90:
        s = s[:70] + "-" + hashlib.sha1(name.encode()).hexdigest()[:12]
    return s


def make_writable(root: Path) -> None:
    """Give back write permission under root (read-only cases leave 0555 folders)."""
    if not os.path.lexists(root) or os.path.islink(root):
        return
    for dirpath, dirnames, _ in os.walk(root):
        for d in dirnames:
            p = os.path.join(dirpath, d)
            if not os.path.islink(p):
                try:
                    os.chmod(p, 0o755)
                except OSError:
                    pass
    try:
        os.chmod(root, 0o755)
    except OSError:
        pass


def remove_tree(root: Path) -> None:
    if os.path.islink(root) or (os.path.lexists(root) and not os.path.isdir(root)):
        os.unlink(root)
        return
    if os.path.isdir(root):
        make_writable(root)
        shutil.rmtree(root)


def sha256_file(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def snapshot(tops: list[Path]) -> dict[str, tuple]:
    """path -> (type, ...) for every entry under each top, links not followed."""
    out: dict[str, tuple] = {}
    for top in tops:
        stack = [str(top)]
        while stack:
            p = stack.pop()
            try:
                st = os.lstat(p)
            except OSError:
                continue
            mode = st.st_mode
            perm = stat.S_IMODE(mode)
            if stat.S_ISLNK(mode):
                out[p] = ("link", os.readlink(p))
            elif stat.S_ISDIR(mode):
                out[p] = ("folder", perm)
                try:
                    stack.extend(os.path.join(p, n) for n in os.listdir(p))
                except OSError:
                    pass
            elif stat.S_ISREG(mode):
                digest = None
                if st.st_size <= HASH_LIMIT:
                    try:
                        digest = sha256_file(p)
                    except OSError:
                        digest = "unreadable"
                out[p] = ("file", st.st_size, st.st_mtime_ns, perm, st.st_ino, digest)
            elif stat.S_ISFIFO(mode):
                out[p] = ("fifo", perm, st.st_ino)
            elif stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
                out[p] = ("device", st.st_rdev, perm, st.st_ino)
            else:
                out[p] = ("other", perm)
    return out


def describe_change(a: tuple, b: tuple) -> str:
    if a[0] != b[0]:
        return f"{a[0]} replaced by a {b[0]}"
    if a[0] == "file":
        what = []
        if a[5] != b[5] or a[1] != b[1]:
            what.append("content")
        if a[2] != b[2]:
            what.append("mtime")
        if a[3] != b[3]:
            what.append(f"mode {a[3]:o}->{b[3]:o}")
        if a[4] != b[4]:
            what.append("inode (replaced)")
        return "changed: " + ", ".join(what)
    if a[0] == "link":
        return f"link retargeted {a[1]!r} -> {b[1]!r}"
    return f"changed {a[1:]} -> {b[1:]}"


def matches(rel: str, patterns: tuple[str, ...]) -> bool:
    """rel (relative to the case's cwd) is a pattern, lies under one, or matches its glob."""
    for p in patterns:
        p = p.rstrip("/")
        if rel == p or rel.startswith(p + "/") or fnmatch.fnmatchcase(rel, p):
            return True
    return False


# ----------------------------------------------------------------------------------------------
# fixtures, built once under WORK/fixtures


class FixtureError(Exception):
    pass


ASSETS_SCRIPT = r"""
import os, pickle, sys
from pathlib import Path
out, repo = Path(sys.argv[1]), Path(sys.argv[2])
sys.path[:0] = [str(repo / "tests"), str(repo)]
import torch
from test_supernet_import import ofa_checkpoint
from test_ofa_import import write_ofa_tables

class Payload:
    # unpickling this creates a file named SWEEP-PWNED in the working folder: no shell, no harm
    def __reduce__(self):
        return (open, ("SWEEP-PWNED", "w"))

sd = ofa_checkpoint()
torch.save({"state_dict": sd}, out / "w12.pth")
conv = next(k for k, v in sd.items() if v.dtype == torch.float32 and v.dim() == 4)
classifier = next(k for k in sd if "classifier" in k and k.endswith("weight"))

def variant(name, change):
    d = dict(sd)
    change(d)
    torch.save({"state_dict": d}, out / f"w12-{name}.pth")

def poke(value):
    def change(d):
        t = d[conv].clone()
        t.view(-1)[0] = value
        d[conv] = t
    return change

variant("nan", poke(float("nan")))
variant("inf", poke(float("inf")))
variant("shape", lambda d: d.__setitem__(conv, d[conv][:-1].clone()))
variant("missing", lambda d: d.pop(classifier))
variant("extra", lambda d: d.__setitem__("sweep.extra.weight", torch.zeros(3, 3)))
variant("int", lambda d: d.__setitem__(conv, d[conv].to(torch.int64)))
variant("complex", lambda d: d.__setitem__(conv, d[conv].to(torch.complex64)))
torch.save([sd[conv]], out / "w12-list.pth")
torch.save({"state_dict": Payload()}, out / "w12-payload.pth")
blob = (out / "w12.pth").read_bytes()
(out / "w12-truncated.pth").write_bytes(blob[: len(blob) // 2])

torch.manual_seed(0)
mlp = torch.nn.Sequential(torch.nn.Linear(128, 8), torch.nn.ReLU(), torch.nn.Linear(8, 1))
acc = {k: v.detach().clone() for k, v in mlp.state_dict().items()}
torch.save(acc, out / "acc.pth")

def acc_variant(name, change):
    d = {k: v.clone() for k, v in acc.items()}
    change(d)
    torch.save(d, out / f"acc-{name}.pth")

def acc_poke(value):
    return lambda d: d["0.weight"].view(-1).__setitem__(0, value)

acc_variant("nan", acc_poke(float("nan")))
acc_variant("inf", acc_poke(float("inf")))
acc_variant("huge", acc_poke(1e30))
acc_variant("complex", lambda d: d.__setitem__("0.weight", d["0.weight"].to(torch.complex64)))
acc_variant("int", lambda d: d.__setitem__("0.weight", d["0.weight"].to(torch.int64)))
acc_variant("narrow", lambda d: d.__setitem__("0.weight", d["0.weight"][:, :127].clone()))
acc_variant("two-outputs", lambda d: (d.__setitem__("2.weight", torch.zeros(2, 8)), d.__setitem__("2.bias", torch.zeros(2))))
acc_variant("extra", lambda d: d.__setitem__("9.weight", torch.zeros(1, 1)))
torch.save({}, out / "acc-empty-dict.pth")
torch.save({"net": Payload()}, out / "acc-payload.pth")
blob = (out / "acc.pth").read_bytes()
(out / "acc-truncated.pth").write_bytes(blob[: len(blob) // 2])

write_ofa_tables(out / "ofa-tables", resolutions=(160,))
print("assets written")
"""


class Fixtures:
    """Everything the cases copy or read, under WORK/fixtures; each step leaves `.ok-STEP` when it
    succeeded, so a rerun skips it; a failed step is noted and the cases that need it are skipped."""

    def __init__(self, work: Path, python: str, env: dict[str, str], quiet: bool = False):
        self.root = work / "fixtures"
        self.python = python
        self.env = env
        self.quiet = quiet
        self.notes: dict[str, str] = {}
        self._cache: dict[str, Any] = {}

    # paths --------------------------------------------------------------------------------------
    def __getattr__(self, name: str) -> Path:
        names = {
            "images": "images", "recipe": "recipe.yaml", "recipe_long": "recipe-long.yaml", "run": "run",
            "mlp": "mlp/predictor.json", "table": "latency/cpu/tiny.json", "irun": "irun",
            "pipeline": "sweep.pipeline.yaml", "pipe": "pipe", "export_min": "export-min",
            "export_min2": "export-min2", "export_max": "export-max", "spec": "spec", "assets": "assets",
            "space": "sweepspace.yaml", "profile": "sweepdev.yaml", "user": "user-files",
        }
        if name in names:
            return self.root / names[name]
        raise AttributeError(name)

    VERSIONS: ClassVar[dict[str, int]] = {"files": 2}  # bump a step's number when what it builds changes

    def have(self, step: str) -> bool:
        marker = self.root / f".ok-{step}"
        if not marker.exists():
            return False
        first = (marker.read_text().splitlines() or [""])[0]
        version = int(first[1:]) if re.fullmatch(r"v\d+", first) else 1
        return version == self.VERSIONS.get(step, 1)

    # reading fixture documents (cached) ----------------------------------------------------------
    def doc(self, key: str) -> Any:
        if key not in self._cache:
            readers = {
                "table": lambda: json.loads(self.table.read_text()),
                "predictor": lambda: json.loads((self.run / "predictor" / "predictor.json").read_text()),
                "mlp": lambda: json.loads(self.mlp.read_text()),
                "accuracy": lambda: [json.loads(x) for x in
                                     (self.run / "predictor" / "accuracy.jsonl").read_text().splitlines() if x.strip()],
                "space": lambda: yaml.safe_load(self.space.read_text()),
                "profile": lambda: yaml.safe_load(self.profile.read_text()),
                "recipe": lambda: yaml.safe_load(self.recipe.read_text()),
                "pipeline": lambda: yaml.safe_load(self.pipeline.read_text()),
                "run.json": lambda: json.loads((self.run / "run.json").read_text()),
                "run-recipe": lambda: yaml.safe_load((self.run / "recipe.yaml").read_text()),
                "last.json": lambda: json.loads((self.irun / "checkpoints" / "last.json").read_text()),
                "ofa-table-text": lambda: (self.assets / "ofa-tables" / "160_lookup_table.yaml").read_text(),
                "subnet": lambda: {"resolution": 16, "depths": [1, 1, 1], "kernels": [[3], [3], [3]],
                                   "expands": [[2], [2], [2]]},
                "exports": lambda: json.loads((self.root / "exports.json").read_text()),
            }
            self._cache[key] = readers[key]()
        return self._cache[key]

    # running ofa while building -----------------------------------------------------------------
    def ofa(self, args: list[str], cwd: Path | None = None, timeout: float = 900) -> subprocess.CompletedProcess:
        if not self.quiet:
            print(f"  fixtures: ofa {' '.join(args)}", flush=True)
        r = subprocess.run([self.python, "-m", "ofa", *args], cwd=cwd or self.root, env=self.env, timeout=timeout,
                           stdin=subprocess.DEVNULL, capture_output=True, text=True, check=False)
        if r.returncode != 0:
            last = (r.stderr.strip().splitlines() or ["(no stderr)"])[-1]
            raise FixtureError(f"ofa {' '.join(args)} exited {r.returncode}: {last}")
        return r

    def build(self, rebuild: bool = False) -> None:
        if rebuild and self.root.exists():
            remove_tree(self.root)
        self.root.mkdir(parents=True, exist_ok=True)
        steps: list[tuple[str, tuple[str, ...], Callable[[], None]]] = [
            ("images", (), self._images),
            ("recipe", ("images",), self._recipes),
            ("files", (), self._files),
            ("run", ("recipe",), self._run),
            ("predictor", ("run",), self._predictor),
            ("mlp", ("predictor",), self._mlp),
            ("table", (), self._table),
            ("irun", ("recipe",), self._irun),
            ("exports", ("run",), self._exports),
            ("spec", ("predictor", "table"), self._spec),
            ("pipe", ("recipe",), self._pipe),
            ("assets", (), self._assets),
        ]
        for name, deps, fn in steps:
            if self.have(name):
                continue
            missing = [d for d in deps if not self.have(d)]
            if missing:
                self.notes[name] = f"not built: needs {', '.join(missing)}"
                continue
            start = time.monotonic()
            try:
                fn()
            except (FixtureError, OSError, subprocess.SubprocessError, ValueError, KeyError) as e:
                self.notes[name] = str(e)
                print(f"  fixtures: step {name} FAILED: {e}", flush=True)
                continue
            (self.root / f".ok-{name}").write_text(f"v{self.VERSIONS.get(name, 1)}\n{time.monotonic() - start:.1f} s\n")
        (self.root / "notes.json").write_text(json.dumps(self.notes, indent=1))

    # the steps ----------------------------------------------------------------------------------
    def _images(self) -> None:
        import numpy as np
        from PIL import Image

        remove_tree(self.images)
        rng = np.random.default_rng(0)
        for c in range(3):
            folder = self.images / f"class{c}"
            folder.mkdir(parents=True)
            for i in range(20):
                img = rng.integers(0, 80, (12, 12, 3))
                img[:, :, c % 3] += 120 + 10 * c
                img[c::3, :, :] += 40
                Image.fromarray(img.clip(0, 255).astype("uint8")).save(folder / f"{i}.png")

    def _recipes(self) -> None:
        recipe = {
            "space": "tiny", "data": f"imagefolder:{self.images}", "resolution": 24, "batch_size": 8,
            "lr_batch_size": 8, "augment": False, "workers": 0, "checkpoint_every": 3, "validate_every": 0,
            "bn_calib_images": 16, "seed": 0, "device": "cpu",
            "phases": [
                {"name": "full", "epochs": 1, "lr": 0.05, "resolutions": [16, 24]},
                {"name": "all", "epochs": 1, "lr": 0.02, "subnets_per_step": 1, "kernels": [3, 5],
                 "depths": [1, 2], "expands": [2, 3]},
            ],
        }
        self.recipe.write_text(yaml.safe_dump(recipe, sort_keys=False))
        long = json.loads(json.dumps(recipe))
        long["checkpoint_every"] = 2
        for p in long["phases"]:
            p["epochs"] = 2
        self.recipe_long.write_text(yaml.safe_dump(long, sort_keys=False))

    def _files(self) -> None:
        space = yaml.safe_load((REPO / "ofa" / "spaces" / "builtin" / "tiny.yaml").read_text())
        space["name"] = "sweepspace"
        self.space.write_text(yaml.safe_dump(space, sort_keys=False))
        profile = yaml.safe_load((REPO / "devices" / "cpu.yaml").read_text())
        profile.update(name="sweepdev", aliases=[])
        self.profile.write_text(yaml.safe_dump(profile, sort_keys=False))
        remove_tree(self.user)
        (self.user / "album").mkdir(parents=True)
        (self.user / "notes.txt").write_text("the user's own notes\n")
        (self.user / "album" / "photo1.jpg").write_bytes(b"\xff\xd8\xff\xe0user photo 1")
        (self.user / "album" / "photo2.jpg").write_bytes(b"\xff\xd8\xff\xe0user photo 2")
        # the user's own files that happen to carry the names ofa's outputs take
        for name in ("front.json", "front.csv", "tiny.validate.json", "summary.json", "run.json", "config.json",
                     "model.onnx", "metrics.jsonl"):
            (self.user / name).write_text(f"the user's own {name}\n")

    def _run(self) -> None:
        remove_tree(self.run)
        self.ofa(["train-supernet", "--recipe", str(self.recipe), "--out", str(self.run), "-q"])

    def _predictor(self) -> None:
        for p in (self.run / "predictor").glob("*") if (self.run / "predictor").exists() else []:
            p.unlink()
        self.ofa(["predictor", "collect", "--supernet", str(self.run), "-n", "60", "-q"])
        self.ofa(["predictor", "train", "--supernet", str(self.run)])
        self.ofa(["predictor", "show", "--predictor", str(self.run / "predictor" / "predictor.json")])

    def _mlp(self) -> None:
        remove_tree(self.mlp.parent)
        self.mlp.parent.mkdir()
        self.ofa(["predictor", "train", "--supernet", str(self.run), "-m", "mlp", "--out", str(self.mlp)])

    def _table(self) -> None:
        remove_tree(self.table)
        self.ofa(["latency", "build", "-d", "cpu", "-s", "tiny", "-r", "16", "-r", "24", "-r", "32",
                  "--num-classes", "3", "-k", "5", "-q", "--out", str(self.table)])

    def _irun(self) -> None:
        """A run stopped by SIGTERM after its first checkpoints: what `--resume` continues."""
        remove_tree(self.irun)
        if not self.quiet:
            print("  fixtures: a run stopped half-way (SIGTERM after its first checkpoint)", flush=True)
        p = subprocess.Popen([self.python, "-m", "ofa", "train-supernet", "--recipe", str(self.recipe_long),
                              "--out", str(self.irun), "-q"], cwd=self.root, env=self.env,
                             stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 300
        manifest = self.irun / "checkpoints" / "last.json"
        while time.monotonic() < deadline and p.poll() is None:
            if manifest.exists() and (self.irun / "checkpoints" / "last.prev.json").exists():
                break
            time.sleep(0.2)
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
        try:
            _, err = p.communicate(timeout=300)
        except subprocess.TimeoutExpired:
            p.kill()
            raise FixtureError("the run to stop did not stop after SIGTERM")
        if (self.irun / "supernet.safetensors").exists() or not manifest.exists():
            raise FixtureError(f"could not stop a run half-way (exit {p.returncode}): {err.strip()[-200:]}")

    def _exports(self) -> None:
        refs = {}
        for name, subnet in (("export-min", "min"), ("export-min2", "min"), ("export-max", "max")):
            remove_tree(self.root / name)
            self.ofa(["export", "--supernet", str(self.run), "--subnet", subnet, "--out", str(self.root / name)])
            folder = self.root / name
            refs[name] = {str(p.relative_to(folder)): sha256_file(str(p)) for p in sorted(folder.rglob("*"))
                          if p.is_file()}
        stable = sorted(k for k in refs["export-min"] if refs["export-min"][k] == refs["export-min2"].get(k))
        (self.root / "exports.json").write_text(json.dumps({"min": refs["export-min"], "max": refs["export-max"],
                                                            "stable": stable}, indent=1))

    def _spec(self) -> None:
        remove_tree(self.spec)
        self.ofa(["specialize", "--supernet", str(self.run), "-d", "cpu", "-l", "0.1ms", *CHEAP_SPECIALIZE,
                  "--out", str(self.spec)])

    def _pipe(self) -> None:
        pipeline = {
            "description": "the sweep's pipeline: the tiny recipe, a quick table, few subnets",
            "out": "pipe",
            "stages": [
                {"train": {"recipe": str(self.recipe)}},
                {"latency": {"device": "cpu", "resolutions": [16, 24, 32], "calibrate": 5}},
                {"collect": {"n": 60}},
                {"predictor": {"model": "trees"}},
                {"specialize": {"device": "cpu", "latency": ["50%"], "population": 8, "generations": 3}},
            ],
        }
        self.pipeline.write_text(yaml.safe_dump(pipeline, sort_keys=False))
        remove_tree(self.pipe)
        try:
            self.ofa(["run", str(self.pipeline), "--out", str(self.pipe), "-q"])
        except FixtureError as e:
            if not (self.pipe / "supernet" / "predictor" / "predictor.json").exists():
                raise
            self.notes["pipe"] = f"pipeline fixture incomplete (its last stage failed): {e}"

    def _assets(self) -> None:
        remove_tree(self.assets)
        self.assets.mkdir()
        if not self.quiet:
            print("  fixtures: once-for-all-format checkpoints, predictor and tables", flush=True)
        r = subprocess.run([self.python, "-c", ASSETS_SCRIPT, str(self.assets), str(REPO)], cwd=self.assets,
                           env=self.env, capture_output=True, text=True, timeout=600, check=False)
        if r.returncode != 0:
            raise FixtureError(f"assets: {(r.stderr.strip().splitlines() or ['?'])[-1]}")


# ----------------------------------------------------------------------------------------------
# mutations of JSON, JSON-lines and YAML documents

SENTINEL = "__SWEEP_RAW_VALUE__"

# label -> (JSON text, YAML text) of a value put where a field was
RAW: dict[str, tuple[str, str]] = {
    "NaN": ("NaN", ".nan"),
    "Infinity": ("Infinity", ".inf"),
    "-Infinity": ("-Infinity", "-.inf"),
    "-1": ("-1", "-1"),
    "0": ("0", "0"),
    "1e308": ("1e308", "1.0e+308"),
    "1e30": ("1e30", "1.0e+30"),
    "1e-30": ("1e-30", "1.0e-30"),
    "5000-digit integer": ("9" * 5000, "9" * 5000),
    "1e21 as an integer": ("1" + "0" * 21, "1" + "0" * 21),
    "string '12'": ('"12"', "'12'"),
    "list [12]": ("[12]", "[12]"),
    "bool true": ("true", "true"),
    "null": ("null", "null"),
    "3.9": ("3.9", "3.9"),
    "unicode digits '٣٢'": ('"٣٢"', "'٣٢'"),
}

# the mutations of RAW that are still a valid value of a domain (the case then accepts or refuses)
VALID_IN = {
    "count": set(),                                   # a whole number from 1
    "count0": {"0"},                                  # a whole number from 0
    "ms": {"0", "1e-30", "3.9"},                      # a positive real (a time, a scale)
    "real": {"-1", "0", "1e-30", "3.9"},              # any finite real
    "ratio": {"3.9"},                                 # a positive real of sane size (an expand ratio)
    "frac": {"0", "1e-30"},                           # a share from 0 to 1
    "rate": {"1e-30", "3.9"},                         # a positive learning rate
    "pct": {"0", "1e-30", "3.9"},                     # a percentage 0..100
}

ALL_NUMBERS = ["NaN", "Infinity", "-Infinity", "-1", "0", "1e308", "1e30", "1e-30", "5000-digit integer",
               "string '12'", "list [12]", "bool true", "null", "3.9", "unicode digits '٣٢'"]


def expect_for(domain: str, label: str) -> str:
    return "either" if label in VALID_IN[domain] else "refuse"


def parse_path(path: str) -> list[Any]:
    return [int(p) if p.lstrip("-").isdigit() else p for p in path.split(".")] if path else []


def locate(doc: Any, path: str) -> tuple[Any, Any]:
    """(container, key) of path in doc; '*' is the first key of a mapping."""
    parts = parse_path(path)
    node = doc
    for p in parts[:-1]:
        node = node[next(iter(node))] if p == "*" else node[p]
    last = parts[-1]
    if last == "*":
        last = next(iter(node))
    return node, last


def dump(doc: Any, fmt: str) -> str:
    if fmt == "json":
        return json.dumps(doc, indent=1, ensure_ascii=False) + "\n"
    if fmt == "jsonl":
        return "".join(json.dumps(x, ensure_ascii=False) + "\n" for x in doc)
    return yaml.safe_dump(doc, sort_keys=False, allow_unicode=True, width=4096)


def yaml_value(value: Any) -> str:
    text = yaml.safe_dump(value, default_flow_style=True, allow_unicode=True, width=100000).strip()
    return text[:-3].strip() if text.endswith("...") else text


def with_raw(doc: Any, fmt: str, path: str, raw: tuple[str, str]) -> str:
    d = json.loads(json.dumps(doc))
    node, key = locate(d, path)
    node[key] = SENTINEL
    text = dump(d, fmt)
    if fmt in ("json", "jsonl"):
        return text.replace(json.dumps(SENTINEL), raw[0])
    return text.replace(SENTINEL, raw[1])


def with_value(doc: Any, fmt: str, path: str, value: Any) -> str:
    raw = (json.dumps(value, ensure_ascii=False), yaml_value(value))
    return with_raw(doc, fmt, path, raw)


def without(doc: Any, fmt: str, path: str) -> str:
    d = json.loads(json.dumps(doc))
    node, key = locate(d, path)
    del node[key]
    return dump(d, fmt)


def renamed(doc: Any, fmt: str, path: str, new: str) -> str:
    d = json.loads(json.dumps(doc))
    node, key = locate(d, path)
    node2 = {}
    for k, v in node.items():
        node2[new if k == key else k] = v
    node.clear()
    node.update(node2)
    return dump(d, fmt)


GARBAGE = bytes(random.Random(24).randrange(256) for _ in range(4096))
DEEP_JSON = "[" * 10000 + "]" * 10000 + "\n"
ALIAS_BOMB = "".join(
    [f"{'abcdefghi'[0]}: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n"]
    + [f"{c}: &{c} [{', '.join(['*' + p] * 9)}]\n" for p, c in zip("abcdefgh", "bcdefghi")])


@dataclasses.dataclass
class Mut:
    """One edit of a document: label, issue class, expectation, and the new file content made
    from (parsed fixture document, its format, its original text)."""

    label: str
    cls: str
    expect: str
    make: Callable[[Any, str, str], str | bytes]


def num(path: str, domain: str, labels: list[str] | None = None) -> list[Mut]:
    labels = labels or ALL_NUMBERS
    return [Mut(f"{path} = {label}", "numbers", expect_for(domain, label),
                lambda d, f, t, p=path, r=RAW[label]: with_raw(d, f, p, r)) for label in labels]


def val(path: str, value: Any, cls: str, expect: str = "refuse", label: str | None = None) -> Mut:
    shown = label or f"{path} = {json.dumps(value, ensure_ascii=False)[:60]}"
    return Mut(shown, cls, expect, lambda d, f, t: with_value(d, f, path, value))


def raw(path: str, text_json: str, text_yaml: str, cls: str, label: str, expect: str = "refuse") -> Mut:
    return Mut(label, cls, expect, lambda d, f, t: with_raw(d, f, path, (text_json, text_yaml)))


def delete(path: str, expect: str = "refuse") -> Mut:
    return Mut(f"{path} deleted", "structures", expect, lambda d, f, t: without(d, f, path))


def rename(path: str, new: str, expect: str = "refuse") -> Mut:
    return Mut(f"{path} renamed to {new!r}", "structures", expect, lambda d, f, t: renamed(d, f, path, new))


def whole(fmt: str, truncated: str = "refuse") -> list[Mut]:
    """Edits of the whole file: other top levels, empty, cut, garbage, deep nesting, alias bomb."""
    ms = [
        Mut("top level a list", "structures", "refuse",
            lambda d, f, t: dump([d[0]], f) if f == "jsonl" else dump([d], f)),
        Mut("top level a number", "structures", "refuse", lambda d, f, t: "5\n"),
        Mut("top level a string", "structures", "refuse", lambda d, f, t: '"x"\n' if f != "yaml" else "x\n"),
        Mut("empty file", "structures", "refuse", lambda d, f, t: ""),
        Mut("truncated in the middle", "structures", truncated, lambda d, f, t: t[: len(t) // 2]),
        Mut("binary garbage", "structures", "refuse", lambda d, f, t: GARBAGE),
        Mut("10000-deep nesting", "structures", "refuse", lambda d, f, t: DEEP_JSON),
        Mut("NUL byte inside", "structures", "refuse", lambda d, f, t: t[: len(t) // 3] + "\0" + t[len(t) // 3:]),
    ]
    if fmt == "yaml":
        ms.append(Mut("YAML alias bomb (billion laughs)", "structures", "refuse", lambda d, f, t: ALIAS_BOMB))
    return ms


# ----------------------------------------------------------------------------------------------
# cases


@dataclasses.dataclass
class Case:
    name: str
    cls: str
    command: str
    argv: list[str] | None
    setup: Callable[[Ctx], None] | None = None
    expect: str = "refuse"                      # "refuse" or "either" (accept or refuse, cleanly)
    output: tuple[str, ...] = ()                # what ofa may create or replace when it accepts
    allowed: tuple[str, ...] = ()               # what ofa may create even when it refuses
    needs: tuple[str, ...] = ()                 # fixture steps
    drop_caps: bool = False                     # run without DAC override (read-only folders as root)
    procs: list[list[str]] | None = None        # several processes started together (concurrent writers)
    check: Callable[[Ctx, list[dict]], tuple[str, str] | None] | None = None
    note: str = ""

    @property
    def argvs(self) -> list[list[str]]:
        return self.procs if self.procs else [self.argv or []]


class Ctx:
    """A case's folders: root (WORK/cases/NAME) and cwd (root/p/q/cwd), and the fixtures."""

    def __init__(self, root: Path, fx: Fixtures):
        self.root = root
        self.cwd = root / "p" / "q" / "cwd"
        self.fx = fx

    def path(self, rel: str) -> Path:
        return self.cwd / rel

    def write(self, rel: str, content: str | bytes) -> Path:
        p = self.path(rel)
        p.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            p.write_bytes(content)
        else:
            p.write_bytes(content.encode("utf-8", "surrogatepass"))
        return p

    def copy(self, src: Path, rel: str) -> Path:
        dst = self.path(rel)
        dst.parent.mkdir(parents=True, exist_ok=True)
        if src.is_dir():
            shutil.copytree(src, dst, symlinks=True)
        else:
            shutil.copy2(src, dst)
        return dst

    def run(self, rel: str = "run") -> Path:
        return self.copy(self.fx.run, rel)

    def table(self, content: str | bytes | None = None) -> Path:
        """The tiny table where search and specialize look: latency/cpu/tiny.json in cwd."""
        if content is None:
            return self.copy(self.fx.table, "latency/cpu/tiny.json")
        return self.write("latency/cpu/tiny.json", content)

    def user_folder(self, rel: str) -> Path:
        return self.copy(self.fx.user, rel)


def doc_cases(kind: str, fmt: str, docname: str, target: str, command: str, argv: list[str], muts: list[Mut],
              needs: tuple[str, ...], prepare: Callable[[Ctx], None] | None = None,
              output: tuple[str, ...] = (), tag: str = "", drop_caps: bool = False) -> list[Case]:
    """One case per mutation: prepare the case folder, write the mutated document at target."""
    cases = []
    for m in muts:
        def setup(ctx: Ctx, m: Mut = m) -> None:
            if prepare:
                prepare(ctx)
            doc = ctx.fx.doc(docname)
            original = dump(doc, fmt) if not isinstance(doc, str) else doc
            ctx.write(target, m.make(doc, fmt, original))

        cases.append(Case(f"{kind}: {m.label}{tag} [{command}]", m.cls, command, list(argv), setup, m.expect,
                          output=output, needs=needs, drop_caps=drop_caps))
    return cases


# -- latency tables -----------------------------------------------------------------------------

def table_cases() -> list[Case]:
    predict = ["latency", "predict", "-d", "cpu", "-s", "tiny", "--table", "t.json", "max", "min"]
    muts: list[Mut] = [
        *num("entries.*.p10_ms", "ms", ["NaN", "Infinity", "-1", "0", "1e308", "5000-digit integer", "string '12'"]),
        *num("calibration.scale", "ms", ["NaN", "-1", "0"]),
        *num("batch_size", "count", ["0", "3.9"]),
        *num("resolutions.0", "count", ["3.9", "unicode digits '٣٢'"]),
        val("resolutions", [16, 24, 32, 64], "numbers", label="an extra resolution 64 (not measured)"),
        *[delete(k) for k in ("space_fingerprint", "entries")],
        delete("entries.*.p10_ms"),
        val("entries.*", 5, "structures", label="an entry is the number 5"),
        val("device", "note10", "paths", label="device = another device's name"),
        val("device", f"../../../{ESCAPE}", "paths", label="device = '../../../escaped'"),
        val("space", f"../../../{ESCAPE}", "paths", label="space = '../../../escaped'"),
        *[m for m in whole("json") if m.label not in ("top level a string", "top level a number", "NUL byte inside")],
    ]
    cases = doc_cases("table", "json", "table", "t.json", "latency predict", predict, muts, ("table",))

    def with_run(ctx: Ctx) -> None:
        ctx.run()

    search = ["search", "--supernet", "run", "-d", "cpu", "-l", "0.1ms", *CHEAP_SEARCH, "--out", "out"]
    cases += doc_cases("table", "json", "table", "latency/cpu/tiny.json", "search", search,
                       [*num("entries.*.p10_ms", "ms", ["NaN", "-1"]),
                        val("resolutions", [16, 24, 32, 64], "numbers", label="an extra resolution 64 (not measured)")],
                       ("table", "predictor"), with_run, output=("out",))
    specialize = ["specialize", "--supernet", "run", "-d", "cpu", "-l", "0.1ms", *CHEAP_SPECIALIZE, "--out", "models"]
    cases += doc_cases("table", "json", "table", "latency/cpu/tiny.json", "specialize", specialize,
                       num("entries.*.p10_ms", "ms", ["NaN"]), ("table", "predictor"), with_run, output=("models",))
    show = ["latency", "show", "-d", "cpu", "-s", "tiny", "--table", "t.json"]
    cases += doc_cases("table", "json", "table", "t.json", "latency show", show,
                       [*num("calibration.scale", "ms", ["NaN"]),
                        Mut("10000-deep nesting", "structures", "refuse", lambda d, f, t: DEEP_JSON)], ("table",))
    validate = ["latency", "validate", "-d", "cpu", "-s", "tiny", "--table", "t.json", "-n", "2", "-q", "--out", "v"]
    cases += doc_cases("table", "json", "table", "t.json", "latency validate", validate,
                       num("entries.*.p10_ms", "ms", ["NaN"]), ("table",), output=("v",))
    calibrate = ["latency", "calibrate", "-d", "cpu", "-s", "tiny", "--table", "t.json", "-n", "2", "-q"]
    cases += doc_cases("table", "json", "table", "t.json", "latency calibrate", calibrate,
                       num("entries.*.p10_ms", "ms", ["NaN"]), ("table",), output=("latency",))
    build = ["latency", "build", "-d", "cpu", "-s", "tiny", "-r", "16", "-r", "24", "-r", "32", "--num-classes",
             "3", "-k", "0", "-q", "--out", "t.json"]
    cases += doc_cases("table", "json", "table", "t.json", "latency build", build,
                       num("entries.*.p10_ms", "ms", ["NaN"]), ("table",), tag=" (resumed by build)")
    return cases


# -- accuracy predictors --------------------------------------------------------------------------

def predictor_cases() -> list[Case]:
    def copy_predictor(ctx: Ctx) -> None:
        src = ctx.fx.run / "predictor"
        for name in ("predictor.json", "predictor.safetensors"):
            ctx.copy(src / name, f"pred/{name}")

    def for_search(ctx: Ctx) -> None:
        copy_predictor(ctx)
        ctx.run()
        ctx.table()

    search = ["search", "--supernet", "run", "--predictor", "pred/predictor.json", "-d", "cpu", "-l", "0.1ms",
              *CHEAP_SEARCH, "--out", "out"]
    show = ["predictor", "show", "--predictor", "pred/predictor.json"]
    needs = ("predictor", "table")
    search_muts = [
        *num("num_features", "count", ["0", "3.9"]),
        raw("num_features", "34", "34", "numbers", "num_features = 34 (one more than the encoding has)"),
        val("kind", "mlp", "structures", label="kind = 'mlp' over a trees file"),
        val("space", f"../../../{ESCAPE}", "paths", label="space = '../../../escaped'"),
        val("supernet.weights_sha256", "0" * 64, "structures", label="bound to other weights (sha256)"),
        val("weights", "../../../../../../../../etc/hostname", "paths", label="weights = '../../../etc/hostname'"),
        val("weights", "/dev/zero", "paths", label="weights = '/dev/zero' (endless)"),
        val("weights", 5, "structures", label="weights = 5"),
        delete("weights"),
    ]
    cases = doc_cases("predictor json", "json", "predictor", "pred/predictor.json", "search", search, search_muts,
                      needs, for_search, output=("out",))
    show_muts = [
        *num("report.rmse", "ms", ["NaN", "Infinity"]),
        delete("report", expect="either"),  # an imported predictor has none
        *[m for m in whole("json") if m.label in ("top level a list", "empty file", "binary garbage",
                                                  "10000-deep nesting")],
    ]
    cases += doc_cases("predictor json", "json", "predictor", "pred/predictor.json", "predictor show", show,
                       show_muts, needs, copy_predictor)

    # the tensors beside it: edit(tensors as numpy arrays, the file's bytes) -> new tensors or new bytes
    def tensors_case(label: str, cls: str, edit: Callable[[dict, bytes], dict | bytes], expect: str = "refuse",
                     which: str = "trees") -> Case:
        def setup(ctx: Ctx) -> None:
            from safetensors.numpy import load_file, save_file

            if which == "trees":
                for_search(ctx)
            else:
                ctx.run()
                ctx.table()
                ctx.copy(ctx.fx.mlp, "pred/predictor.json")
                ctx.copy(ctx.fx.mlp.with_suffix(".safetensors"), "pred/predictor.safetensors")
            target = ctx.path("pred/predictor.safetensors")
            blob = target.read_bytes()
            new = edit(load_file(str(target)), blob)
            target.unlink()
            if isinstance(new, bytes):
                target.write_bytes(new)
            else:
                save_file(new, str(target))

        return Case(f"predictor tensors ({which}): {label} [search]", cls, "search", list(search), setup, expect,
                    output=("out",), needs=needs + (("mlp",) if which == "mlp" else ()))

    def poke(key: str | Callable[[dict], str], value: Any) -> Callable[[dict, bytes], dict]:
        def edit(t: dict, blob: bytes) -> dict:
            import numpy as np

            k = key(t) if callable(key) else key
            a = np.array(t[k], copy=True)
            a.reshape(-1)[0] = value
            t[k] = a
            return t
        return edit

    def first_weight(t: dict) -> str:  # the first matrix of the MLP (w0, or a torch-style *.weight)
        return next(k for k in sorted(t) if getattr(t[k], "ndim", 0) >= 2)

    def replace(key: str | Callable[[dict], str], fn: Callable[[Any], Any]) -> Callable[[dict, bytes], dict]:
        def edit(t: dict, blob: bytes) -> dict:
            k = key(t) if callable(key) else key
            t[k] = fn(t[k])
            return t
        return edit

    def self_loop(t: dict, blob: bytes) -> dict:
        import numpy as np

        left = np.array(t["left"], copy=True)
        inner = int(np.flatnonzero(left >= 0)[0]) if (left >= 0).any() else 0
        left[inner] = inner
        t["left"] = left
        return t

    cases += [
        tensors_case("threshold[0] = NaN", "numbers", poke("threshold", float("nan"))),
        tensors_case("value[0] = NaN", "numbers", poke("value", float("nan"))),
        tensors_case("value[0] = 1e30", "numbers", poke("value", 1e30)),
        tensors_case("feature[0] = 10**9 (no such feature)", "numbers", poke("feature", 10**9)),
        tensors_case("left[0] = 10**9 (no such node)", "numbers", poke("left", 10**9)),
        tensors_case("a node that is its own left child (a cycle)", "structures", self_loop),
        tensors_case("value as complex64", "numbers", replace("value", lambda a: a.astype("complex64"))),
        tensors_case("tensor 'value' missing", "structures", lambda t, b: {k: v for k, v in t.items() if k != "value"}),
        tensors_case("truncated in the middle", "structures", lambda t, b: b[: len(b) // 2]),
        tensors_case("first weight = NaN", "numbers", poke(first_weight, float("nan")), which="mlp"),
        tensors_case("first weight transposed (wrong shape)", "structures",
                     replace(first_weight, lambda a: a.T.copy()), which="mlp"),
    ]
    return cases


# -- accuracy data --------------------------------------------------------------------------------

def lines(muts: list[Mut]) -> list[Mut]:
    """Labels of JSON-lines paths say which line: 0 is the header, 1 the first row."""
    for m in muts:
        m.label = re.sub(r"^0\.", "header ", re.sub(r"^1\.", "row 1 ", m.label))
    return muts


def accuracy_cases() -> list[Case]:
    def prepare(ctx: Ctx) -> None:
        ctx.run()

    train = ["predictor", "train", "--supernet", "run", "--accuracy-data", "a.jsonl", "--out", "p.json"]
    row = "1"
    muts = [
        *num(f"{row}.top1", "pct", ["NaN", "Infinity", "-1", "string '12'"]),
        raw(f"{row}.top1", "1e9", "1e9", "numbers", "row 1 top1 = 1e9"),
        val(f"{row}.subnet", "r٣٢:k3e2,k3e2,k3e2", "numbers", label="row 1 subnet 'r٣٢:...' (unicode digits)"),
        val(f"{row}.subnet", "r16:k3e٢,k3e2,k3e2", "numbers", label="row 1 subnet 'r16:k3e٢,...' (unicode digit)"),
        val(f"{row}.subnet", "r999:k3e2,k3e2,k3e2", "numbers", label="row 1 subnet at resolution 999"),
        val(f"{row}.subnet", {"resolution": 16, "kernels": [[3.9], [3], [3]], "expands": [[2], [2], [2]]},
            "numbers", label="row 1 subnet as a dict with kernel 3.9"),
        delete(f"{row}.top1"),
        val(row, [1, 2], "structures", label="row 1 is a list"),
        val("0.supernet.weights_sha256", "0" * 64, "structures", label="header bound to other weights"),
        Mut("header line missing", "structures", "refuse", lambda d, f, t: dump(d[1:], f)),
        Mut("header only, no rows", "structures", "refuse", lambda d, f, t: dump(d[:1], f)),
        Mut("a line of 10000-deep nesting", "structures", "refuse", lambda d, f, t: dump(d[:3], f) + DEEP_JSON),
        *[m for m in whole("jsonl", truncated="either") if m.label in ("empty file", "truncated in the middle",
                                                                       "binary garbage", "NUL byte inside")],
    ]
    cases = doc_cases("accuracy data", "jsonl", "accuracy", "a.jsonl", "predictor train", train, lines(muts),
                      ("predictor",), prepare, output=("p.json", "p.safetensors", "p.png"))
    collect = ["predictor", "collect", "--supernet", "run", "-n", "5", "-q"]
    cases += doc_cases("accuracy data", "jsonl", "accuracy", "run/predictor/accuracy.jsonl", "predictor collect",
                       collect, lines([*num(f"{row}.top1", "pct", ["NaN"]),
                                       val("0.supernet.weights_sha256", "0" * 64, "structures",
                                           label="header bound to other weights")]),
                       ("predictor",), prepare, tag=" (resumed)")
    default = ["predictor", "train", "--supernet", "run"]
    cases += doc_cases("accuracy data", "jsonl", "accuracy", "run/predictor/accuracy.jsonl", "predictor train",
                       default, lines(num(f"{row}.top1", "pct", ["NaN"])), ("predictor",), prepare,
                       output=("run/predictor/predictor.json", "run/predictor/predictor.safetensors",
                               "run/predictor/predictor.png"), tag=" (the run's own file)")
    return cases


# -- search spaces --------------------------------------------------------------------------------

def space_cases() -> list[Case]:
    show = ["spaces", "show", "s.yaml"]
    muts = [
        *num("stem_width", "count", ["0", "5000-digit integer", "3.9", "unicode digits '٣٢'"]),
        *num("stages.0.expands.0", "ratio", ["NaN", "1e30", "1e-30"]),
        *num("stages.0.kernels.0", "count", ["3.9"]),
        raw("stages.0.kernels.0", '"35"', "'35'", "numbers", "stages.0.kernels.0 = '35'"),
        *num("resolutions.0", "count", ["3.9", "unicode digits '٣٢'"]),
        raw("stem_stride", "3", "3", "numbers", "stem_stride = 3 (beyond the stride range)"),
        raw("dropout", "1.5", "1.5", "numbers", "dropout = 1.5"),
        raw("stages.0.depths.0", "100", "100", "numbers", "stages.0.depths.0 = 100 (beyond the depth range)"),
        val("name", f"../../../{ESCAPE}", "paths", label="name = '../../../escaped'"),
        val("name", "two\nlines", "paths", label="name with a newline"),
        delete("stages"),
        Mut("alias bomb under description", "structures", "refuse", lambda d, f, t: _bomb_under(t, "description")),
        *[m for m in whole("yaml") if m.label != "top level a string"],
    ]
    cases = doc_cases("space yaml", "yaml", "space", "s.yaml", "spaces show", show, muts, ("files",))
    sample = ["spaces", "sample", "s.yaml", "-n", "2"]
    cases += doc_cases("space yaml", "yaml", "space", "s.yaml", "spaces sample", sample,
                       num("stages.0.expands.0", "ratio", ["1e30", "1e-30"]), ("files",))
    cost = ["spaces", "cost", "s.yaml", "max"]
    cases += doc_cases("space yaml", "yaml", "space", "s.yaml", "spaces cost", cost,
                       num("stages.0.kernels.0", "count", ["3.9"]), ("files",))
    build = ["latency", "build", "-d", "cpu", "-s", "s.yaml", "-r", "16", "-k", "0", "--num-classes", "3", "-q"]
    cases += doc_cases("space yaml", "yaml", "space", "s.yaml", "latency build", build,
                       [val("name", f"../../../{ESCAPE}", "paths", label="name = '../../../escaped'"),
                        val("name", "two\nlines", "paths", label="name with a newline"),
                        val("name", f"/tmp/{ESCAPE}-abs", "paths", label="name = an absolute path")],
                       ("files",), output=("latency/cpu/sweepspace.json",), tag=" (default --out)")
    return cases


def _bomb_under(text: str, key: str) -> str:
    """The bomb's anchors under unknown keys, then `key` made an alias of its last level."""
    lines = [ln for ln in text.splitlines() if not ln.startswith(f"{key}:")]
    bomb = "".join(f"x-{ln}\n" for ln in ALIAS_BOMB.splitlines())
    return bomb + "\n".join(lines) + f"\n{key}: *i\n"


# -- device profiles ------------------------------------------------------------------------------

def profile_cases() -> list[Case]:
    show = ["devices", "show", "d.yaml"]
    muts = [
        *num("batch_size", "count", ["0", "-1", "3.9", "NaN", "5000-digit integer"]),
        *num("warmup", "count0", ["-1"]),
        *num("iterations", "count0", ["1e30"]),
        raw("rounds", "0", "0", "numbers", "rounds = 0 (a profile needs at least one)"),
        val("backend", "nosuch", "structures", label="backend = 'nosuch'"),
        val("name", f"../../../{ESCAPE}", "paths", label="name = '../../../escaped'"),
        val("name", "two\nlines", "paths", label="name with a newline"),
        val("aliases", "abc", "structures", label="aliases = 'abc' (a string)"),
        *[m for m in whole("yaml") if m.label in ("top level a list", "empty file", "binary garbage",
                                                  "10000-deep nesting", "YAML alias bomb (billion laughs)")],
    ]
    cases = doc_cases("device profile", "yaml", "profile", "d.yaml", "devices show", show, muts, ("files",))
    build = ["latency", "build", "-d", "d.yaml", "-s", "tiny", "-r", "16", "-k", "0", "--num-classes", "3", "-q"]
    cases += doc_cases("device profile", "yaml", "profile", "d.yaml", "latency build", build,
                       [val("name", f"../../../{ESCAPE}", "paths", label="name = '../../../escaped'"),
                        val("name", "two\nlines", "paths", label="name with a newline"),
                        *num("iterations", "count0", ["1e30"]),
                        *num("warmup", "count0", ["1e30"])],
                       ("files",), output=("latency/sweepdev/tiny.json",), tag=" (default --out)")
    return cases


# -- training recipes -----------------------------------------------------------------------------

def recipe_cases() -> list[Case]:
    train = ["train-supernet", "--recipe", "r.yaml", "--out", "new", "-q"]
    out = ("new", ".new.partial")
    muts = [
        *num("batch_size", "count", ["0", "3.9", "NaN"]),
        *num("phases.0.epochs", "count0", ["-1", "3.9", "NaN", "1e30"]),
        *num("phases.0.lr", "rate", ["NaN", "-1"]),
        raw("phases.1.kernels.0", "4", "4", "numbers", "phases.1.kernels.0 = 4 (not in the space)"),
        *num("phases.1.kernels.0", "count", ["3.9"]),
        raw("val_fraction", "1.5", "1.5", "numbers", "val_fraction = 1.5"),
        raw("optimizer", '{"name": "sgd", "momentum": NaN}', "{name: sgd, momentum: .nan}", "numbers",
            "optimizer.momentum = NaN"),
        val("space", f"../../../{ESCAPE}", "paths", label="space = '../../../escaped'"),
        val("data", "imagefolder:/nonexistent/sweep", "paths", label="data = imagefolder of a missing folder"),
        delete("phases"),
        val("nosuch_field", 1, "structures", label="an unknown field"),
        *[m for m in whole("yaml") if m.label in ("top level a list", "empty file", "truncated in the middle",
                                                  "binary garbage", "10000-deep nesting",
                                                  "YAML alias bomb (billion laughs)")],
    ]
    cases = doc_cases("recipe", "yaml", "recipe", "r.yaml", "train-supernet", train, muts, ("recipe",), output=out)
    # --set: each value checked like one in the file
    sets = [("phases.0.epochs=1e30", "numbers"), ("batch_size=٣٢", "numbers"),
            ("phases.9.epochs=1", "options"), ("nosuch=1", "options")]
    for value, cls in sets:
        cases.append(Case(f"recipe --set {value[:40]} [train-supernet]", cls, "train-supernet",
                          ["train-supernet", "--recipe", "@FX/recipe.yaml", "--set", value, "--out", "new", "-q"],
                          None, output=out, needs=("recipe",)))
    return cases


# -- pipelines ------------------------------------------------------------------------------------

def pipeline_cases() -> list[Case]:
    def prepare(ctx: Ctx) -> None:
        ctx.copy(ctx.fx.pipe, "pipe")

    run = ["run", "p.yaml", "--out", "pipe", "-q"]
    out = ("pipe",)
    stage = {"train": 0, "latency": 1, "collect": 2, "predictor": 3, "specialize": 4}

    def s(name: str, key: str) -> str:
        return f"stages.{stage[name]}.{name}.{key}"

    def opt(path: str, value: Any, label: str) -> Mut:
        return val(path, value, "options", label=label)

    muts = [
        *[Mut(f"collect.n = {lab}", "options", expect_for("count", lab),
              lambda d, f, t, r=RAW[lab]: with_raw(d, f, s("collect", "n"), r))
          for lab in ["0", "3.9", "string '12'", "NaN", "unicode digits '٣٢'"]],
        opt(s("collect", "n"), -5, "collect.n = -5"),
        opt(s("predictor", "model"), "gpt", "predictor.model = 'gpt'"),
        opt(s("latency", "device"), "nosuch", "latency.device = 'nosuch'"),
        opt(s("latency", "device"), f"../../../{ESCAPE}", "latency.device = '../../../escaped'"),
        opt(s("latency", "calibrate"), -1, "latency.calibrate = -1"),
        opt(s("latency", "resolutions"), [5], "latency.resolutions = [5]"),
        opt(s("specialize", "latency"), ["abc"], "specialize.latency = ['abc']"),
        opt(s("specialize", "latency"), ["-5%"], "specialize.latency = ['-5%']"),
        opt(s("specialize", "latency"), ["150%"], "specialize.latency = ['150%']"),
        dataclasses.replace(opt(s("specialize", "latency"), "40%", "specialize.latency = '40%' (a string, not a list)"),
                            expect="either"),
        opt(s("specialize", "population"), 1, "specialize.population = 1"),
        opt(s("specialize", "finetune_epochs"), -1, "specialize.finetune_epochs = -1"),
        opt(s("train", "recipe"), "nosuch", "train.recipe = 'nosuch' (stage already complete)"),
        opt(s("train", "set"), {"batch_size": 0}, "train.set = {batch_size: 0} (stage already complete)"),
        val("out", 5, "structures", label="out = 5"),
        val("stages.2", {"nosuch": {}}, "structures", label="an unknown stage"),
        Mut("two collect stages", "structures", "either",
            lambda d, f, t: dump({**d, "stages": d["stages"][:3] + [{"collect": {"n": 60}}] + d["stages"][3:]}, f)),
        *[m for m in whole("yaml") if m.label in ("empty file", "truncated in the middle", "binary garbage",
                                                  "10000-deep nesting", "YAML alias bomb (billion laughs)")],
    ]
    cases = doc_cases("pipeline", "yaml", "pipeline", "p.yaml", "run", run, muts, ("pipe",), prepare, output=out)

    # a stage that fails half-way must leave no staging folder behind
    def no_models(ctx: Ctx) -> None:
        prepare(ctx)
        remove_tree(ctx.path("pipe/models"))

    cases += doc_cases("pipeline", "yaml", "pipeline", "p.yaml", "run", run,
                       [opt(s("specialize", "latency"), ["0.00001ms"], "specialize.latency = ['0.00001ms'] "
                            "(no subnet fits), models not made yet")],
                       ("pipe",), no_models, output=("pipe/models",))
    return cases


# -- subnet files ---------------------------------------------------------------------------------

def subnet_cases() -> list[Case]:
    cases: list[Case] = []
    good = "r16:k3e2,k3e2,k3e2"

    def text_case(label: str, content: str | bytes, cls: str, ext: str = "txt", expect: str = "refuse",
                  command: str = "spaces cost") -> Case:
        name = f"sub.{ext}"
        if command == "spaces cost":
            argv = ["spaces", "cost", "tiny", name, "--num-classes", "3"]
            prepare = None
        else:
            argv = ["evaluate", "--supernet", "run", "--subnet", name]
            prepare = "run"

        def setup(ctx: Ctx) -> None:
            if prepare:
                ctx.run()
            ctx.write(name, content)

        return Case(f"subnet .{ext}: {label} [{command}]", cls, command, argv, setup, expect,
                    needs=("run",) if prepare else ())

    def js(d: Any) -> str:
        return json.dumps(d, ensure_ascii=False)

    base = {"resolution": 16, "depths": [1, 1, 1], "kernels": [[3], [3], [3]], "expands": [[2], [2], [2]]}

    def edit(**kw: Any) -> str:
        return js({**base, **kw})

    cases += [
        text_case("'r٣٢:...' (unicode digits)", "r٣٢:k3e2,k3e2,k3e2\n", "numbers"),
        text_case("'r16:k3e٢,...' (a unicode digit)", "r16:k3e٢,k3e2,k3e2\n", "numbers"),
        text_case("four stages", "r16:k3e2,k3e2,k3e2,k3e2\n", "structures"),
        text_case("a 5000-digit resolution", "r" + "9" * 5000 + ":k3e2,k3e2,k3e2\n", "numbers"),
        text_case("empty file", "", "structures"),
        text_case("binary garbage", GARBAGE, "structures"),
        text_case("NUL byte inside", "r16:k3e2,\0k3e2,k3e2\n", "structures"),
        text_case("two subnets for a one-subnet command", f"{good}\nr24:k3e2,k3e2,k3e2\n", "structures",
                  expect="either"),
        text_case("a line of 100000 blocks", "r16:" + "-".join(["k3e2"] * 100000) + ",k3e2,k3e2\n", "structures"),
        text_case("kernels [[3.9], [3], [3]]", edit(kernels=[[3.9], [3], [3]]), "numbers", "json"),
        text_case("kernels ['35', '3', '3'] (strings)", edit(kernels=["35", "3", "3"], depths=[2, 1, 1],
                                                             expands=[[2, 2], [2], [2]]), "numbers", "json"),
        text_case("resolution '٣٢'", edit(resolution="٣٢"), "numbers", "json"),
        text_case("resolution 16.5", edit(resolution=16.5), "numbers", "json"),
        text_case("resolution NaN", edit(resolution=SENTINEL).replace(js(SENTINEL), "NaN"), "numbers", "json"),
        text_case("resolution a 5000-digit integer", edit(resolution=SENTINEL).replace(js(SENTINEL), "1" * 5000),
                  "numbers", "json"),
        text_case("expands [['2'], [2], [2]]", edit(expands=[["2"], [2], [2]]), "numbers", "json"),
        text_case("depths disagree with kernels", edit(depths=[2, 1, 1]), "structures", "json"),
        text_case("10000-deep nesting", DEEP_JSON, "structures", "json"),
        text_case("a bad line among good ones", f"{js(base)}\n{{\n", "structures", "jsonl"),
        text_case("kernels [[3.9], [3], [3]]", edit(kernels=[[3.9], [3], [3]]), "numbers", "json", command="evaluate"),
        text_case("'r٣٢:...' (unicode digits)", "r٣٢:k3e2,k3e2,k3e2\n", "numbers", command="evaluate"),
    ]
    # subnets given on the command line
    for value, label in (("r٣٢:k3e2,k3e2,k3e2", "'r٣٢:...' (unicode digits)"),
                         ("r" + "9" * 5000 + ":k3e2,k3e2,k3e2", "a 5000-digit resolution")):
        cases.append(Case(f"subnet argument {label} [latency predict]", "numbers", "latency predict",
                          ["latency", "predict", "-d", "cpu", "-s", "tiny", "--table", "@FX/latency/cpu/tiny.json", value],
                          None, needs=("table",)))
    cases.append(Case("subnet argument 'r16:k3e٢,...' (a unicode digit) [export]", "numbers", "export",
                      ["export", "--supernet", "run", "--subnet", "r16:k3e٢,k3e2,k3e2", "--out", "m"],
                      lambda ctx: ctx.run() and None, output=("m",), needs=("run",)))
    return cases


# -- run folders: run.json, the run's recipe, its weights, its metrics -----------------------------

def run_folder_cases() -> list[Case]:
    def prepare(ctx: Ctx) -> None:
        ctx.run()

    evaluate = ["evaluate", "--supernet", "run", "--subnet", "min"]
    muts = [
        val("space", "nosuch", "paths", label="space = 'nosuch'"),
        val("space", f"../../../{ESCAPE}", "paths", label="space = '../../../escaped'"),
        *num("num_classes", "count", ["3.9", "string '12'", "unicode digits '٣٢'"]),
        raw("num_classes", "4", "4", "numbers", "num_classes = 4 (the weights have 3)"),
        val("classes", "abc", "structures", label="classes = 'abc' (a string of 3 letters)"),
        val("space_fingerprint", "0000000000000000", "structures", label="space_fingerprint of another space"),
        delete("space"),
        *[m for m in whole("json") if m.label in ("empty file", "binary garbage", "10000-deep nesting")],
    ]
    cases = doc_cases("run.json", "json", "run.json", "run/run.json", "evaluate", evaluate, muts, ("run",), prepare)
    others = [
        ("predictor collect", ["predictor", "collect", "--supernet", "run", "-n", "2", "-q", "--out", "a.jsonl"],
         ("a.jsonl",)),
        ("export", ["export", "--supernet", "run", "--subnet", "min", "--out", "m"], ("m",)),
        ("search", ["search", "--supernet", "run", "-d", "cpu", *CHEAP_SEARCH, "--out", "out"], ("out",)),
        ("specialize", ["specialize", "--supernet", "run", "-d", "cpu", "-l", "0.1ms", *CHEAP_SPECIALIZE, "--out",
                        "models"], ("models",)),
        ("train-supernet", ["train-supernet", "--init", "run", "--recipe", "transfer", "--data",
                            "imagefolder:@FX/images", "--epochs", "1", "--out", "new", "-q"], ("new", ".new.partial")),
    ]

    def prepare_with_table(ctx: Ctx) -> None:
        ctx.run()
        ctx.table()

    for command, argv, out in others:
        cases += doc_cases("run.json", "json", "run.json", "run/run.json", command, argv,
                           [raw("num_classes", '"3"', "'3'", "numbers", "num_classes = '3' (a string)")],
                           ("predictor", "table"), prepare_with_table, output=out)
    # the run's recipe.yaml (evaluate takes its bn_calib_images)
    cases += doc_cases("run recipe.yaml", "yaml", "run-recipe", "run/recipe.yaml", "evaluate", evaluate,
                       [*num("bn_calib_images", "count", ["0"]),
                        Mut("YAML alias bomb (billion laughs)", "structures", "refuse", lambda d, f, t: ALIAS_BOMB)],
                       ("run",), prepare)

    # the weights
    def weights_case(label: str, cls: str, edit: Callable[[bytes], bytes]) -> Case:
        def setup(ctx: Ctx) -> None:
            p = ctx.run() / "supernet.safetensors"
            p.write_bytes(edit(p.read_bytes()))

        return Case(f"supernet.safetensors: {label} [evaluate]", cls, "evaluate", list(evaluate), setup,
                    needs=("run",))

    def nan_weights(blob: bytes) -> bytes:
        n = int.from_bytes(blob[:8], "little")
        header = json.loads(blob[8:8 + n])
        key = next(k for k, v in header.items() if k != "__metadata__" and v["dtype"] == "F32"
                   and v["data_offsets"][1] - v["data_offsets"][0] >= 4)
        start = 8 + n + header[key]["data_offsets"][0]
        return blob[:start] + b"\x00\x00\xc0\x7f" + blob[start + 4:]

    cases += [
        weights_case("a weight set to NaN", "numbers", nan_weights),
        weights_case("truncated in the middle", "structures", lambda b: b[: len(b) // 2]),
        weights_case("binary garbage", "structures", lambda b: GARBAGE),
    ]

    def metrics_garbage(ctx: Ctx) -> None:
        ctx.copy(ctx.fx.irun, "irun")
        ctx.write("irun/metrics.jsonl", GARBAGE)

    cases.append(Case("metrics.jsonl: binary garbage [train-supernet --resume]", "structures", "train-supernet",
                      ["train-supernet", "--resume", "--out", "irun", "-q"], metrics_garbage, needs=("irun",)))
    return cases


# -- checkpoints (class 5) ------------------------------------------------------------------------

def checkpoint_cases() -> list[Case]:
    resume = ["train-supernet", "--resume", "--out", "irun", "-q"]

    def prepare(ctx: Ctx, keep_prev: bool = False) -> None:
        ctx.copy(ctx.fx.irun, "irun")
        if not keep_prev:
            for p in ctx.path("irun/checkpoints").glob("last.prev*"):
                p.unlink()

    def c(m: Mut) -> Mut:
        return dataclasses.replace(m, cls="checkpoints")

    muts = [c(m) for m in [
        val("files.weights.sha256", "0" * 64, "checkpoints", label="files.weights.sha256 of other bytes"),
        *num("files.weights.bytes", "count", ["-1"]),
        delete("files"),
        *num("state.position.global_step", "count0", ["-1", "1e30", "NaN"]),
        raw("state.position.phase", "99", "99", "numbers", "state.position.phase = 99"),
        raw("state.position.step", "100000", "100000", "numbers", "state.position.step = 100000 (past the epoch)"),
        delete("state.position"),
        raw("state.recipe.batch_size", "16", "16", "checkpoints", "state.recipe.batch_size = 16 (another recipe)"),
        raw("state.rng.numpy.state.pos", "NaN", ".nan", "numbers", "state.rng.numpy.state.pos = NaN"),
        raw("version", "2", "2", "structures", "version = 2"),
        *[m for m in whole("json") if m.label in ("top level a list", "empty file", "binary garbage",
                                                  "10000-deep nesting")],
    ]]
    cases = doc_cases("checkpoints/last.json", "json", "last.json", "irun/checkpoints/last.json", "train-supernet",
                      resume, muts, ("irun",), prepare, output=("irun",), tag=" (no .prev to fall back on)")
    # with the previous checkpoint still there, falling back on it is fine; a crash is not
    cases += doc_cases("checkpoints/last.json", "json", "last.json", "irun/checkpoints/last.json", "train-supernet",
                       resume, [dataclasses.replace(m, expect="either") for m in
                                [c(m) for m in whole("json") if m.label in ("truncated in the middle", "binary garbage")]],
                       ("irun",), lambda ctx: prepare(ctx, keep_prev=True), output=("irun",),
                       tag=" (.prev kept)")

    def tensor_file(label: str, name: str, edit: Callable[[bytes], bytes], fix_manifest: bool = False) -> Case:
        def setup(ctx: Ctx) -> None:
            prepare(ctx)
            p = ctx.path(f"irun/checkpoints/{name}")
            blob = edit(p.read_bytes())
            p.write_bytes(blob)
            if fix_manifest:  # the manifest made to agree with the edited file
                m = json.loads(ctx.path("irun/checkpoints/last.json").read_text())
                key = "weights" if name == "last.safetensors" else "state"
                m["files"][key] = {"bytes": len(blob), "sha256": hashlib.sha256(blob).hexdigest()}
                ctx.write("irun/checkpoints/last.json", json.dumps(m))

        return Case(f"checkpoints/{name}: {label} [train-supernet --resume]", "checkpoints", "train-supernet",
                    list(resume), setup, output=("irun",), needs=("irun",))

    def nan_first(blob: bytes) -> bytes:
        n = int.from_bytes(blob[:8], "little")
        header = json.loads(blob[8:8 + n])
        key = next(k for k, v in header.items() if k != "__metadata__" and v["dtype"] == "F32"
                   and v["data_offsets"][1] - v["data_offsets"][0] >= 4)
        start = 8 + n + header[key]["data_offsets"][0]
        return blob[:start] + b"\x00\x00\xc0\x7f" + blob[start + 4:]

    cases += [
        tensor_file("binary garbage", "last.safetensors", lambda b: GARBAGE),
        tensor_file("a weight NaN, manifest updated to match", "last.safetensors", nan_first, fix_manifest=True),
        tensor_file("binary garbage, manifest updated to match", "last.state.safetensors", lambda b: GARBAGE,
                    fix_manifest=True),
    ]

    # finished runs
    def finished(ctx: Ctx, drop: str | None) -> None:
        ctx.run()
        if drop == "checkpoints":
            remove_tree(ctx.path("run/checkpoints"))
        elif drop == "last":
            for p in ctx.path("run/checkpoints").glob("last.*"):
                if not p.name.startswith("last.prev"):
                    p.unlink()

    fin = ["train-supernet", "--resume", "--out", "run", "-q"]
    cases += [
        Case("finished run, checkpoints/ gone [train-supernet --resume]", "checkpoints", "train-supernet", list(fin),
             lambda ctx: finished(ctx, "checkpoints"), needs=("run",)),
        Case("finished run, checkpoints intact [train-supernet --resume]", "checkpoints", "train-supernet",
             list(fin), lambda ctx: finished(ctx, None), expect="either", needs=("run",),
             note="accepting must leave the finished run's results as they are"),
        Case("finished run, only last.prev left [train-supernet --resume]", "checkpoints", "train-supernet",
             list(fin), lambda ctx: finished(ctx, "last"), expect="either", needs=("run",),
             note="accepting must leave the finished run's results as they are"),
    ]
    return cases


# -- once-for-all-format sources: latency import, predictor import, import-supernet ----------------

def import_cases() -> list[Case]:
    cases: list[Case] = []
    limport = ["latency", "import", "--format", "ofa", "-d", "note10", "-s", "mbv3-w1.2", "src", "--out", "t.json"]
    fname = "src/160_lookup_table.yaml"

    def field(name: str, yaml_raw: str) -> Callable[[Any, str, str], str]:
        return lambda d, f, t: re.sub(rf"(\n  {name}: )[^\n]*", lambda m: m.group(1) + yaml_raw, t, count=1)

    def first_entry_list(d: Any, f: str, t: str) -> str:
        lines = t.splitlines()
        i = next(k for k, ln in enumerate(lines) if ln.startswith("  "))
        j = next(k for k in range(i, len(lines)) if not lines[k].startswith("  "))
        return "\n".join(lines[:i] + ["  - 1", "  - 2"] + lines[j:]) + "\n"

    muts = [
        Mut("first entry mean = NaN", "numbers", "refuse", field("mean", ".nan")),
        Mut("first entry mean = Infinity", "numbers", "refuse", field("mean", ".inf")),
        Mut("first entry mean = a 5000-digit integer", "numbers", "refuse", field("mean", "9" * 5000)),
        Mut("first entry's mean deleted", "structures", "refuse",
            lambda d, f, t: re.sub(r"\n  mean: [^\n]*", "", t, count=1)),
        *[m for m in whole("yaml", truncated="either") if m.label in (
            "empty file", "binary garbage", "10000-deep nesting", "YAML alias bomb (billion laughs)")],
    ]
    cases += doc_cases("ofa lookup table", "yaml", "ofa-table-text", fname, "latency import", limport, muts,
                       ("assets",), output=("t.json",))

    def renamed_table(new: str) -> Callable[[Ctx], None]:
        def setup(ctx: Ctx) -> None:
            ctx.write(f"src/{new}", ctx.fx.doc("ofa-table-text"))
        return setup

    for new, label, cls in (("١٦٠_lookup_table.yaml", "file named '١٦٠_lookup_table.yaml' (unicode digits)", "numbers"),
                            ("99999999999999999999_lookup_table.yaml", "file for 1e20 px", "numbers"),
                            ("notes.txt", "a folder without lookup tables", "structures")):
        cases.append(Case(f"ofa lookup table: {label} [latency import]", cls, "latency import", list(limport),
                          renamed_table(new), output=("t.json",), needs=("assets",)))

    def special_source(kind: str) -> Callable[[Ctx], None]:
        def setup(ctx: Ctx) -> None:
            if kind == "fifo":
                os.mkfifo(ctx.path("src.x"))
            elif kind == "folder":
                ctx.path("src.x").mkdir()
            elif kind == "garbage":
                ctx.write("src.x", GARBAGE)
            elif kind == "empty":
                ctx.write("src.x", b"")
            elif kind == "text":
                ctx.write("src.x", "hello\n")
        return setup

    for kind in ("fifo",):
        cases.append(Case(f"ofa lookup table: source is a {kind} [latency import]", "structures", "latency import",
                          ["latency", "import", "--format", "ofa", "-d", "note10", "-s", "mbv3-w1.2", "src.x",
                           "--out", "t.json"], special_source(kind), output=("t.json",)))

    def imports(what: str, command: str, template: list[str], output: tuple[str, ...], assets) -> None:
        """once-for-all-format files fed to an importing command: each asset, a fifo, /dev/zero."""
        for name, label, cls, expect in assets:
            argv = [a.replace("SRC", f"@FX/assets/{name}") for a in template]
            cases.append(Case(f"{what}: {label} [{command}]", cls, command, argv, None, expect, output=output,
                              needs=("assets",)))
        cases.append(Case(f"{what}: source is a fifo [{command}]", "structures", command,
                          [a.replace("SRC", "src.x") for a in template], special_source("fifo"), output=output))
        cases.append(Case(f"{what}: source is /dev/zero [{command}]", "structures", command,
                          [a.replace("SRC", "/dev/zero") for a in template], None, output=output))

    imports("ofa predictor", "predictor import",
            ["predictor", "import", "--format", "ofa", "SRC", "-s", "mbv3-w1.2", "--out", "p.json"],
            ("p.json", "p.safetensors", "p.png"),
            (("acc-nan.pth", "a weight NaN", "numbers", "refuse"),
             ("acc-huge.pth", "a weight 1e30", "numbers", "refuse"),
             ("acc-complex.pth", "complex64 weights", "numbers", "refuse"),
             ("acc-payload.pth", "a pickle that makes a file", "structures", "refuse"),
             ("acc-truncated.pth", "truncated", "structures", "refuse")))
    imports("ofa checkpoint", "import-supernet", ["import-supernet", "SRC", "-s", "mbv3-w1.2", "--out", "new", "-q"],
            ("new", ".new.partial"),
            (("w12-nan.pth", "a conv weight NaN", "numbers", "refuse"),
             ("w12-shape.pth", "a conv weight one channel short", "structures", "refuse"),
             ("w12-missing.pth", "the classifier weight missing", "structures", "refuse"),
             ("w12-complex.pth", "a conv weight as complex64", "numbers", "refuse"),
             ("w12-payload.pth", "a pickle that makes a file", "structures", "refuse"),
             ("w12-truncated.pth", "truncated", "structures", "refuse")))
    return cases


# -- data sets and list commands ------------------------------------------------------------------

def data_cases() -> list[Case]:
    def images(kind: str) -> Callable[[Ctx], None]:
        def setup(ctx: Ctx) -> None:
            ctx.run()
            if kind == "corrupt":
                for c in range(3):
                    for i in range(3):
                        ctx.write(f"imgs/class{c}/{i}.png", GARBAGE)
            elif kind == "empty-classes":
                for c in range(3):
                    ctx.path(f"imgs/class{c}").mkdir(parents=True)
            elif kind == "seven":
                for c in range(7):
                    ctx.copy(ctx.fx.images / "class0", f"imgs/class{c}")
            elif kind == "loop":
                os.symlink("imgs", ctx.path("imgs.loop"))
                os.symlink("imgs.loop", ctx.path("imgs"))
            elif kind == "file":
                ctx.write("imgs", "a file\n")
            elif kind == "fifo-images":
                for c in range(3):
                    ctx.path(f"imgs/class{c}").mkdir(parents=True)
                    os.mkfifo(ctx.path(f"imgs/class{c}/0.png"))
            elif kind == "emptyroot":
                ctx.path("cifar-root").mkdir()
        return setup

    ev = ["evaluate", "--supernet", "run", "--subnet", "min"]
    cases = [
        Case("data: imagefolder of a missing folder [evaluate]", "paths", "evaluate",
             [*ev, "--data", "imagefolder:/nonexistent/sweep"], images("none"), needs=("run",)),
        Case("data: imagefolder of a file [evaluate]", "paths", "evaluate", [*ev, "--data", "imagefolder:imgs"],
             images("file"), needs=("run",)),
        Case("data: imagefolder of a link loop [evaluate]", "paths", "evaluate", [*ev, "--data", "imagefolder:imgs"],
             images("loop"), needs=("run",)),
        Case("data: class folders without images [evaluate]", "structures", "evaluate",
             [*ev, "--data", "imagefolder:imgs"], images("empty-classes"), needs=("run",)),
        Case("data: images that are garbage [evaluate]", "structures", "evaluate",
             [*ev, "--data", "imagefolder:imgs"], images("corrupt"), needs=("run",)),
        Case("data: images that are fifos [evaluate]", "structures", "evaluate",
             [*ev, "--data", "imagefolder:imgs"], images("fifo-images"), needs=("run",)),
        Case("data: 7 classes for a 3-class run [evaluate]", "structures", "evaluate",
             [*ev, "--data", "imagefolder:imgs"], images("seven"), needs=("run",)),
        Case("data: --calib-data of garbage images [predictor collect]", "structures", "predictor collect",
             ["predictor", "collect", "--supernet", "run", "-n", "2", "-q", "--out", "a.jsonl", "--calib-data",
              "imagefolder:imgs"], images("corrupt"), output=("a.jsonl",), needs=("run",)),
        Case("data: images that are garbage [train-supernet]", "structures", "train-supernet",
             ["train-supernet", "--recipe", "@FX/recipe.yaml", "--data", "imagefolder:imgs", "--out", "new", "-q"],
             images("corrupt"), output=("new", ".new.partial"), needs=("run",)),
        Case("data list: an extra argument [data list]", "options", "data list", ["data", "list", "extra"]),
        Case("data: unknown subcommand [data]", "options", "data", ["data", "nosuch"]),
        Case("spaces list: an extra argument [spaces list]", "options", "spaces list", ["spaces", "list", "extra"]),
        Case("devices list: an extra argument [devices list]", "options", "devices list", ["devices", "list", "x"]),
        Case("devices list: garbage profiles in ./devices [devices list]", "structures", "devices list",
             ["devices", "list"], lambda ctx: ctx.write("devices/bad.yaml", GARBAGE), expect="either"),
    ]
    return cases


# -- options that contradict or vanish (class 7) --------------------------------------------------

def _summary_models(ctx: Ctx, out: str) -> list[dict] | None:
    p = ctx.path(out) / "summary.json"
    try:
        return json.loads(p.read_text())["models"]
    except (OSError, ValueError, KeyError, TypeError):
        return None


def expect_models(out: str, budgets: set[float], distinct: bool = True):
    def check(ctx: Ctx, results: list[dict]) -> tuple[str, str] | None:
        if results[0]["rc"] != 0:
            return None
        models = _summary_models(ctx, out)
        if models is None:
            return "accepted-but-wrong", f"exit 0 but no readable {out}/summary.json"
        got = sorted(float(m.get("budget_ms", "nan")) for m in models)
        folders = {m.get("folder") for m in models}
        if sorted(budgets) != got:
            return "accepted-but-wrong", f"asked for budgets {sorted(budgets)} ms, summary lists {got}"
        if distinct and len(folders) != len(models):
            return "accepted-but-wrong", f"{len(models)} models written to {len(folders)} folder(s): {sorted(folders)}"
        return None
    return check


def option_cases() -> list[Case]:
    def prep(ctx: Ctx) -> None:
        ctx.run()
        ctx.table()

    spec = ["specialize", "--supernet", "run", "-d", "cpu", *CHEAP_SPECIALIZE, "--out", "models"]
    search = ["search", "--supernet", "run", "-d", "cpu", *CHEAP_SEARCH, "--out", "out"]
    export = ["export", "--supernet", "run", "--subnet", "min", "--out", "m"]
    needs = ("predictor", "table")
    mo, so, eo = ("models",), ("out",), ("m",)

    def o(name: str, cmd: str, argv: list[str], out: tuple[str, ...], expect: str = "refuse", check=None,
          cls: str = "options") -> Case:
        return Case(f"option: {name} [{cmd}]", cls, cmd, argv, prep, expect, output=out, needs=needs, check=check)

    cases = [
        o("-l cpu=0.1ms -l cpu=0.12ms (two budgets, one device)", "specialize",
          [*spec, "-l", "cpu=0.1ms", "-l", "cpu=0.12ms"], mo, "either", expect_models("models", {0.1, 0.12})),
        o("-l 0.1ms -l 0.1000001ms (one folder name)", "specialize", [*spec, "-l", "0.1ms", "-l", "0.1000001ms"], mo,
          "either", expect_models("models", {0.1, 0.1000001})),
        o("-l 0.1ms -l 0.1ms (the same budget twice)", "specialize", [*spec, "-l", "0.1ms", "-l", "0.1ms"], mo,
          "either", expect_models("models", {0.1})),
        o("--format ','", "specialize", [*spec, "-l", "0.1ms", "--format", ","], mo),
        o("--format ''", "specialize", [*spec, "-l", "0.1ms", "--format", ""], mo),
        o("-d cpu -d cpu", "specialize", [*spec, "-d", "cpu", "-l", "0.1ms"], mo),
        o("-l 0ms", "specialize", [*spec, "-l", "0ms"], mo, cls="numbers"),
        o("-l nanms", "specialize", [*spec, "-l", "nanms"], mo, cls="numbers"),
        o("-l 1e400ms", "specialize", [*spec, "-l", "1e400ms"], mo, cls="numbers"),
        o("-l '٠.١ms' (unicode digits)", "specialize", [*spec, "-l", "٠.١ms"], mo, cls="numbers"),
        o("--format ','", "export", [*export, "--format", ","], eo),
        o("--format ''", "export", [*export, "--format", ""], eo),
        o("--format onnx,nosuch", "export", [*export, "--format", "onnx,nosuch"], eo),
        o("--precision fp8", "export", [*export, "--precision", "fp8"], eo),
        o("-d cpu -d cpu", "search", [*search, "-d", "cpu"], so),
        o("-d cpu -d local-cpu (an alias of the same device)", "search", [*search, "-d", "local-cpu"], so),
        o("--objectives acc,acc", "search", [*search, "--objectives", "acc,acc"], so),
        o("-l nosuch=0.1ms", "search", [*search, "-l", "nosuch=0.1ms"], so),
        o("--mutation-rate nan", "search", [*search, "--mutation-rate", "nan"], so, cls="numbers"),
        o("--seed 2**64", "search", [*search, "--seed", str(2**64)], so, cls="numbers"),
        o("--seed ٣ (a unicode digit)", "search", [*search, "--seed", "٣"], so, cls="numbers"),
        o("-m gpt", "predictor train", ["predictor", "train", "--supernet", "run", "-m", "gpt", "--out", "p.json"],
          ("p.json", "p.safetensors", "p.png")),
        o("--subnet max --subnet max", "evaluate", ["evaluate", "--supernet", "run", "--subnet", "max", "--subnet",
                                                    "max"], (), "either"),
    ]
    plain = [
        ("--kind nosuch", "spaces sample", ["spaces", "sample", "tiny", "--kind", "nosuch"], "options"),
        ("-n ٣ (a unicode digit)", "spaces sample", ["spaces", "sample", "tiny", "-n", "٣"], "numbers"),
        ("-r ٣٢ (unicode digits)", "latency build", ["latency", "build", "-d", "cpu", "-s", "tiny", "-r", "٣٢", "-k",
                                                     "0", "--num-classes", "3", "-q", "--out", "t.json"], "numbers"),
        ("--epochs ٣ (a unicode digit)", "train-supernet", ["train-supernet", "--recipe", "@FX/recipe.yaml", "--epochs",
                                                            "٣", "--out", "new", "-q"], "numbers"),
    ]
    for name, cmd, argv, cls in plain:
        cases.append(Case(f"option: {name} [{cmd}]", cls, cmd, argv, None,
                          output=("new", ".new.partial", "t.json"), needs=("recipe",)))
    cases.append(Case("option: -r 16 -r 16 [latency build]", "options", "latency build",
                      ["latency", "build", "-d", "cpu", "-s", "tiny", "-r", "16", "-r", "16", "-k", "0",
                       "--num-classes", "3", "-q", "--out", "t.json"], None, "either", output=("t.json",)))
    return cases


# -- outputs: what ofa did not write (class 1) and outputs checked before work (class 6) ---------

@dataclasses.dataclass
class Writer:
    command: str
    argv: Callable[[str], list[str]]           # --out value -> arguments
    prepare: Callable[[Ctx], None] | None
    kind: str                                  # "folder" or "file"
    force: bool                                # has --force
    suffix: str = ""
    needs: tuple[str, ...] = ()


def writers() -> list[Writer]:
    def run_only(ctx: Ctx) -> None:
        ctx.run()

    def run_table(ctx: Ctx) -> None:
        ctx.run()
        ctx.table()

    def src(ctx: Ctx) -> None:
        ctx.copy(ctx.fx.assets / "ofa-tables", "src")

    return [
        Writer("train-supernet", lambda o: ["train-supernet", "--recipe", "@FX/recipe.yaml", "--out", o, "-q"], None,
               "folder", True, needs=("recipe",)),
        Writer("import-supernet", lambda o: ["import-supernet", "@FX/assets/w12.pth", "-s", "mbv3-w1.2", "--out", o,
                                             "-q"], None, "folder", True, needs=("assets",)),
        Writer("export", lambda o: ["export", "--supernet", "run", "--subnet", "min", "--out", o], run_only, "folder",
               True, needs=("run",)),
        Writer("specialize", lambda o: ["specialize", "--supernet", "run", "-d", "cpu", "-l", "0.1ms",
                                        *CHEAP_SPECIALIZE, "--out", o], run_table, "folder", True,
               needs=("predictor", "table")),
        Writer("search", lambda o: ["search", "--supernet", "run", "-d", "cpu", "-l", "0.1ms", *CHEAP_SEARCH,
                                    "--out", o], run_table, "folder", False, needs=("predictor", "table")),
        Writer("latency validate", lambda o: ["latency", "validate", "-d", "cpu", "-s", "tiny", "--table",
                                              "@FX/latency/cpu/tiny.json", "-n", "2", "-q", "--out", o], None,
               "folder", False, needs=("table",)),
        Writer("run", lambda o: ["run", "@FX/sweep.pipeline.yaml", "--out", o, "-q"], None, "folder", False,
               needs=("pipe",)),
        Writer("latency build", lambda o: ["latency", "build", "-d", "cpu", "-s", "tiny", "-r", "16", "-k", "0",
                                           "--num-classes", "3", "-q", "--out", o], None, "file", True, ".json"),
        Writer("latency import", lambda o: ["latency", "import", "--format", "ofa", "-d", "note10", "-s", "mbv3-w1.2",
                                            "src", "--out", o], src, "file", True, ".json", needs=("assets",)),
        Writer("predictor collect", lambda o: ["predictor", "collect", "--supernet", "run", "-n", "3", "-q", "--out",
                                               o], run_only, "file", False, ".jsonl", needs=("run",)),
        Writer("predictor train", lambda o: ["predictor", "train", "--supernet", "run", "--out", o], run_only, "file",
               False, ".json", needs=("predictor",)),
        Writer("predictor import", lambda o: ["predictor", "import", "--format", "ofa", "@FX/assets/acc.pth", "-s",
                                              "mbv3-w1.2", "--out", o], None, "file", True, ".json",
               needs=("assets",)),
    ]


def output_cases() -> list[Case]:
    cases: list[Case] = []
    # which writers get which of the rarer variants (every writer gets a link to a user file, a device
    # node and a fifo as --out); the rest keep the sweep near its time budget
    read_only = {"train-supernet", "export", "specialize", "search", "latency build", "predictor train"}
    under_file = {"export", "run", "latency build"}
    loop_out = {"export", "search"}
    dangling = {"train-supernet"}
    long_name = {"export"}
    user_dir_force = {"train-supernet", "export", "specialize"}
    partial_named = {"train-supernet"}
    beside_partial = {"train-supernet", "export"}
    user_file_out = {"latency build", "predictor train", "predictor import"}
    user_dir_file = {"latency build", "predictor train", "predictor import"}
    for w in writers():
        def mk(label: str, cls: str, out: str, make: Callable[[Ctx], None] | None, extra: tuple[str, ...] = (),
               expect: str = "refuse", drop: bool = False, output: tuple[str, ...] = (), w: Writer = w) -> Case:
            def setup(ctx: Ctx) -> None:
                if w.prepare:
                    w.prepare(ctx)
                if make:
                    make(ctx)
            return Case(f"--out {label} [{w.command}]", cls, w.command, [*w.argv(out), *extra], setup, expect,
                        output=output, needs=w.needs, drop_caps=drop)

        sfx = w.suffix
        o = "o" + sfx

        def user_file(ctx: Ctx) -> None:
            ctx.write("user.txt", "the user's own file\n")

        def link(target: str, before: Callable[[Ctx], None] | None = None, name: str = o):
            def make(ctx: Ctx) -> None:
                if before:
                    before(ctx)
                os.symlink(target, ctx.path(name))
            return make

        def loop(ctx: Ctx) -> None:
            os.symlink("loop2", ctx.path("loop1"))
            os.symlink("loop1", ctx.path("loop2"))

        def node(ctx: Ctx, name: str = o) -> None:
            os.mknod(ctx.path(name), 0o666 | stat.S_IFCHR, os.makedev(1, 3))

        def fifo(ctx: Ctx, name: str = o) -> None:
            os.mkfifo(ctx.path(name))

        def ro_folder(ctx: Ctx) -> None:
            d = ctx.path("ro")
            d.mkdir()
            (d / "keep.txt").write_text("a file in a read-only folder\n")
            os.chmod(d, 0o555)

        def afile(ctx: Ctx) -> None:
            ctx.write("afile", "a file\n")

        def user_dir(name: str) -> Callable[[Ctx], None]:
            return lambda ctx: ctx.user_folder(name) and None

        force = ("--force",) if w.force else ()
        c = w.command
        cases += [
            mk("a link to a user file", "destroy", o, link("user.txt", before=user_file)),
            mk("a device node (a copy of /dev/null)", "destroy", o, node),
            mk("a fifo", "destroy", o, fifo),
        ]
        if c in read_only:
            cases.append(mk("in a read-only folder (no DAC override)", "output-before-work", "ro/x" + sfx, ro_folder,
                            drop=True))
        if c in under_file:
            cases.append(mk("under a file", "output-before-work", "afile/x" + sfx, afile))
        if c in loop_out:
            cases.append(mk("a link loop", "destroy", "loop1", loop))
        if c in dangling:
            cases.append(mk("a dangling link", "destroy", o, link("nowhere/at/all" + sfx)))
        if c in long_name:
            cases.append(mk("of 300 characters", "output-before-work", "o" * 300 + sfx, None))
        if w.kind == "folder":
            cases.append(mk("an existing folder of user files", "destroy", "userdir", user_dir("userdir")))
            if c in user_dir_force:
                cases.append(mk("an existing folder of user files, --force", "destroy", "userdir", user_dir("userdir"),
                                force))
            if c in partial_named:
                cases.append(mk("a user folder named photos.partial, --force", "destroy", "photos.partial",
                                user_dir("photos.partial"), force))
            if c in beside_partial:
                cases.append(mk("a new folder beside a user folder named .o.partial", "destroy", "o",
                                user_dir(".o.partial"), expect="either", output=("o",)))
        else:
            if c in user_dir_file:
                cases.append(mk("an existing folder of user files", "destroy", "userdir", user_dir("userdir"), force))
            if c in user_file_out:
                cases.append(mk("an existing user file" + (", --force" if force else ""), "destroy", "user.txt",
                                user_file, force))

    # outputs of another kind (class 1): ofa's own folders replaced only by their own kind
    def with_run(ctx: Ctx) -> None:
        ctx.run()
        ctx.table()

    def with_export(ctx: Ctx) -> None:
        ctx.run()
        ctx.copy(ctx.fx.export_min, "exported")

    other = [
        ("export --out RUN --force (a supernet run)", "export",
         ["export", "--supernet", "run", "--subnet", "min", "--out", "run", "--force"], with_run, ("run",)),
        ("specialize --out RUN --force (a supernet run)", "specialize",
         ["specialize", "--supernet", "run", "-d", "cpu", "-l", "0.1ms", *CHEAP_SPECIALIZE, "--out", "run", "--force"],
         with_run, ("predictor", "table")),
        ("search --out RUN (a supernet run)", "search",
         ["search", "--supernet", "run", "-d", "cpu", "-l", "0.1ms", *CHEAP_SEARCH, "--out", "run"], with_run,
         ("predictor", "table")),
        ("train-supernet --out EXPORT --force (an exported model)", "train-supernet",
         ["train-supernet", "--recipe", "@FX/recipe.yaml", "--out", "exported", "--force", "-q"], with_export,
         ("exports",)),
        ("latency build --out RUN/run.json --force", "latency build",
         ["latency", "build", "-d", "cpu", "-s", "tiny", "-r", "16", "-k", "0", "--num-classes", "3", "-q", "--out",
          "run/run.json", "--force"], with_run, ("run",)),
        ("predictor import --out RUN/run.json --force", "predictor import",
         ["predictor", "import", "--format", "ofa", "@FX/assets/acc.pth", "-s", "mbv3-w1.2", "--out", "run/run.json",
          "--force"], with_run, ("run", "assets")),
    ]
    for label, cmd, argv, prepare, needs in other:
        cases.append(Case(f"--out of another kind: {label} [{cmd}]", "destroy", cmd, argv, prepare, needs=needs))

    # default outputs inside a read-only run (class 6), without DAC override
    def read_only_run(ctx: Ctx) -> None:
        run = ctx.run()
        ctx.table()
        for dirpath, dirnames, filenames in os.walk(run):
            for f in filenames:
                os.chmod(os.path.join(dirpath, f), 0o444)
        for dirpath, dirnames, filenames in sorted(os.walk(run), key=lambda x: -len(x[0])):
            os.chmod(dirpath, 0o555)

    def read_only_cwd(ctx: Ctx) -> None:
        ctx.copy(ctx.fx.table, "t.json")
        os.chmod(ctx.cwd, 0o555)

    ro = [
        ("search (default --out RUN/search)", "search", ["search", "--supernet", "run", "-d", "cpu", "-l", "0.1ms",
                                                         *CHEAP_SEARCH], read_only_run),
        ("predictor collect -n 62 (default RUN/predictor/accuracy.jsonl)", "predictor collect",
         ["predictor", "collect", "--supernet", "run", "-n", "62", "-q"], read_only_run),
        ("predictor train (default RUN/predictor/predictor.json)", "predictor train",
         ["predictor", "train", "--supernet", "run"], read_only_run),
        ("specialize (default RUN/specialized)", "specialize",
         ["specialize", "--supernet", "run", "-d", "cpu", "-l", "0.1ms", *CHEAP_SPECIALIZE], read_only_run),
        ("latency calibrate in a read-only working folder", "latency calibrate",
         ["latency", "calibrate", "-d", "cpu", "-s", "tiny", "--table", "t.json", "-n", "2", "-q"], read_only_cwd),
    ]
    for label, cmd, argv, prepare in ro:
        cases.append(Case(f"default output in a read-only run: {label} [{cmd}]", "output-before-work", cmd, argv,
                          prepare, needs=("predictor", "table"), drop_caps=True))
    return cases


# -- two writers of one output at once (class 1) -------------------------------------------------

def _tree(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): sha256_file(str(p)) for p in sorted(folder.rglob("*")) if p.is_file()}


def check_exports(out: str, force: bool):
    def check(ctx: Ctx, results: list[dict]) -> tuple[str, str] | None:
        ok = [i for i, r in enumerate(results) if r["rc"] == 0]
        if none_wrote(results):
            return NONE_WROTE
        if len(ok) == 2 and not force:
            return "accepted-but-wrong", "both writers reported success on one --out, neither with --force"
        folder = ctx.path(out)
        if not folder.is_dir():
            return "file damage", f"a writer reported success but {out}/ is not there"
        refs = ctx.fx.doc("exports")
        files = _tree(folder)
        whole_of = [name for name in ("min", "max")
                    if set(files) == set(refs[name]) and all(files.get(k) == refs[name][k] for k in refs["stable"])]
        if not whole_of:
            diff = sorted(set(files) ^ set(refs["min"]))
            return "file damage", f"{out}/ is neither whole export (files {sorted(files)}; differs from min in {diff})"
        winner = {"min": 0, "max": 1}[whole_of[0]]
        if winner not in ok:
            return "file damage", f"{out}/ holds the export of the writer that refused"
        return None
    return check


def check_specialize(out: str, budgets: list[float]):
    def check(ctx: Ctx, results: list[dict]) -> tuple[str, str] | None:
        ok = [i for i, r in enumerate(results) if r["rc"] == 0]
        if none_wrote(results):
            return NONE_WROTE
        if len(ok) == 2:
            return "accepted-but-wrong", "both writers reported success on one --out, neither with --force"
        models = _summary_models(ctx, out)
        if models is None:
            return "file damage", f"a writer reported success but {out}/summary.json is not readable"
        got = sorted(float(m.get("budget_ms", "nan")) for m in models)
        if got != [budgets[ok[0]]]:
            return "file damage", f"summary lists budgets {got}, the writer that succeeded asked for {budgets[ok[0]]}"
        listed = {Path(m.get("folder", "")).name for m in models}
        present = {p.name for p in ctx.path(out).iterdir() if p.is_dir()}
        if present != listed:
            return "file damage", f"model folders {sorted(present)} but summary lists {sorted(listed)}"
        for m in models:
            card = ctx.path(out) / Path(m["folder"]).name / "card.json"
            try:
                subnet = json.loads(card.read_text()).get("subnet")
            except (OSError, ValueError):
                return "file damage", f"{card.relative_to(ctx.cwd)} missing or unreadable"
            if subnet != m.get("subnet"):
                return "file damage", f"card says {subnet}, summary says {m.get('subnet')}"
        return None
    return check


NONE_WROTE = ("accepted-but-wrong", "both writers refused: neither wrote the output")


def none_wrote(results: list[dict]) -> bool:
    return not any(r["rc"] == 0 for r in results)


def check_train(out: str):
    def check(ctx: Ctx, results: list[dict]) -> tuple[str, str] | None:
        ok = [i for i, r in enumerate(results) if r["rc"] == 0]
        if none_wrote(results):
            return NONE_WROTE
        if len(ok) == 2:
            return "accepted-but-wrong", "both writers reported success on one --out, neither with --force"
        folder = ctx.path(out)
        need = ("run.json", "recipe.yaml", "supernet.safetensors", "metrics.jsonl")
        missing = [n for n in need if not (folder / n).is_file()]
        if missing:
            return "file damage", f"the run folder lacks {missing}"
        return None
    return check


def check_predictor(out: str):
    def check(ctx: Ctx, results: list[dict]) -> tuple[str, str] | None:
        if none_wrote(results):
            return NONE_WROTE
        try:
            kind = json.loads(ctx.path(out).read_text())["kind"]
            from safetensors.numpy import load_file

            names = set(load_file(str(ctx.path(out).with_suffix(".safetensors"))))
        except Exception as e:  # noqa: BLE001 (any failure to read it back is the finding)
            return "file damage", f"{out} or its tensors unreadable after two writers: {type(e).__name__}: {e}"
        trees = "left" in names
        if (kind == "trees") != trees:
            return "file damage", f"{out} says kind {kind!r} but its tensors are a {'trees' if trees else 'mlp'} model's"
        return None
    return check


def check_table(out: str):
    def check(ctx: Ctx, results: list[dict]) -> tuple[str, str] | None:
        if none_wrote(results):
            return NONE_WROTE
        try:
            entries = json.loads(ctx.path(out).read_text())["entries"]
        except Exception as e:  # noqa: BLE001
            return "file damage", f"{out} unreadable after two writers: {type(e).__name__}"
        return None if entries else ("file damage", f"{out} has no entries")
    return check


def concurrent_cases() -> list[Case]:
    def run_only(ctx: Ctx) -> None:
        ctx.run()

    def run_table(ctx: Ctx) -> None:
        ctx.run()
        ctx.table()

    def run_export(ctx: Ctx) -> None:
        ctx.run()
        ctx.copy(ctx.fx.export_min, "m")

    ex = lambda sub, *x: ["export", "--supernet", "run", "--subnet", sub, "--out", "m", *x]
    sp = lambda b: ["specialize", "--supernet", "run", "-d", "cpu", "-l", b, *CHEAP_SPECIALIZE, "--out", "models"]
    tr = ["train-supernet", "--recipe", "@FX/recipe.yaml", "--out", "new", "-q"]
    pt = lambda m: ["predictor", "train", "--supernet", "run", "-m", m, "--out", "p.json"]
    lb = ["latency", "build", "-d", "cpu", "-s", "tiny", "-r", "16", "-k", "0", "--num-classes", "3", "-q", "--out",
          "t.json"]
    return [
        Case("two writers at once: export min and export max to one new --out [export]", "destroy", "export", None,
             run_only, "either", output=("m",), needs=("exports",), procs=[ex("min"), ex("max")],
             check=check_exports("m", False)),
        Case("two writers at once: export --force min and max over an export [export]", "destroy", "export", None,
             run_export, "either", output=("m",), needs=("exports",), procs=[ex("min", "--force"), ex("max", "--force")],
             check=check_exports("m", True)),
        Case("two writers at once: specialize 0.1ms and 0.12ms to one new --out [specialize]", "destroy",
             "specialize", None, run_table, "either", output=("models",), needs=("predictor", "table"),
             procs=[sp("0.1ms"), sp("0.12ms")], check=check_specialize("models", [0.1, 0.12])),
        Case("two writers at once: train-supernet to one new --out [train-supernet]", "destroy", "train-supernet",
             None, None, "either", output=("new",), needs=("recipe",), procs=[tr, tr], check=check_train("new")),
        Case("two writers at once: predictor train trees and mlp to one --out [predictor train]", "destroy",
             "predictor train", None, run_only, "either", output=("p.json", "p.safetensors", "p.png"),
             needs=("predictor",), procs=[pt("trees"), pt("mlp")], check=check_predictor("p.json")),
        Case("two writers at once: latency build to one --out [latency build]", "destroy", "latency build", None,
             None, "either", output=("t.json",), procs=[lb, lb], check=check_table("t.json")),
    ]


def all_cases() -> list[Case]:
    cases = (table_cases() + predictor_cases() + accuracy_cases() + space_cases() + profile_cases()
             + recipe_cases() + pipeline_cases() + subnet_cases() + run_folder_cases() + checkpoint_cases()
             + import_cases() + data_cases() + option_cases() + output_cases() + concurrent_cases())
    seen: dict[str, int] = {}
    for c in cases:  # names are the handle for --only: keep them unique
        if c.name in seen:
            seen[c.name] += 1
            c.name = f"{c.name} #{seen[c.name]}"
        else:
            seen[c.name] = 1
        assert c.cls in CLASSES, c
    return cases


def control_cases() -> list[Case]:
    """Unmutated fixtures through the same commands: each must be accepted (exit 0), or the
    mutations of that kind say nothing."""
    def run_table(ctx: Ctx) -> None:
        ctx.run()
        ctx.table()

    def pipe(ctx: Ctx) -> None:
        ctx.copy(ctx.fx.pipe, "pipe")
        ctx.copy(ctx.fx.pipeline, "p.yaml")

    def irun(ctx: Ctx) -> None:
        ctx.copy(ctx.fx.irun, "irun")

    c = [
        ("table", ["latency", "predict", "-d", "cpu", "-s", "tiny", "--table", "@FX/latency/cpu/tiny.json", "max",
                   "min"], None),
        ("predictor", ["predictor", "show", "--predictor", "run/predictor/predictor.json"], lambda ctx: ctx.run()),
        ("search", ["search", "--supernet", "run", "-d", "cpu", "-l", "0.1ms", *CHEAP_SEARCH, "--out", "out"],
         run_table),
        ("accuracy", ["predictor", "train", "--supernet", "run", "--accuracy-data", "run/predictor/accuracy.jsonl", "--out",
                      "p.json"], lambda ctx: ctx.run()),
        ("space", ["spaces", "show", "@FX/sweepspace.yaml"], None),
        ("profile", ["devices", "show", "@FX/sweepdev.yaml"], None),
        ("recipe", ["train-supernet", "--recipe", "@FX/recipe.yaml", "--out", "new", "-q"], None),
        ("pipeline", ["run", "p.yaml", "--out", "pipe", "-q"], pipe),
        ("run.json", ["evaluate", "--supernet", "run", "--subnet", "min"], lambda ctx: ctx.run()),
        ("resume", ["train-supernet", "--resume", "--out", "irun", "-q"], irun),
        ("export", ["export", "--supernet", "run", "--subnet", "min", "--out", "m"], lambda ctx: ctx.run()),
        ("specialize", ["specialize", "--supernet", "run", "-d", "cpu", "-l", "0.1ms", *CHEAP_SPECIALIZE, "--out",
                        "models"], run_table),
        ("latency import", ["latency", "import", "--format", "ofa", "-d", "note10", "-s", "mbv3-w1.2",
                            "@FX/assets/ofa-tables", "--out", "t.json"], None),
        ("predictor import", ["predictor", "import", "--format", "ofa", "@FX/assets/acc.pth", "-s", "mbv3-w1.2",
                              "--out", "p.json"], None),
        ("import-supernet", ["import-supernet", "@FX/assets/w12.pth", "-s", "mbv3-w1.2", "--out", "new", "-q"], None),
        ("latency build", ["latency", "build", "-d", "cpu", "-s", "tiny", "-r", "16", "-k", "0", "--num-classes", "3",
                           "-q", "--out", "t.json"], None),
    ]
    return [Case(f"control: {name}", "structures", argv[0], argv, setup, "either", output=("*", ".*"),
                 needs=("predictor", "table", "irun", "pipe", "assets", "exports")) for name, argv, setup in c]


# ----------------------------------------------------------------------------------------------
# running and classifying


def setpriv_works() -> bool:
    if shutil.which("setpriv") is None:
        return False
    try:
        r = subprocess.run([*SETPRIV, "true"], capture_output=True, timeout=10, check=False)
    except (OSError, subprocess.SubprocessError):
        return False
    return r.returncode == 0


class Runner:
    def __init__(self, work: Path, fx: Fixtures, python: str, env: dict[str, str], timeout: float, mem_gb: float):
        self.work = work
        self.fx = fx
        self.python = python
        self.env = env
        self.timeout = timeout
        self.mem = int(mem_gb * (1 << 30))
        self.root_user = os.geteuid() == 0
        self.setpriv = setpriv_works() if self.root_user else False
        self.logs = work / "logs"
        self.logs.mkdir(parents=True, exist_ok=True)
        self.lock = threading.Lock()

    def _limit(self) -> None:
        if self.mem > 0:
            resource.setrlimit(resource.RLIMIT_AS, (self.mem, self.mem))

    def sub(self, a: str) -> str:
        return a.replace("@FX", str(self.fx.root))

    def escapes(self) -> set[str]:
        found: set[str] = set()
        for d in (self.work, self.work / "cases", Path("/tmp"), REPO, REPO / "latency", REPO / "devices"):
            try:
                found.update(str(p) for p in d.glob(f"*{ESCAPE}*"))
            except OSError:
                pass
        return found

    def run(self, case: Case) -> dict:
        root = self.work / "cases" / slug(case.name)
        record: dict[str, Any] = {"name": case.name, "class": case.cls, "command": case.command, "expect": case.expect,
                                  "argv": [[self.sub(a) for a in argv] for argv in case.argvs], "folder": str(root)}
        missing = [n for n in case.needs if not self.fx.have(n)]
        if missing:
            return {**record, "outcome": "skipped", "detail": f"fixture(s) not built: {', '.join(missing)}"}
        if case.drop_caps and self.root_user and not self.setpriv:
            return {**record, "outcome": "skipped", "detail": "running as root without a working setpriv: a "
                                                              "read-only folder would stop nothing"}
        remove_tree(root)
        ctx = Ctx(root, self.fx)
        ctx.cwd.mkdir(parents=True)
        try:
            if case.setup:
                case.setup(ctx)
        except Exception as e:  # noqa: BLE001 (a case that cannot be set up here is skipped, with why)
            return {**record, "outcome": "skipped", "detail": f"setup failed: {type(e).__name__}: {e}"}
        tops = [root, self.fx.root, *(REPO / d for d in WATCH_REPO)]
        with self.lock:
            escapes_before = self.escapes()
        before = snapshot(tops)
        start = time.monotonic()
        results = self.launch(case, ctx)
        seconds = time.monotonic() - start
        after = snapshot(tops)
        with self.lock:
            escaped = sorted(self.escapes() - escapes_before)
            for p in escaped:  # remove them so that the next case starts clean
                remove_tree(Path(p))
        outcome, detail, changes = classify(case, ctx, results, before, after, escaped)
        make_writable(root)
        last = ""
        for r in results:
            lines = [ln for ln in r["stderr"].splitlines() if ln.strip()]
            if lines:
                last = lines[-1]
        return {**record, "outcome": outcome, "detail": detail, "seconds": round(seconds, 1),
                "exit": [r["rc"] for r in results], "timed_out": [r["timed_out"] for r in results],
                "last_stderr_line": last[:500], "stderr_tail": [r["stderr"][-3000:] for r in results], **changes}

    def launch(self, case: Case, ctx: Ctx) -> list[dict]:
        procs = []
        name = slug(case.name)
        for i, argv in enumerate(case.argvs):
            cmd = [self.python, "-m", "ofa", *[self.sub(a) for a in argv]]
            if case.drop_caps and self.root_user:
                cmd = [*SETPRIV, *cmd]
            # files, not pipes: two writers at once never block on a full pipe; closed below
            out = open(self.logs / f"{name}.{i}.out", "w+b")  # noqa: SIM115
            err = open(self.logs / f"{name}.{i}.err", "w+b")  # noqa: SIM115
            # preexec_fn only calls setrlimit (async-signal-safe enough for --jobs > 1)
            p = subprocess.Popen(cmd, cwd=ctx.cwd, env=self.env, stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                                 start_new_session=True, preexec_fn=self._limit)  # noqa: PLW1509
            procs.append((p, out, err))
        deadline = time.monotonic() + self.timeout
        results = []
        for p, out, err in procs:
            timed_out = False
            try:
                p.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                timed_out = True
            try:  # the whole process group: loader workers, anything it started
                os.killpg(p.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            p.wait()
            texts = []
            for f in (out, err):
                f.seek(0)
                texts.append(f.read().decode("utf-8", "replace"))
                f.close()
            results.append({"rc": p.returncode, "timed_out": timed_out, "stdout": texts[0], "stderr": texts[1],
                            "timeout": self.timeout})
        return results


def _topmost(paths: list[str]) -> list[str]:
    out: list[str] = []
    for p in sorted(paths):
        if not any(p.startswith(q + "/") for q in out):
            out.append(p)
    return out


def classify(case: Case, ctx: Ctx, results: list[dict], before: dict, after: dict,
             escaped: list[str]) -> tuple[str, str, dict]:
    def rel_cwd(p: str) -> str:
        return os.path.relpath(p, ctx.cwd)

    def shown(p: str) -> str:
        if p.startswith(str(ctx.root) + "/"):
            return rel_cwd(p)
        if p.startswith(str(ctx.fx.root) + "/"):
            return "FIXTURES/" + os.path.relpath(p, ctx.fx.root)
        return p

    accepted = any(r["rc"] == 0 for r in results)
    damaged, created, output_touched = [], [], []
    for path, rec in before.items():
        inside = path.startswith(str(ctx.cwd) + "/")
        if path not in after:
            what = f"{shown(path)} removed"
        elif after[path] != rec:
            what = f"{shown(path)} {describe_change(rec, after[path])}"
        else:
            continue
        if inside and matches(rel_cwd(path), case.output):
            output_touched.append(what)
        else:
            damaged.append(what)
    for path in after.keys() - before.keys():
        inside = path.startswith(str(ctx.cwd) + "/")
        if inside and matches(rel_cwd(path), case.allowed):
            continue
        if inside and matches(rel_cwd(path), case.output):
            output_touched.append(path)
        else:
            created.append(path)
    created = [shown(p) for p in _topmost(created)] + [f"{p} (outside the case folder)" for p in escaped]
    output_touched = [shown(p) if p.startswith("/") else p for p in _topmost(output_touched)]
    damaged = _topmost(damaged)
    changes = {"damaged": damaged[:50], "created": created[:50], "output_written": output_touched[:50]}

    problems = []
    for i, r in enumerate(results):
        who = f"writer {i + 1}: " if len(results) > 1 else ""
        lines = [ln for ln in r["stderr"].splitlines() if ln.strip()]
        last = lines[-1][:300] if lines else "(no stderr)"
        if "Traceback" in r["stderr"]:
            kind = next((ln for ln in reversed(lines) if re.match(r"^[A-Za-z_.]+(Error|Exception|Exit)\b", ln)), last)
            problems.append(f"{who}Traceback, exit {r['rc']}: {kind[:300]}")
        elif r["rc"] not in (0, 2) and not r["timed_out"]:
            problems.append(f"{who}exit {r['rc']}: {last}")
        elif r["rc"] == 2 and (len(lines) != 1 or not lines[0].startswith("ofa: error:")):
            problems.append(f"{who}exit 2 with {len(lines)} stderr line(s), last: {last}")

    if any(r["timed_out"] for r in results):
        return "hang", f"still running after {results[0]['timeout']:.0f} s; killed", changes
    if damaged:
        return "file damage", "changed what it did not write: " + "; ".join(damaged[:4]), changes
    if created:
        return "file damage", "created outside what the case allows: " + ", ".join(created[:4]), changes
    if problems:
        return "traceback", " | ".join(problems), changes
    if accepted and case.expect == "refuse":
        wrote = f" (wrote {', '.join(output_touched[:3])})" if output_touched else ""
        return "accepted-but-wrong", f"exit 0{wrote}", changes
    if output_touched and not accepted:
        return "file damage", "refused, yet left or changed: " + ", ".join(output_touched[:4]), changes
    if case.check:
        verdict = case.check(ctx, results)
        if verdict:
            return verdict[0], verdict[1], changes
    return "clean", "accepted" if accepted else "refused", changes


# ----------------------------------------------------------------------------------------------
# reporting


def table(rows: list[str], cols: list[str], cell: Callable[[str, str], int], title: str) -> str:
    width = max([len(title)] + [len(r) for r in rows]) + 2
    colw = [max(len(c), 5) + 2 for c in cols]
    lines = [title.ljust(width) + "".join(c.rjust(w) for c, w in zip(cols, colw)) + "total".rjust(8)]
    totals = [0] * len(cols)
    for r in rows:
        vals = [cell(r, c) for c in cols]
        totals = [t + v for t, v in zip(totals, vals)]
        lines.append(r.ljust(width) + "".join(str(v).rjust(w) for v, w in zip(vals, colw)) + str(sum(vals)).rjust(8))
    lines.append("total".ljust(width) + "".join(str(v).rjust(w) for v, w in zip(totals, colw))
                 + str(sum(totals)).rjust(8))
    return "\n".join(lines)


def report(records: list[dict], controls: list[dict], notes: dict[str, str]) -> str:
    done = [r for r in records if r["outcome"] != "skipped"]
    skipped = [r for r in records if r["outcome"] == "skipped"]
    out = []
    if notes:
        out.append("fixture notes:")
        out += [f"  {k}: {v}" for k, v in notes.items()]
    bad_controls = [c for c in controls if c["outcome"] != "clean" or c.get("exit") != [0]]
    if controls:
        out.append(f"controls (unmutated fixtures, must be accepted): {len(controls) - len(bad_controls)} of "
                   f"{len(controls)} accepted")
        for c in bad_controls:
            out.append(f"  CONTROL FAILED {c['name']}: {c['outcome']}, exit {c.get('exit')}: "
                       f"{c.get('last_stderr_line', c.get('detail', ''))}")
    count = lambda key, val, o: sum(1 for r in done if r[key] == val and r["outcome"] == o)
    out.append("")
    out.append(table([c for c in CLASSES if any(r["class"] == c for r in done)], list(OUTCOMES),
                     lambda row, col: count("class", row, col), "class"))
    out.append("")
    commands = sorted({r["command"] for r in done})
    out.append(table(commands, list(OUTCOMES), lambda row, col: count("command", row, col), "command"))
    if skipped:
        out.append("")
        out.append(f"skipped {len(skipped)}:")
        out += [f"  {r['name']}: {r['detail']}" for r in skipped]
    bad = [r for r in done if r["outcome"] != "clean"]
    if bad:
        out.append("")
        out.append(f"not clean: {len(bad)}")
        for o in OUTCOMES[1:]:
            group = [r for r in bad if r["outcome"] == o]
            if not group:
                continue
            out.append(f"== {o} ({len(group)})")
            for r in sorted(group, key=lambda r: (r["class"], r["name"])):
                argv = " ; ".join("ofa " + " ".join(shlex.quote(a if len(a) < 120 else a[:60] + "..." + a[-20:])
                                                    for a in argv) for argv in r["argv"])
                out.append(f"- [{r['class']}] {r['name']}")
                out.append(f"    {r['detail'][:400]}")
                out.append(f"    $ {argv}")
                if r.get("last_stderr_line") and r["last_stderr_line"] not in r["detail"]:
                    out.append(f"    stderr: {r['last_stderr_line'][:300]}")
    return "\n".join(out)


def select(cases: list[Case], only: str | None, classes: list[str] | None) -> list[Case]:
    if classes:
        cases = [c for c in cases if c.cls in classes]
    if not only:
        return cases
    pats = [p.strip().lower() for p in only.split(",") if p.strip()]

    def hit(name: str) -> bool:
        n = name.lower()
        return any(fnmatch.fnmatchcase(n, p) if any(ch in p for ch in "*?") else p in n for p in pats)
    return [c for c in cases if hit(c.name)]


def tree_state() -> dict[str, Any]:
    def git(*a: str) -> str:
        try:
            return subprocess.run(["git", "--no-optional-locks", "-C", str(REPO), *a], capture_output=True,
                                  text=True, timeout=30, check=False).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            return ""
    status = git("status", "--porcelain")
    return {"commit": git("rev-parse", "HEAD"), "changed_files": [ln[3:] for ln in status.splitlines()]}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--work", type=Path, default=Path("/tmp/ofa-sweep"), help="fixtures, case folders, logs")
    ap.add_argument("--only", help="comma list of case-name substrings, or globs with * and ? (case-insensitive)")
    ap.add_argument("--class", dest="classes", action="append", choices=CLASSES, help="only cases of this class")
    ap.add_argument("--jobs", type=int, default=1, help="cases run at once (default 1)")
    ap.add_argument("--json", type=Path, help="write every case's record here")
    ap.add_argument("--timeout", type=float, default=60, help="seconds before a case is a hang (default 60)")
    ap.add_argument("--mem-gb", type=float, default=6, help="address-space limit of each ofa process (0: none)")
    ap.add_argument("--python", default=default_python(), help="the Python that runs `-m ofa`")
    ap.add_argument("--rebuild-fixtures", action="store_true")
    ap.add_argument("--list", action="store_true", help="list the cases and their counts, run nothing")
    ap.add_argument("--setup-only", action="store_true", help="build each case's folder, run no ofa (a harness check)")
    ap.add_argument("--controls", choices=("auto", "yes", "no"), default="auto",
                    help="run the unmutated controls first (auto: when no --only/--class)")
    args = ap.parse_args(argv)

    cases = all_cases()
    chosen = select(cases, args.only, args.classes)
    if args.list:
        for c in chosen:
            print(f"{c.cls:20} {c.command:18} {c.expect:7} {c.name}")
        by_class = {k: sum(1 for c in chosen if c.cls == k) for k in CLASSES}
        commands = sorted({c.command for c in chosen})
        print(f"\n{len(chosen)} cases; by class: {by_class}")
        print("by command: " + ", ".join(f"{k} {sum(1 for c in chosen if c.command == k)}" for k in commands))
        return 0

    work = args.work.resolve()
    (work / "cases").mkdir(parents=True, exist_ok=True)
    (work / ".mpl").mkdir(exist_ok=True)
    env = dict(os.environ)
    env.update(OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", PYTHONDONTWRITEBYTECODE="1",
               MPLCONFIGDIR=str(work / ".mpl"), NO_COLOR="1", TERM="dumb", COLUMNS="200")
    started = time.monotonic()
    fx = Fixtures(work, args.python, env)
    print(f"fixtures in {fx.root}", flush=True)
    fx.build(args.rebuild_fixtures)
    notes = json.loads((fx.root / "notes.json").read_text()) if (fx.root / "notes.json").exists() else {}
    fixture_seconds = time.monotonic() - started
    runner = Runner(work, fx, args.python, env, args.timeout, args.mem_gb)

    if args.setup_only:
        failed = 0
        for c in chosen:
            ctx = Ctx(work / "cases" / slug(c.name), fx)
            remove_tree(ctx.root)
            ctx.cwd.mkdir(parents=True)
            missing = [m for m in c.needs if not fx.have(m)]
            try:
                if missing:
                    raise FixtureError(f"fixture(s) not built: {missing}")
                if c.setup:
                    c.setup(ctx)
            except Exception as e:  # noqa: BLE001
                failed += 1
                print(f"SETUP FAILED {c.name}: {type(e).__name__}: {e}")
            make_writable(ctx.root)
        print(f"{len(chosen) - failed} of {len(chosen)} case folders built under {work / 'cases'}")
        return 1 if failed else 0

    controls: list[dict] = []
    if args.controls == "yes" or (args.controls == "auto" and not args.only and not args.classes):
        for c in control_cases():
            r = runner.run(c)
            controls.append(r)
            print(f"control {r['outcome']:>18}  exit {r.get('exit')}  {c.name}", flush=True)

    records: list[dict] = []
    n = len(chosen)
    counter = iter(range(1, n + 1))

    def one(case: Case) -> dict:
        r = runner.run(case)
        with runner.lock:
            i = next(counter)
            print(f"[{i}/{n}] {r['outcome']:>18} {r.get('seconds', 0):6.1f}s  {case.name}", flush=True)
        return r

    if args.jobs > 1:
        with ThreadPoolExecutor(args.jobs) as pool:
            records = list(pool.map(one, chosen))
    else:
        records = [one(c) for c in chosen]

    text = report(records, controls, notes)
    print("\n" + text)
    total = time.monotonic() - started
    print(f"\n{sum(1 for r in records if r['outcome'] != 'skipped')} cases run in {total / 60:.1f} min "
          f"(fixtures {fixture_seconds:.0f} s); python {args.python}; timeout {args.timeout:.0f} s")
    if args.json:
        summary = {o: sum(1 for r in records if r["outcome"] == o) for o in (*OUTCOMES, "skipped")}
        args.json.write_text(json.dumps({
            "totals": summary,
            "by_class": {c: {o: sum(1 for r in records if r["class"] == c and r["outcome"] == o) for o in OUTCOMES}
                         for c in CLASSES},
            "tree": tree_state(), "seconds": round(total, 1), "timeout": args.timeout, "fixture_notes": notes,
            "controls": controls, "cases": records}, indent=1, ensure_ascii=False))
        print(f"wrote {args.json}")
    return 1 if any(r["outcome"] not in ("clean", "skipped") for r in records) else 0


if __name__ == "__main__":
    sys.exit(main())
