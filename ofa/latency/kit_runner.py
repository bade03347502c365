"""Measure an ofa latency kit on the device itself: `python run_kit.py [--kit DIR] [--out FILE]`.

ofa copies this file into a kit as run_kit.py. The device has neither torch nor ofa, so only the
standard library is imported at the top. ONNX Runtime timing repeats ofa's in-process one exactly."""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import platform
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path, PureWindowsPath

KIT_FORMAT = "ofa-latency-kit/1"
RESULTS_FORMAT = "ofa-latency-kit-results/1"
RUNNER_VERSION = "1"
KIT_FILE = "kit.json"
RESULTS_FILE = "results.json"

PROVIDERS = {"onnxruntime-cpu": "CPUExecutionProvider", "onnxruntime-cuda": "CUDAExecutionProvider"}
SETTING_MINIMUMS = {"warmup": 0, "iterations": 1, "rounds": 1, "chunk": 1}
MODEL_KEYS = ("id", "kind", "file", "sha256", "input_shape", "dtype")
WIDTHS = {"float32": 4, "float16": 2}  # bytes per value of a weight file
TRTEXEC_DEFAULT = "/usr/src/tensorrt/bin/trtexec"  # where JetPack and NVIDIA's containers put it

class KitError(Exception):
    """One line for the user: bad input (exit status 2), or a runtime that failed (1)."""
    def __init__(self, message: str, code: int = 2):
        super().__init__(message)
        self.code = code

def check(condition: bool, message: str, code: int = 2) -> None:
    if not condition:
        raise KitError(message, code)

def first_line(error: BaseException) -> str:
    return (str(error).strip() or type(error).__name__).splitlines()[0]

def _refuse_constant(name: str):  # json.load would take NaN and Infinity, which no kit may hold
    raise ValueError(f"{name} is not allowed")

def read_json(path: Path, what: str, hint: str = ""):
    """The parsed file, or a one-line KitError saying why it cannot be had (and `hint`)."""
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f, parse_constant=_refuse_constant)
    except FileNotFoundError:
        raise KitError(f"{what} {path} does not exist{hint}") from None
    except (OSError, UnicodeDecodeError) as e:
        raise KitError(f"cannot read {what} {path}: {first_line(e)}{hint}") from None
    except ValueError as e:  # JSONDecodeError is a ValueError, and so is the NaN refusal
        raise KitError(f"{what} {path} is not valid JSON ({first_line(e)}){hint}") from None

def read_text(path: str) -> str:
    try:
        return Path(path).read_text()
    except (OSError, UnicodeDecodeError):
        return ""

def whole(value, minimum: int) -> bool:
    """A JSON whole number >= minimum (true and false are ints to Python, not to us)."""
    return isinstance(value, int) and not isinstance(value, bool) and value >= minimum

