"""The standalone kit runner (ofa/latency/kit_runner.py), run as it runs on a device: copied into a
hand-made kit as run_kit.py and started in a subprocess where neither ofa nor torch can be
imported, from a folder that is not the repository. Tiny ONNX models, 3 timed runs each."""

from __future__ import annotations

import ast
import hashlib
import json
import math
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

import ofa.latency.kit_runner as kr

RUNNER = Path(kr.__file__)
SHAPE = [1, 4, 8, 8]
PART_IDS = ["m00001", "m00002", "m00003"]
SUBNET_ID = "m00004"


def onnx_model(nodes, initializers=(), out_shape=SHAPE) -> onnx.ModelProto:
    graph = helper.make_graph(
        nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, SHAPE)],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, out_shape)], initializer=list(initializers))
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8  # onnxruntime reads IR versions up to its own; onnx.helper writes the newest
    return model


def tiny_models() -> dict[str, onnx.ModelProto]:
    weight = numpy_helper.from_array(np.random.default_rng(0).standard_normal((4, 4, 1, 1)).astype(np.float32), "w")
    return {
        "m00001": onnx_model([helper.make_node("Relu", ["x"], ["y"])]),
        "m00002": onnx_model([helper.make_node("Add", ["x", "x"], ["y"])]),
        "m00003": onnx_model([helper.make_node("Conv", ["x", "w"], ["y"])], [weight]),
        "m00004": onnx_model([helper.make_node("Conv", ["x", "w"], ["c"]), helper.make_node("Relu", ["c"], ["r"]),
                              helper.make_node("GlobalAveragePool", ["r"], ["y"])], [weight], [1, 4, 1, 1]),
    }


def make_kit(root: Path) -> Path:
    """A kit as ofa writes one: kit.json, models/*.onnx with their SHA-256, and run_kit.py."""
    kit = root / "kit"
    (kit / "models").mkdir(parents=True)
    entries = []
    for model_id, model in tiny_models().items():
        data = model.SerializeToString()
        (kit / "models" / f"{model_id}.onnx").write_bytes(data)
        entries.append({"id": model_id, "kind": "subnet" if model_id == SUBNET_ID else "part",
                        "name": f"test:{model_id}", "file": f"models/{model_id}.onnx",
                        "sha256": hashlib.sha256(data).hexdigest(), "input_shape": SHAPE, "dtype": "float32"})
    write_kit_json(kit, {
        "format": kr.KIT_FORMAT, "kit_id": "0123456789abcdef", "device": "cpu", "space": "tiny",
        "space_fingerprint": "abc", "num_classes": 3, "batch_size": 1, "resolutions": [8],
        "runtime": "onnxruntime-cpu",
        "settings": {"precision": "fp32", "threads": 1, "warmup": 1, "iterations": 3, "rounds": 3,
                     "statistic": "p10", "chunk": 2},
        "models": entries, "created": "2024-01-01T00:00:00+00:00", "ofa_version": "test"})
    shutil.copy(RUNNER, kit / "run_kit.py")
    return kit


def write_kit_json(kit: Path, data: dict) -> None:
    (kit / kr.KIT_FILE).write_text(json.dumps(data))  # json.dumps writes NaN as NaN, as a bad kit would


def read_kit_json(kit: Path) -> dict:
    return json.loads((kit / kr.KIT_FILE).read_text())


def run_kit(kit: Path, *args: str) -> subprocess.CompletedProcess:
    """python run_kit.py ARGS, from outside the repository, with ofa and torch unimportable."""
    code = ("import sys, runpy; sys.modules['ofa'] = None; sys.modules['torch'] = None; "
            f"sys.argv = ['run_kit.py', *{list(args)!r}]; "
            f"runpy.run_path({str(kit / 'run_kit.py')!r}, run_name='__main__')")
    return subprocess.run([sys.executable, "-c", code], cwd=kit.parent, capture_output=True, text=True, timeout=120)


def one_error_line(done: subprocess.CompletedProcess) -> str:
    lines = done.stderr.splitlines()
    assert done.returncode == 2, done.stderr
    assert len(lines) == 1 and lines[0].startswith("run_kit: error: "), done.stderr
    return lines[0]


@pytest.fixture
def kit(tmp_path) -> Path:
    return make_kit(tmp_path)


