"""TensorRT engines for an exported model: built here when TensorRT is installed, else a
`build_engine.sh` to run on the target. Engines are tied to the GPU and the TensorRT version
that built them, so a Jetson's engine is built on the Jetson.

TensorRT 10 makes FP16 engines with a builder flag (`trtexec --fp16`); TensorRT 11 builds strongly
typed networks only, so FP16 there comes from an FP16 model (`model.fp16.onnx`). Both here and in
the script the choice is made by what the installed TensorRT offers, not by its version string."""

from __future__ import annotations

import shlex
from pathlib import Path

from ofa.files import write_atomic
from ofa.latency.backends import get_backend
from ofa.latency.backends.fp16 import to_fp16

ENGINE_FILE = "model.engine"
SCRIPT_FILE = "build_engine.sh"
FP16_MODEL_FILE = "model.fp16.onnx"
MAX_BATCH = 32  # the largest batch an engine accepts; tuned for batch 1


def tensorrt_missing() -> str | None:
    """Why no engine can be built here (one line), or None."""
    return get_backend("tensorrt").why_unavailable()


def write_fp16_model(onnx_path: Path) -> Path:
    out = onnx_path.with_name(FP16_MODEL_FILE)
    return write_atomic(out, to_fp16(onnx_path.read_bytes()))


def build_engine_file(onnx_path: Path, resolution: int, precision: str, channels: int = 3) -> Path:
    """Serialize an engine next to the model, for batch 1 to MAX_BATCH."""
    from ofa.latency.backends.tensorrt_engine import build_engine

    engine = build_engine(onnx_path.read_bytes(), (1, channels, resolution, resolution), precision, MAX_BATCH)
    return write_atomic(onnx_path.with_name(ENGINE_FILE), engine)


def trtexec_args(onnx_name: str, resolution: int, precision: str, fp16_flag: bool, channels: int = 3) -> list[str]:
    """The trtexec call for one TensorRT flavour: with the FP16 flag (TensorRT 10), or strongly
    typed from the FP16 model (TensorRT 11)."""
    dims = lambda n: f"input:{n}x{channels}x{resolution}x{resolution}"  # noqa: E731
    typed = precision == "fp16" and not fp16_flag
    args = ["trtexec", f"--onnx={FP16_MODEL_FILE if typed else onnx_name}", f"--saveEngine={ENGINE_FILE}",
            f"--minShapes={dims(1)}", f"--optShapes={dims(1)}", f"--maxShapes={dims(MAX_BATCH)}"]
    if precision == "fp16":
        args.append("--stronglyTyped" if typed else "--fp16")
    return args


def write_build_script(folder: Path, resolution: int, precision: str, channels: int = 3) -> Path:
    """A POSIX shell script that builds the engine on the machine that will run it."""
    flag = " ".join(shlex.quote(a) for a in trtexec_args("model.onnx", resolution, precision, True, channels))
    typed = " ".join(shlex.quote(a) for a in trtexec_args("model.onnx", resolution, precision, False, channels))
    lines = [
        "#!/bin/sh",
        f"# Build a TensorRT {precision.upper()} engine from model.onnx on the machine that will run it",
        "# (an engine only runs on the GPU model and TensorRT version that built it).",
        f"# Batch 1 to {MAX_BATCH}, tuned for 1. Writes {ENGINE_FILE} next to this script.",
        "set -eu",
        'cd "$(dirname "$0")"',
        "command -v trtexec >/dev/null 2>&1 || { echo 'trtexec not found: it ships with TensorRT "
        "(on a Jetson: /usr/src/tensorrt/bin)' >&2; exit 127; }",
    ]
    if precision == "fp16":
        lines += [
            "# TensorRT 10 has an FP16 builder flag; TensorRT 11 builds strongly typed networks from the FP16 model.",
            "if trtexec --help 2>&1 | grep -q -- '--fp16'; then",
            f"  {flag}",
            "else",
            f"  {typed}",
            "fi",
        ]
    else:
        lines.append(flag)
    path = write_atomic(folder / SCRIPT_FILE, "\n".join(lines) + "\n")
    path.chmod(0o755)
    return path