def check_kit(kit, kit_dir: Path) -> dict:
    """Refuse anything wrong before a single model is timed: an error an hour in wastes the hour."""
    check(isinstance(kit, dict), f"{KIT_FILE} must hold a JSON object")
    check(kit.get("format") == KIT_FORMAT, f"{KIT_FILE} has format {kit.get('format')!r}; expected {KIT_FORMAT!r}")
    check(isinstance(kit.get("kit_id"), str), f"{KIT_FILE}: kit_id must be a string")
    check(kit.get("runtime") in [*PROVIDERS, "tensorrt"], f"{KIT_FILE}: runtime {kit.get('runtime')!r} is unknown")
    check(whole(kit.get("batch_size"), 1), f"{KIT_FILE}: batch_size must be a whole number >= 1")
    s = kit.get("settings")
    check(isinstance(s, dict), f"{KIT_FILE}: settings must be an object")
    for key, low in SETTING_MINIMUMS.items():
        check(whole(s.get(key), low), f"{KIT_FILE}: settings.{key} must be a whole number >= {low}, not {s.get(key)!r}")
    check(s.get("threads") is None or whole(s["threads"], 1), f"{KIT_FILE}: settings.threads must be null or >= 1")
    check(s.get("statistic") in ("median", "p10", "mean"), f"{KIT_FILE}: settings.statistic must be median/p10/mean")
    check(s.get("precision") in ("fp32", "fp16"), f"{KIT_FILE}: settings.precision must be fp32 or fp16")
    models = kit.get("models")
    check(isinstance(models, list) and bool(models), f"{KIT_FILE}: models must be a non-empty list")
    seen = set()
    for i, m in enumerate(models):
        where = f"{KIT_FILE}: models[{i}]"
        check(isinstance(m, dict) and all(k in m for k in MODEL_KEYS), f"{where} must be an object with {MODEL_KEYS}")
        check(isinstance(m["id"], str), f"{where}: id must be a string, not {m['id']!r}")
        check(m["id"] not in seen, f"{where}: id {m['id']!r} appears twice")
        seen.add(m["id"])
        check(m["kind"] in ("part", "subnet"), f"{where}: kind must be part or subnet, not {m['kind']!r}")
        check_inside(m["file"], kit_dir, where)
        w = m.get("weights")
        if w is not None:
            check(isinstance(w, dict) and w.get("dtype") in WIDTHS and whole(w.get("bytes"), 1)
                  and w["bytes"] % WIDTHS[w["dtype"]] == 0, f"{where}: weights must be {{file, bytes, dtype}}")
            check_inside(w.get("file"), kit_dir, f"{where}.weights")
        check(isinstance(m["sha256"], str), f"{where}: sha256 must be a string")
        check(isinstance(shape := m["input_shape"], list) and bool(shape) and all(whole(d, 1) for d in shape),
              f"{where}: input_shape must be a list of positive whole numbers, not {m['input_shape']!r}")
        check(m["dtype"] in ("float32", "float16"), f"{where}: dtype must be float32 or float16, not {m['dtype']!r}")
        check(isinstance(m.get("input_name", ""), str) and ("input_name" in m or kit["runtime"] != "tensorrt"),
              f"{where}: input_name must be a string (trtexec needs one)")
    return kit

def check_inside(file, kit_dir: Path, where: str) -> None:
    safe = isinstance(file, str) and not {"\\", "\x00"} & set(file) and not PureWindowsPath(file).drive
    check(safe and not file.startswith("/") and ".." not in file.split("/"),
          f"{where}: file {file!r} must be a relative path inside the kit, without '..'")
    check(kit_dir.resolve() in (kit_dir / file).resolve().parents, f"{where}: file {file!r} leads out of the kit")