def test_full_run_measures_every_model(kit):
    done = run_kit(kit)  # --kit defaults to the script's folder, --out to KIT/results.json
    assert done.returncode == 0, done.stderr
    assert "run_kit: results written to" in done.stdout and "4 of 4 models in all" in done.stdout
    assert "parts 3/3 (100%)" in done.stderr and "subnets 1/1 (100%)" in done.stderr  # not a TTY: line per step
    results = json.loads((kit / kr.RESULTS_FILE).read_text())
    assert results["format"] == kr.RESULTS_FORMAT and results["kit_format"] == kr.KIT_FORMAT
    assert results["runner_version"] == kr.RUNNER_VERSION and results["kit_id"] == "0123456789abcdef"
    assert results["complete"] is True and results["settings"] == read_kit_json(kit)["settings"]
    assert set(results["results"]) == {*PART_IDS, SUBNET_ID}
    for stats in results["results"].values():
        values = [stats[k] for k in ("median_ms", "p10_ms", "p90_ms", "mean_ms")]
        assert all(math.isfinite(v) and v > 0 for v in values)
        assert stats["p10_ms"] <= stats["median_ms"] <= stats["p90_ms"] and stats["runs"] == 3
    assert results["runtime"]["name"] == "onnxruntime" and results["runtime"]["provider"] == "CPUExecutionProvider"
    host = results["host"]
    assert set(host) == {"host", "cpu", "machine", "gpu", "platform", "python", "numpy"}
    from ofa.latency.host import this_host  # ofa compares these three with its own recipe's

    assert {k: host[k] for k in ("host", "cpu", "machine")} == {k: this_host()[k] for k in ("host", "cpu", "machine")}


def test_resume_keeps_what_was_measured(kit):
    first = run_kit(kit, "--only", "parts", "--quiet")
    assert first.returncode == 0, first.stderr
    assert first.stderr == ""
    partial = json.loads((kit / kr.RESULTS_FILE).read_text())
    assert partial["complete"] is False and sorted(partial["results"]) == PART_IDS

    second = run_kit(kit, "--quiet")
    assert second.returncode == 0, second.stderr
    assert "1 measured now, 4 of 4 models in all" in second.stdout
    full = json.loads((kit / kr.RESULTS_FILE).read_text())
    assert full["complete"] is True and set(full["results"]) == {*PART_IDS, SUBNET_ID}
    assert {k: full["results"][k] for k in PART_IDS} == partial["results"]
    assert full["started"] == partial["started"]


def test_changed_model_file_is_refused(kit):
    with open(kit / "models" / "m00002.onnx", "ab") as f:
        f.write(b"\0")
    line = one_error_line(run_kit(kit))
    assert "models/m00002.onnx" in line
    assert not (kit / kr.RESULTS_FILE).exists()


def _other_format(kit):
    data = read_kit_json(kit)
    data["format"] = "ofa-latency-kit/9"
    return data, ["ofa-latency-kit/9", kr.KIT_FORMAT]


def _nan(kit):
    data = read_kit_json(kit)
    data["num_classes"] = float("nan")
    return data, ["NaN"]


def _dotdot(kit):
    data = read_kit_json(kit)
    data["models"][0]["file"] = "models/../models/m00001.onnx"  # inside the kit, but `..` is refused all the same
    return data, ["models[0]", ".."]


def _duplicate_ids(kit):
    data = read_kit_json(kit)
    data["models"][1]["id"] = data["models"][0]["id"]
    return data, ["models[1]", "m00001"]


@pytest.mark.parametrize("corrupt", [_other_format, _nan, _dotdot, _duplicate_ids])
def test_bad_kit_json_is_refused_in_one_line(kit, corrupt):
    data, words = corrupt(kit)
    write_kit_json(kit, data)
    line = one_error_line(run_kit(kit))
    assert all(w in line for w in words), line
    assert not (kit / kr.RESULTS_FILE).exists()


@pytest.mark.parametrize("content, words", [
    (json.dumps({"format": kr.RESULTS_FORMAT, "kit_id": "fedcba9876543210", "results": {}}), ["another kit"]),
    ('{"format": "ofa-latency-kit-results/1", "kit_id": "0123456789abcdef", "results": {"m0', ["not valid JSON"]),
    ('{"hello": 1}', ["not a results file"]),
])
def test_existing_results_file_is_never_overwritten(kit, content, words):
    out = kit / kr.RESULTS_FILE
    out.write_text(content)
    line = one_error_line(run_kit(kit, "--out", str(out)))
    assert all(w in line for w in words) and "move it away" in line, line
    assert out.read_text() == content


def test_interrupted_run_keeps_finished_chunks(kit, monkeypatch, capsys):
    """Ctrl-C in the second chunk of parts: the first chunk is on disk, and the run says so."""
    calls = []

    def interrupted(*args):
        calls.append(args)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(*args)

    real = kr.time_interleaved
    monkeypatch.setattr(kr, "time_interleaved", interrupted)
    assert kr.main(["--kit", str(kit), "--quiet"]) == 130
    assert "interrupted; run it again to continue (2 of 4 measured)" in capsys.readouterr().err
    saved = json.loads((kit / kr.RESULTS_FILE).read_text())
    assert sorted(saved["results"]) == PART_IDS[:2] and saved["complete"] is False


