"""A measuring kit: every model a device's latency table needs, as ONNX files in one folder, with a
runner (ofa/latency/kit_runner.py, copied in) that needs only Python, numpy and the device's
runtime. `ofa latency kit` writes it (this module); the runner writes results.json on the device;
ofa.latency.kit_files reads both files back for `ofa latency import --format kit` and `ofa
latency fit`."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import shutil
from pathlib import Path
from typing import Any, Callable

import numpy as np

from ofa import __version__
from ofa.devices import DeviceProfile
from ofa.errors import OfaError
from ofa.files import file_sha256, write_atomic, write_json
from ofa.latency import kit_runner
from ofa.latency.build import CALIBRATION_SUBNETS, calibration_subnets
from ofa.families.parts import all_parts
from ofa.outputs import check_free, check_out_folder, mark, output_lock, remove_own, swap_in
from ofa.spaces import Space, Subnet

KIT_KIND = "latency-kit"  # the kind (ofa.outputs) of a kit folder: --force replaces only one of these
RUNNER_FILE = "run_kit.py"
MODELS = "models"
RUNTIMES = ("onnxruntime-cpu", "onnxruntime-cuda", "tensorrt")  # backends whose models a kit can carry
CHUNK = 200  # parts timed interleaved at a time, as `ofa latency build` does (build.measure_parts)


def kit_runtime(profile: DeviceProfile) -> str:
    """The runtime the kit's runner uses for this device, or a one-line refusal."""
    if profile.backend not in RUNTIMES:
        raise OfaError(f"device '{profile.name}' is measured by backend '{profile.backend}', which runs no ONNX file: "
                       f"a kit carries ONNX models for {', '.join(RUNTIMES)} (measure '{profile.name}' on its machine "
                       f"with `ofa latency build`, or fit a device model from whole subnets with `ofa latency fit`)")
    return profile.backend


def _model_bytes(model, profile: DeviceProfile) -> bytes:
    """ONNX bytes at the profile's precision where the runtime needs it in the file (ONNX Runtime);
    TensorRT gets FP32 and its runner asks trtexec for FP16."""
    data = model.SerializeToString()
    if profile.precision == "fp16" and profile.backend != "tensorrt":
        from ofa.latency.backends.fp16 import to_fp16

        data = to_fp16(data)
    return data


SMALLEST_EXTERNAL = 1024  # bytes: smaller tensors (and every integer one, such as a shape) stay in the file


def without_weights(data: bytes, weights_file: str) -> tuple[bytes, int, str | None]:
    """The model with its large float tensors moved to `weights_file` (ONNX external data), which
    the runner fills with random values on the device: only shapes decide latency, and random
    weights do not compress, so a kit of whole subnets shrinks from about 800 MB to a few.
    Returns the model, the weight file's size in bytes and its element type (None: no file)."""
    import onnx
    from onnx import TensorProto

    model = onnx.load_from_string(data)
    sizes = {TensorProto.FLOAT: (4, "float32"), TensorProto.FLOAT16: (2, "float16")}
    offset, kinds = 0, set()
    for t in model.graph.initializer:
        if t.data_type not in sizes or t.data_location == TensorProto.EXTERNAL:
            continue
        width, kind = sizes[t.data_type]
        length = int(np.prod(t.dims, dtype=np.int64)) * width
        if length < SMALLEST_EXTERNAL:
            continue
        for name in ("raw_data", "float_data", "int32_data"):
            t.ClearField(name)
        t.data_location = TensorProto.EXTERNAL
        del t.external_data[:]
        for key, value in (("location", weights_file), ("offset", str(offset)), ("length", str(length))):
            entry = t.external_data.add()
            entry.key, entry.value = key, value
        offset += length
        kinds.add(kind)
    if len(kinds) > 1:  # our graphs are all of one float type; the runner writes one
        raise OfaError(f"a kit model mixes {sorted(kinds)} weights")
    return model.SerializeToString(), offset, kinds.pop() if kinds else None


def _kit_id(doc: dict[str, Any]) -> str:
    what = {k: doc[k] for k in ("device", "space_fingerprint", "batch_size", "runtime", "settings")}
    what["models"] = [(m["id"], m["kind"], m["name"], m["sha256"]) for m in doc["models"]]
    return hashlib.sha256(json.dumps(what, sort_keys=True).encode()).hexdigest()[:16]


def plan(profile: DeviceProfile, space: Space, resolutions: list[int], num_classes: int,
         calibration: int, subnets_only: int | None, seed: int) -> list[tuple[str, Any, Any]]:
    """(kind, name, ONNX model maker) of every model: the table's parts in the order `ofa latency
    build` measures them, then the calibration subnets; or only `subnets_only` whole subnets."""
    from ofa.latency.measure import subnet_item

    def subnet(s: Subnet):
        return lambda: subnet_item(space, s, profile, num_classes)[0]

    if subnets_only:
        return [("subnet", str(s), subnet(s)) for s in calibration_subnets(space, resolutions, subnets_only, seed)]
    parts = all_parts(space, resolutions, num_classes)
    parts = [parts[i] for i in np.random.default_rng(0).permutation(len(parts))]
    out = [("part", p.key, (lambda p=p: p.onnx(profile.batch_size))) for p in parts]
    if calibration:
        out += [("subnet", str(s), subnet(s)) for s in calibration_subnets(space, resolutions, calibration, seed)]
    return out


