"""One deployable model folder, and the output folder rule: work happens in a hidden staging
folder beside the output, which replaces the output only when everything in it is written. An
existing output is never touched without `force`; an interrupted run leaves its staging folder,
and the same command continues from it (fine-tuning checkpoints live there)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from ofa.errors import OfaError
from ofa.export.deploy import DEPLOY_OPSET, export_onnx, verify_onnx
from ofa.specialize.engine import build_engine_file, tensorrt_missing, write_build_script, write_fp16_model
from ofa.supernet.static import CONFIG_FILE, WEIGHTS_FILE, StaticNet, save_static

FORMATS = ("onnx", "static", "tensorrt")
ONNX_FILE = "model.onnx"
REQUEST_FILE = "request.json"


def check_formats(formats: list[str]) -> list[str]:
    """Known formats; TensorRT asked for where it is absent is refused before any work."""
    unknown = [f for f in formats if f not in FORMATS]
    if unknown:
        raise OfaError(f"unknown format(s) {unknown}; choose from: {', '.join(FORMATS)}")
    if "tensorrt" in formats and (why := tensorrt_missing()):
        raise OfaError(f"--format tensorrt: {why}; or export --format onnx, which writes build_engine.sh "
                       f"to build the engine on the target")
    return list(dict.fromkeys(formats))


def write_model(static: StaticNet, folder: Path, formats: list[str], precision: str = "fp32") -> dict[str, Any]:
    """Export `static` into `folder` in each format; the ONNX file is verified against PyTorch,
    and TensorRT gets an engine when installed here, else the script that builds one."""
    folder.mkdir(parents=True, exist_ok=True)
    static = static.float().cpu().eval()
    files: dict[str, str] = {}
    out: dict[str, Any] = {"files": files}
    if "static" in formats:
        save_static(static, folder)
        files.update(weights=WEIGHTS_FILE, config=CONFIG_FILE)
    if "onnx" in formats or "tensorrt" in formats:
        onnx_path = export_onnx(static, folder / ONNX_FILE)
        check = verify_onnx(onnx_path, static)
        if not check.passed:
            raise OfaError(f"{onnx_path}: ONNX Runtime differs from PyTorch by up to {check.max_abs_diff:.3g} "
                           f"(allowed {check.atol} + {check.rtol} x |logit|)")
        files["onnx"] = ONNX_FILE
        out["onnx"] = {"opset": DEPLOY_OPSET, "dynamic_batch": True, "verification": check.to_dict()}
        r = static.config.resolution
        if precision == "fp16":
            files["onnx_fp16"] = write_fp16_model(onnx_path).name
        files["build_script"] = write_build_script(folder, r, precision, static.config.in_channels).name
        if tensorrt_missing() is None:
            files["engine"] = build_engine_file(onnx_path, r, precision, static.config.in_channels).name
        out["tensorrt"] = {"precision": precision, "engine_built_here": "engine" in files,
                           "why_not": tensorrt_missing()}
    return out


def refuse_existing(out: Path, force: bool) -> None:
    """Checked before any work: an output that is a file, or one that exists without --force."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise OfaError(f"--out {out} is a file; give a folder")
    if out.exists() and any(out.iterdir()) and not force:
        raise OfaError(f"{out} already exists; pass --force to replace it (it is kept until the new "
                       f"one is complete) or choose another --out")


class Staging:
    """OUT is written as .OUT.partial beside it, then swapped in."""

    def __init__(self, out: Path, force: bool, request: dict[str, Any]):
        self.out = Path(out)
        self.partial = self.out.with_name(f".{self.out.name}.partial")
        refuse_existing(self.out, force)
        marker = self.partial / REQUEST_FILE
        if self.partial.exists():
            try:
                same = json.loads(marker.read_text()) == request
            except (OSError, ValueError):
                same = False
            if not same:  # another command's leftovers: not ours to continue
                shutil.rmtree(self.partial)
        self.resumed = self.partial.exists()
        self.partial.mkdir(parents=True, exist_ok=True)
        marker.write_text(json.dumps(request, indent=1))

    def commit(self) -> Path:
        (self.partial / REQUEST_FILE).unlink(missing_ok=True)
        old = self.out.with_name(f".{self.out.name}.old")
        shutil.rmtree(old, ignore_errors=True)
        if self.out.exists():
            self.out.rename(old)
        self.partial.rename(self.out)
        shutil.rmtree(old, ignore_errors=True)
        return self.out