def test_parse_export_times_drops_warmup_records():
    records = [{"startComputeMs": 10.0 * i, "endComputeMs": 10.0 * i + 0.5 + i, "latencyMs": 9.0} for i in range(5)]
    assert kr.parse_export_times(records, warmup=2, iterations=3) == pytest.approx([2.5, 3.5, 4.5])
    assert kr.parse_export_times(records, warmup=1, iterations=2) == pytest.approx([1.5, 2.5])  # extra runs dropped
    with pytest.raises(kr.KitError, match="not 3 \\+ 3"):
        kr.parse_export_times(records, warmup=3, iterations=3)
    with pytest.raises(kr.KitError, match="without compute times"):
        kr.parse_export_times([{"latencyMs": 1.0}], warmup=0, iterations=1)


FAKE_TRTEXEC = """#!{python}
import json, sys
args = sys.argv[1:]
with open({log!r}, "a") as f:
    f.write(json.dumps(args) + "\\n")
if args == ["--version"]:
    print("TensorRT v100300")
    sys.exit(0)
if {static} and any(a.startswith("--shapes=") for a in args):
    print("[E] Static model does not take explicit shapes since the shape of inference tensors will be determined")
    sys.exit(1)
opts = dict(a[2:].split("=", 1) for a in args if "=" in a)
runs = int(opts["iterations"]) + 1  # trtexec may run a few more than asked
records = [{{"startComputeMs": 10.0 * i, "endComputeMs": 10.0 * i + (100.0 if i == 0 else 1.0 + i / 10)}}
           for i in range(runs)]
with open(opts["exportTimes"], "w") as f:
    json.dump(records, f)
"""


@pytest.mark.parametrize("static", [False, True])
def test_trtexec_path_with_a_stand_in_program(kit, static):
    """The trtexec path end to end, with a stand-in that logs its arguments and exports times whose
    first (warmup) run takes 100 ms. A static model refuses --shapes; the runner retries without."""
    log = kit.parent / "trtexec.log"
    fake = kit.parent / "trtexec"
    fake.write_text(FAKE_TRTEXEC.format(python=sys.executable, log=str(log), static=static))
    fake.chmod(0o755)
    data = read_kit_json(kit)
    data["runtime"] = "tensorrt"
    data["settings"]["precision"] = "fp16"
    for m in data["models"]:
        m["input_name"] = "x"
    write_kit_json(kit, data)
    done = run_kit(kit, "--trtexec", str(fake), "--quiet")
    assert done.returncode == 0, done.stderr
    results = json.loads((kit / kr.RESULTS_FILE).read_text())
    assert results["complete"] is True
    assert results["runtime"] == {"name": "trtexec", "version": "TensorRT v100300", "path": str(fake.resolve())}
    for stats in results["results"].values():
        assert stats["runs"] == 3 and stats["p90_ms"] < 2  # the 100 ms warmup run and the extra run are dropped
    calls = [json.loads(line) for line in log.read_text().splitlines()][1:]
    assert len(calls) == (8 if static else 4)
    fixed = {"--warmUp=0", "--duration=0", "--iterations=4", "--avgRuns=1", "--noDataTransfers", "--fp16"}
    assert all(fixed <= set(args) for args in calls)
    onnx_files = [a for args in calls for a in args if a.startswith("--onnx=")]
    in_order = [f"--onnx={kit.resolve() / 'models' / (i + '.onnx')}" for i in [*PART_IDS, SUBNET_ID]]
    assert onnx_files == ([f for f in in_order for _ in range(2)] if static else in_order)
    shapes = [a for args in calls for a in args if a.startswith("--shapes=")]
    assert shapes == ["--shapes=x:1x4x8x8"] * 4


def test_quantile_matches_numpy():
    rng = np.random.default_rng(1)
    for n in (1, 2, 3, 7, 100):
        values = sorted(rng.exponential(2.0, n).tolist())
        for q in (0.1, 0.5, 0.9):
            assert kr.quantile(values, q) == pytest.approx(float(np.quantile(values, q)), rel=1e-12)


def test_runner_imports_only_the_standard_library_at_top():
    tree = ast.parse(RUNNER.read_text())
    every = [a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names]
    every += [n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)]
    assert not [m for m in every if m.split(".")[0] in ("ofa", "torch")]
    top = [a.name for n in tree.body if isinstance(n, ast.Import) for a in n.names]
    top += [n.module for n in tree.body if isinstance(n, ast.ImportFrom)]
    assert all(m.split(".")[0] in sys.stdlib_module_names or m == "__future__" for m in top), top
