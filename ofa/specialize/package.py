"""One deployable model folder, and the output folder rule: work happens in a hidden staging
folder beside the output, which replaces the output only when everything in it is written. An
existing output is never touched without `force`; an interrupted run leaves its staging folder,
and the same command continues from it (fine-tuning checkpoints live there)."""

from __future__ import annotations

import shutil
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator

from ofa.errors import OfaError
from ofa.files import parse_json, write_json
from ofa.outputs import check_free, check_out_folder, kind_of, mark, output_lock, remove_own, swap_in
from ofa.export.deploy import DEPLOY_OPSET, export_onnx, verify_onnx
from ofa.specialize.engine import build_engine_file, tensorrt_missing, write_build_script, write_fp16_model
from ofa.supernet import CONFIG_FILE, WEIGHTS_FILE, save_static

FORMATS = ("onnx", "static", "tensorrt")
ONNX_FILE = "model.onnx"
REQUEST_FILE = "request.json"
EXPORT_KIND = "model"  # the kind (ofa.outputs) of `ofa export`'s folder: `--force` replaces only one of these

if TYPE_CHECKING:
    from torch import nn


def check_formats(formats: list[str]) -> list[str]:
    """Known formats; TensorRT asked for where it is absent is refused before any work."""
    if not formats:
        raise OfaError(f"--format names no format; give a comma list from: {', '.join(FORMATS)}")
    unknown = [f for f in formats if f not in FORMATS]
    if unknown:
        raise OfaError(f"unknown format(s) {unknown}; choose from: {', '.join(FORMATS)}")
    if "tensorrt" in formats and (why := tensorrt_missing()):
        raise OfaError(f"--format tensorrt: {why}; or export --format onnx, which writes build_engine.sh "
                       f"to build the engine on the target")
    return list(dict.fromkeys(formats))


def write_model(static: nn.Module, folder: Path, formats: list[str], precision: str = "fp32") -> dict[str, Any]:
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


def refuse_existing(out: Path, force: bool, kind: str) -> None:
    """Checked before any work: the output folder, its staging folder and the name the old output
    is moved to while the new one takes its place are free, or ofa's own of `kind` (replaced only
    with `force`)."""
    out = Path(out)
    check_out_folder(out, "--out", (kind,), force)
    for scratch in (_partial(out), out.with_name(f".{out.name}.old")):
        check_free(scratch, (kind,))


def _partial(out: Path) -> Path:
    return out.with_name(f".{out.name}.partial")


@contextmanager
def writing(out: Path, kind: str) -> Iterator[None]:
    """Hold the output's lock; when the work fails with bad input (not an interruption, which the same
    command continues), remove the staging folder this run began."""
    partial = _partial(Path(out))
    with output_lock(out):
        began = not partial.exists()
        try:
            yield
        except OfaError:
            if began and kind_of(partial) == kind:
                shutil.rmtree(partial, ignore_errors=True)
            raise


class Staging:
    """OUT (an output of `kind`) is written as .OUT.partial beside it, then swapped in. Hold
    `ofa.outputs.output_lock(OUT)` around its whole life."""

    def __init__(self, out: Path, force: bool, request: dict[str, Any], kind: str):
        self.out, self.kind = Path(out), kind
        self.partial = _partial(self.out)
        refuse_existing(self.out, force, kind)
        marker = self.partial / REQUEST_FILE
        if self.partial.exists():
            try:
                same = parse_json(marker.read_text(), str(marker)) == request
            except (OSError, ValueError, OfaError):
                same = False
            if not same:  # another command's leftovers: not ours to continue
                remove_own(self.partial, (kind,))
        self.resumed = self.partial.exists()
        mark(self.partial, kind)
        write_json(marker, request, indent=1)

    def commit(self) -> Path:
        (self.partial / REQUEST_FILE).unlink(missing_ok=True)
        return swap_in(self.partial, self.out)