def write_kit(out: Path, profile: DeviceProfile, space: Space, resolutions: list[int], num_classes: int,
              calibration: int = CALIBRATION_SUBNETS, subnets_only: int | None = None, seed: int = 10_000,
              force: bool = False, progress: Callable[[str, int, int], None] | None = None) -> dict[str, Any]:
    """Write the kit folder `out` (built beside it, put in place when complete); returns kit.json."""
    runtime = kit_runtime(profile)
    partial = out.with_name(f".{out.name}.partial")
    check_out_folder(out, "--out", (KIT_KIND,), force)
    check_free(partial, (KIT_KIND,))
    todo = plan(profile, space, resolutions, num_classes, calibration, subnets_only, seed)
    with output_lock(out):
        remove_own(partial, (KIT_KIND,))
        mark(partial, KIT_KIND)
        (partial / MODELS).mkdir()
        models = []
        for i, (kind, name, make) in enumerate(todo, 1):
            model = make()
            file = f"{MODELS}/m{i:05d}.onnx"
            data, size, kind_of_weights = without_weights(_model_bytes(model, profile), f"m{i:05d}.weights")
            write_atomic(partial / file, data)
            dims = [d.dim_value for d in model.graph.input[0].type.tensor_type.shape.dim]
            models.append({"id": f"m{i:05d}", "kind": kind, "name": name, "file": file,
                           "sha256": file_sha256(partial / file), "input_shape": dims,
                           "input_name": model.graph.input[0].name,
                           "dtype": "float16" if profile.precision == "fp16" and runtime != "tensorrt" else "float32",
                           **({"weights": {"file": f"{MODELS}/m{i:05d}.weights", "bytes": size,
                                           "dtype": kind_of_weights}} if size else {})})
            if progress:
                progress("kit models", i, len(todo))
        doc = {"format": kit_runner.KIT_FORMAT, "kit_id": "", "device": profile.name, "space": space.name,
               "space_fingerprint": space.fingerprint(), "num_classes": num_classes,
               "batch_size": profile.batch_size, "resolutions": sorted(resolutions), "runtime": runtime,
               "settings": {"precision": profile.precision, "threads": profile.threads, "warmup": profile.warmup,
                            "iterations": profile.iterations, "rounds": profile.rounds,
                            "statistic": profile.statistic, "chunk": CHUNK},
               "profile": profile.to_dict(), "models": models, "created": _now(), "ofa_version": __version__}
        doc["kit_id"] = _kit_id(doc)
        write_json(partial / kit_runner.KIT_FILE, doc, indent=1)
        shutil.copyfile(Path(kit_runner.__file__), partial / RUNNER_FILE)
        subnets = [m for m in models if m["kind"] == "subnet"]
        write_atomic(partial / "subnets.txt", "".join(f"{m['name']}\t{m['file']}\n" for m in subnets))
        write_atomic(partial / "README.md", readme(doc, runtime))
        swap_in(partial, out)
    return doc


def readme(doc: dict[str, Any], runtime: str) -> str:
    s = doc["settings"]
    parts = sum(m["kind"] == "part" for m in doc["models"])
    subnets = len(doc["models"]) - parts
    how = {"onnxruntime-cpu": "pip install numpy onnxruntime", "onnxruntime-cuda": "pip install numpy onnxruntime-gpu",
           "tensorrt": "numpy, and TensorRT's trtexec (on a Jetson: /usr/src/tensorrt/bin/trtexec)"}[runtime]
    what = (f"{parts} parts of space {doc['space']} and {subnets} whole subnets" if parts
            else f"{subnets} whole subnets of space {doc['space']} (listed in subnets.txt)")
    back = (f"ofa latency import --format kit --device {doc['device']} --space {doc['space']} KIT/results.json" if parts
            else f"ofa latency fit --device {doc['device']} --space {doc['space']} --measured KIT/results.json")
    return (f"# Latency kit for device {doc['device']}\n\n"
            f"{what}, batch {doc['batch_size']}, {s['precision']}, timed with {runtime}: {s['warmup']} warm-up "
            f"runs, {s['iterations']} timed runs, {s['statistic']} kept.\n\n"
            f"On the device (needs Python 3.8+ and {how}; neither torch nor ofa):\n\n"
            f"    python run_kit.py\n\n"
            f"It first writes each model's weights (random: only shapes decide latency; that is why the kit is\n"
            f"small), then shows progress, saves results.json as it goes, and continues where it stopped when\n"
            f"run again.\n"
            f"Bring results.json back and turn it into a table with:\n\n    {back}\n\n"
            f"Own benchmark tool instead: time the files in subnets.txt and write lines `SUBNET MS` for\n"
            f"`ofa latency fit --measured FILE`.\n")


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