def make_weights(kit: dict, kit_dir: Path) -> None:
    """Each model's weight file (ONNX external data), made here: ofa ships shapes, not weights, as
    only shapes decide latency and random weights do not compress. Small normal values, as trained
    weights are (never NaN, infinite or denormal); a file of the right size is kept."""
    todo = [m["weights"] for m in kit["models"] if m.get("weights")
            and not ((kit_dir / m["weights"]["file"]).is_file()
                     and (kit_dir / m["weights"]["file"]).stat().st_size == m["weights"]["bytes"])]
    if not todo:
        return
    try:
        import numpy
    except ImportError:
        raise KitError("numpy is not installed: pip install numpy") from None
    rng = numpy.random.default_rng(0)
    for w in todo:
        values = (rng.standard_normal(w["bytes"] // WIDTHS[w["dtype"]]) * 0.05).astype(w["dtype"])
        path = kit_dir / w["file"]
        tmp = path.with_name(f".{path.name}.tmp")
        values.tofile(str(tmp))
        os.replace(tmp, path)

def check_files(kit: dict, kit_dir: Path) -> None:
    """Every model file must be the one ofa wrote: a changed file would time another network."""
    for m in kit["models"]:
        try:
            digest = hashlib.sha256((kit_dir / m["file"]).read_bytes())
        except OSError as e:
            raise KitError(f"model file {m['file']} cannot be read: {first_line(e)}") from None
        check(digest.hexdigest() == m["sha256"].lower(), f"model file {m['file']} has changed since the kit was made")

def quantile(ordered: list, q: float) -> float:
    """numpy's default quantile (linear between closest ranks) of sorted data: ofa's statistic."""
    pos = q * (len(ordered) - 1)
    lo = math.floor(pos)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)

def stats_from_times(times_ms: list) -> dict:
    """Median, 10th and 90th percentiles and mean of per-run times in ms, as ofa stores them."""
    ordered = sorted(float(t) for t in times_ms)
    if not ordered or any(not math.isfinite(t) or t < 0 for t in ordered):
        raise KitError(f"the runtime gave unusable times: {ordered[:5]}", 1)
    return {"median_ms": quantile(ordered, 0.5), "p10_ms": quantile(ordered, 0.1), "p90_ms": quantile(ordered, 0.9),
            "mean_ms": sum(ordered) / len(ordered), "runs": len(ordered)}

def time_interleaved(calls: list, warmup: int, iterations: int, rounds: int) -> list:
    """Each call warmed up, then timed in turns. A shared machine's speed drifts; turns give every
    model the same mix of fast and slow moments. Nothing re-warms a model between turns: it finds
    the caches full of other models' weights, as each layer of a whole network finds them."""
    for call in calls:
        for _ in range(warmup):
            call()
    rounds = max(1, min(rounds, iterations))
    times = [[] for _ in calls]
    for r in range(rounds):  # round r makes iterations // rounds runs, one more while r < iterations % rounds
        for call, out in zip(calls, times):
            for _ in range(iterations // rounds + (1 if r < iterations % rounds else 0)):
                start = time.perf_counter_ns()
                call()
                out.append((time.perf_counter_ns() - start) / 1e6)
    return times

class OnnxRuntime:
    """ONNX Runtime on the kit's one provider, with ofa's session options and input."""
    def __init__(self, kit_runtime: str, settings: dict, kit_dir: Path):
        provider = PROVIDERS[kit_runtime]
        install = "onnxruntime-gpu" if kit_runtime == "onnxruntime-cuda" else "onnxruntime"
        try:
            import numpy
            import onnxruntime
        except ImportError as e:
            name, pip = ("numpy", "numpy") if e.name == "numpy" else ("onnxruntime", install)
            raise KitError(f"{name} is not installed: pip install {pip}") from None
        offered = onnxruntime.get_available_providers()
        check(provider in offered, f"onnxruntime {onnxruntime.__version__} offers no {provider} "
                                   f"(only {', '.join(offered)}): pip install {install}")
        self.np, self.ort, self.provider, self.settings, self.kit_dir = numpy, onnxruntime, provider, settings, kit_dir
        self.info = {"name": "onnxruntime", "version": onnxruntime.__version__, "provider": provider}

    def _call(self, model: dict):
        """One call = one inference on a fixed random input (seed 0), as ofa runs it."""
        ort, file = self.ort, model["file"]
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.intra_op_num_threads = self.settings.get("threads") or 0  # 0: every core
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        try:
            session = ort.InferenceSession(str(self.kit_dir / file), sess_options=options, providers=[self.provider])
        except Exception as e:  # onnxruntime raises its own exception types
            raise KitError(f"onnxruntime could not load {file}: {first_line(e)}", 1) from None
        # onnxruntime-gpu lists CUDA even where it cannot start, then falls back to the CPU silently.
        check(self.provider in session.get_providers(), f"{self.provider} could not start here for {file}; "
                                                        "timings of another provider would mislead")
        inputs = session.get_inputs()
        check(len(inputs) == 1, f"{file} has {len(inputs)} inputs; latency is measured on models with one")
        feed = {inputs[0].name: self.np.random.default_rng(0).standard_normal(model["input_shape"])
                .astype(model["dtype"])}
        return lambda: session.run(None, feed)

    def measure(self, models: list, interleave: bool) -> list:
        """Per model its times: parts interleaved (a session each, all open), a subnet alone."""
        s = self.settings
        calls = [self._call(m) for m in models]
        try:
            return time_interleaved(calls, s["warmup"], s["iterations"], s["rounds"] if interleave else 1)
        except Exception as e:  # a wrong input type or shape surfaces here, in onnxruntime's words
            raise KitError(f"onnxruntime failed on {', '.join(m['file'] for m in models)}: {first_line(e)}", 1)

def parse_export_times(records, warmup: int, iterations: int) -> list:
    """Per-run GPU compute times in ms from trtexec's --exportTimes list, less the first `warmup`
    records (our warmup runs) and any beyond `iterations` (trtexec may run a few extra)."""
    check(isinstance(records, list), "trtexec's exported times are not a list", 1)
    times = []
    for record in records[warmup:warmup + iterations]:
        try:
            times.append(float(record["endComputeMs"]) - float(record["startComputeMs"]))
        except (KeyError, TypeError, ValueError):
            raise KitError(f"trtexec exported a run without compute times: {record!r}", 1) from None
    check(len(times) == iterations, f"trtexec exported {len(records)} runs, not {warmup} + {iterations}", 1)
    return times

def output_line(command: list, timeout=None):
    """The first non-empty line a program prints (None if it cannot run or fails)."""
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
    except (OSError, subprocess.SubprocessError):
        return None
    lines = [line.strip() for line in done.stdout.splitlines() if line.strip()]
    return lines[0] if lines and done.returncode == 0 else None

class Trtexec:
    """TensorRT through NVIDIA's trtexec, one process per model. Parts are therefore NOT
    interleaved: each runs alone with warm caches, and a chunk is only a unit of saving."""
    def __init__(self, path, settings: dict, kit_dir: Path):
        path = str(Path(path or shutil.which("trtexec") or TRTEXEC_DEFAULT).resolve())
        check(os.path.isfile(path) and os.access(path, os.X_OK), f"no trtexec at {path}: pass --trtexec PATH")
        self.path, self.settings, self.kit_dir = path, settings, kit_dir
        self.info = {"name": "trtexec", "version": output_line([path, "--version"], 60) or "unknown", "path": path}

    def measure(self, models: list, interleave: bool) -> list:
        """Per model: build an engine, run warmup + iterations; only each run's compute span counts,
        as ofa times only the engine's execution between two CUDA events (hence --noDataTransfers)."""
        return [self._times(m) for m in models]

    def _times(self, model: dict) -> list:
        s, file = self.settings, model["file"]
        with tempfile.TemporaryDirectory() as tmp:
            export = Path(tmp) / "times.json"
            shapes = f"--shapes={model['input_name']}:{'x'.join(str(d) for d in model['input_shape'])}"
            command = [self.path, f"--onnx={self.kit_dir / file}", "--warmUp=0", "--duration=0",
                       f"--iterations={s['warmup'] + s['iterations']}", "--avgRuns=1",
                       f"--exportTimes={export}", "--noDataTransfers"] + ["--fp16"] * (s["precision"] == "fp16")
            done = subprocess.run(command + [shapes], capture_output=True, text=True)  # OSError: main reports it
            if "Static model does not take explicit shapes" in done.stdout + done.stderr:  # a fixed input shape
                done = subprocess.run(command, capture_output=True, text=True)
            lines = [line for line in (done.stdout + done.stderr).splitlines() if line.strip()]
            check(done.returncode == 0, f"trtexec failed on {file}: {lines[-1] if lines else done.returncode}", 1)
            records = read_json(export, "trtexec's exported times")
        return parse_export_times(records, s["warmup"], s["iterations"])

def host_info() -> dict:
    """The machine the results speak for, by the recipes ofa compares with its own host: the CPU's
    name; a hash of the OS install's id and a network card's address (clones of a VM image share a
    name and CPU, rarely this); nvidia-smi's first GPU, else a device-tree board's (a Jetson's)."""
    cpus = [line.split(":", 1)[1].strip() for line in read_text("/proc/cpuinfo").splitlines()
            if line.startswith("model name")]
    install = read_text("/etc/machine-id").strip()
    gpu = output_line(["nvidia-smi", "--query-gpu=name", "--format=csv,noheader"], 10)  # None where there is none
    gpu = gpu or read_text("/proc/device-tree/model").strip("\x00\n") or None
    try:
        import numpy
    except ImportError:  # trtexec runs need no numpy
        numpy = None
    return {"host": socket.gethostname(), "cpu": cpus[0] if cpus else platform.processor() or platform.machine(),
            "machine": hashlib.sha256(f"{install}:{uuid.getnode()}".encode()).hexdigest()[:12], "gpu": gpu,
            "platform": platform.platform(), "python": platform.python_version(),
            "numpy": numpy.__version__ if numpy else None}

def read_previous(out: Path, kit: dict, runtime: dict, host: dict) -> dict:
    """An earlier run's results for this kit at `out`. Anything else there is refused, never
    overwritten (it may hold hours of work), and so are another runtime's or machine's results."""
    if not out.exists():
        return {"results": {}}
    move = "; move it away or pass another --out"
    doc = read_json(out, "results file", move)
    check(isinstance(doc, dict) and "format" in doc and isinstance(doc.get("results"), dict),
          f"{out} exists and is not a results file{move}")
    check(doc["format"] == RESULTS_FORMAT, f"{out} has format {doc['format']!r}, not {RESULTS_FORMAT!r}{move}")
    check(doc.get("kit_id") == kit["kit_id"], f"{out} holds another kit's results ({doc.get('kit_id')!r}){move}")
    check(doc.get("runtime") == runtime, f"{out} was measured with {doc.get('runtime')}, not {runtime}{move}")
    check((doc.get("host") or {}).get("machine") == host["machine"], f"{out} was measured on another machine{move}")
    return doc

def write_atomic(path: Path, doc: dict) -> None:
    """Whole or not at all: a crash or power cut mid-write must not cost the results so far."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(doc, f, indent=1, allow_nan=False)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise

def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")

def duration(seconds: float) -> str:
    s = int(round(seconds))
    return f"{s // 3600}h{s % 3600 // 60:02d}m" if s >= 3600 else f"{s // 60}m{s % 60:02d}s" if s >= 60 else f"{s}s"

class Progress:
    """On a terminal one line rewritten in place; in a log only the lines callers mark."""
    def __init__(self, quiet: bool):
        self.quiet, self.tty, self.width = quiet, sys.stderr.isatty(), 0

    def start(self, what: str, done: int, total: int) -> None:
        self.what, self.first, self.total, self.t0 = what, done, total, time.monotonic()

    def update(self, done: int, milestone: bool) -> None:
        if self.quiet or not (self.tty or milestone):
            return
        spent, first, total = time.monotonic() - self.t0, self.first, self.total
        left = f", about {duration(spent / (done - first) * (total - done))} left" if first < done < total else ""
        line = f"{self.what} {done}/{total} ({100 * done // total}%), {duration(spent)} elapsed{left}"
        sys.stderr.write("\r" + line.ljust(self.width) if self.tty else line + "\n")
        sys.stderr.flush()
        self.width = len(line)

    def end(self) -> None:
        if self.tty and self.width:
            sys.stderr.write("\n")
        self.width = 0

def measure(kit: dict, runtime, doc: dict, out: Path, only, progress: Progress) -> int:
    """Time the models doc["results"] lacks, saving after each chunk of parts and each subnet."""
    results = before = doc["results"]

    def save(results: dict) -> None:  # doc takes the new results only once they are on disk
        stamp = {"updated": now(), "complete": all(m["id"] in results for m in kit["models"]), "results": results}
        write_atomic(out, {**doc, **stamp})
        doc.update(stamp)

    for kind, step in (("part", kit["settings"]["chunk"]), ("subnet", 1)):
        of_kind = [m for m in kit["models"] if m["kind"] == kind]
        todo = [m for m in of_kind if m["id"] not in results]
        if not todo or only not in (None, kind + "s"):
            continue
        progress.start(kind + "s", len(of_kind) - len(todo), len(of_kind))
        for start in range(0, len(todo), step):
            group = todo[start:start + step]
            stats = [stats_from_times(t) for t in runtime.measure(group, interleave=kind == "part")]
            results = {**results, **{m["id"]: st for m, st in zip(group, stats)}}
            save(results)
            done = len(of_kind) - len(todo) + start + len(group)
            progress.update(done, kind == "part" or done % 10 == 0 or done == len(of_kind))
        progress.end()
    save(results)
    return len(results) - len(before)

def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="run_kit.py", description="Measure an ofa latency kit on this device.")
    parser.add_argument("--kit", help="the kit folder (default: the folder holding this script)")
    parser.add_argument("--out", help=f"results file (default: KIT/{RESULTS_FILE}); an earlier run's is continued")
    parser.add_argument("--runtime", choices=("auto", "onnxruntime", "trtexec"), default="auto",
                        help="auto: what the kit was made for; an explicit choice must agree with it")
    parser.add_argument("--trtexec", help=f"path of trtexec (default: on PATH, else {TRTEXEC_DEFAULT})")
    parser.add_argument("--only", choices=("parts", "subnets"), help="measure only these models this time")
    parser.add_argument("--quiet", action="store_true", help="no progress lines")
    args = parser.parse_args(argv)
    kit_dir = Path(args.kit).resolve() if args.kit else Path(__file__).resolve().parent
    out = Path(args.out) if args.out else kit_dir / RESULTS_FILE
    progress, total, doc = Progress(args.quiet), 0, None
    try:
        kit = check_kit(read_json(kit_dir / KIT_FILE, "kit file"), kit_dir)
        check_files(kit, kit_dir)
        make_weights(kit, kit_dir)
        total, s, ids = len(kit["models"]), kit["settings"], {m["id"] for m in kit["models"]}
        use = "trtexec" if kit["runtime"] == "tensorrt" else "onnxruntime"
        check(args.runtime in ("auto", use), f"this {kit['runtime']} kit is measured with {use}, not {args.runtime}")
        runtime = Trtexec(args.trtexec, s, kit_dir) if use == "trtexec" else OnnxRuntime(kit["runtime"], s, kit_dir)
        host = host_info()
        previous = read_previous(out, kit, runtime.info, host)
        doc = {"format": RESULTS_FORMAT, "runner_version": RUNNER_VERSION, "kit_format": KIT_FORMAT,
               "kit_id": kit["kit_id"], "device": kit.get("device"), "space": kit.get("space"),
               "space_fingerprint": kit.get("space_fingerprint"), "batch_size": kit["batch_size"], "settings": s,
               "runtime": runtime.info, "host": host, "started": previous.get("started") or now(),
               "updated": None, "complete": False,
               "results": {k: v for k, v in previous["results"].items() if k in ids}}
        measured = measure(kit, runtime, doc, out, args.only, progress)
    except (KitError, OSError) as e:  # OSError: a full disk, a folder we may not write to
        progress.end()
        print(f"run_kit: error: {first_line(e)}", file=sys.stderr)
        return e.code if isinstance(e, KitError) else 1
    except KeyboardInterrupt:
        progress.end()
        saved = len(doc["results"]) if doc else 0  # measure() updates doc only once a file is saved
        print(f"run_kit: interrupted; run it again to continue ({saved} of {total} measured)", file=sys.stderr)
        return 130
    state = "complete" if doc["complete"] else "incomplete: run it again to measure the rest"
    print(f"run_kit: results written to {out}: {measured} measured now, "
          f"{len(doc['results'])} of {total} models in all ({state})")
    return 0

if __name__ == "__main__":
    sys.exit(main())
