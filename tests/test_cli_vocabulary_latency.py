"""`ofa latency` speaks the CLI's one vocabulary: `--calibration-subnets` is the count of whole
subnets (the old `--calibrate N` still works, with a note), every `--out` says whether it names a
file or a folder, and `--json` prints one object, of the shape the command's --help gives, and
nothing else on stdout."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from test_latency_table import PROFILE_YAML  # a quick CPU profile

CALIBRATION = {"scale", "offset_ms"}
ACCURACY = {"mape", "within_10pct", "kendall_tau"}


@pytest.fixture
def device(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "test-cpu.yaml"
    path.write_text(PROFILE_YAML)
    return str(path)


def one_object(out: str) -> dict:
    """stdout under --json: exactly one line, one JSON object."""
    lines = out.strip().splitlines()
    assert len(lines) == 1, out
    doc = json.loads(lines[0])
    assert isinstance(doc, dict)
    return doc


def test_build_calibrate_and_validate_print_their_documented_json(run_cli, device, tmp_path):
    code, out, err = run_cli("latency", "build", "-d", device, "-s", "tiny", "--calibration-subnets", "3",
                             "--num-classes", "10", "-q", "--json")
    assert code == 0, err
    doc = one_object(out)
    assert set(doc) == {"table", "entries", "measured_now", "resolutions", "calibration", "seconds"}
    table = tmp_path / "latency" / "test-cpu" / "tiny.json"
    assert tmp_path / doc["table"] == table and table.is_file()
    assert doc["entries"] >= doc["measured_now"] > 0 and doc["resolutions"] == [16, 32]
    assert set(doc["calibration"]) == CALIBRATION and doc["seconds"] >= 0
    assert "deprecated" not in err

    code, out, err = run_cli("latency", "calibrate", "-d", device, "-s", "tiny", "-n", "3", "-q", "--json")
    assert code == 0, err
    doc = one_object(out)
    assert set(doc) == {"table", "scale", "offset_ms", "host", "subnets", "seconds", "previous"}
    assert tmp_path / doc["table"] == table and doc["subnets"] == 3 and isinstance(doc["host"], str)
    assert set(doc["previous"]) == CALIBRATION

    code, out, err = run_cli("latency", "validate", "-d", device, "-s", "tiny", "-n", "3", "-q", "--json",
                             "--out", "reports")
    assert code == 0, err
    doc = one_object(out)  # and no rich table
    assert set(doc) == {"report", "plot", "subnets", "sum_of_parts", "calibrated"}
    assert doc["subnets"] == 3 and set(doc["sum_of_parts"]) == ACCURACY and set(doc["calibrated"]) == ACCURACY
    assert doc["report"] == str(Path("reports") / "tiny.validate.json")
    assert (tmp_path / doc["report"]).is_file() and (tmp_path / doc["plot"]).is_file()


def test_old_calibrate_spelling_still_works_with_a_note(run_cli, device, tmp_path):
    code, out, err = run_cli("latency", "build", "-d", device, "-s", "tiny", "-r", "16", "--calibrate", "3",
                             "--num-classes", "10", "-q", "--json")
    assert code == 0, err
    notes = [line for line in err.splitlines() if line.startswith("ofa: note:")]
    assert len(notes) == 1 and notes[0].startswith("ofa: note: latency build --calibrate N is deprecated")
    assert "--calibration-subnets N" in notes[0]
    doc = one_object(out)
    assert doc["calibration"] is not None
    table = json.loads((tmp_path / "latency" / "test-cpu" / "tiny.json").read_text())
    assert len(table["calibration"]["points"]) == 3
    # both given: the new spelling wins (here: no calibration fitted, the earlier one stays)
    code, out, err = run_cli("latency", "build", "-d", device, "-s", "tiny", "-r", "16", "--calibrate", "4",
                             "--calibration-subnets", "0", "--num-classes", "10", "-q")
    assert code == 0 and "deprecated" in err, err
    assert "calibration:" not in out
    table = json.loads((tmp_path / "latency" / "test-cpu" / "tiny.json").read_text())
    assert len(table["calibration"]["points"]) == 3
    # a bad old value is refused as the new one is: one line, naming the option, no note
    code, _, err = run_cli("latency", "build", "-d", device, "-s", "tiny", "--calibrate", "-1")
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 1 and lines[0].startswith("ofa: error: --calibrate:"), err


def test_kit_and_import_print_their_documented_json(run_cli, device, tmp_path):
    code, out, err = run_cli("latency", "kit", "-d", device, "-s", "tiny", "--out", "kit", "--calibration-subnets",
                             "3", "-q", "--json")
    assert code == 0, err
    doc = one_object(out)
    assert set(doc) == {"kit", "parts", "subnets", "resolutions", "megabytes", "runtime", "seconds"}
    assert doc["kit"] == "kit" and doc["parts"] > 0 and doc["subnets"] == 3 and doc["resolutions"] == [16, 32]
    assert doc["megabytes"] > 0 and doc["runtime"] and doc["seconds"] >= 0
    kit = tmp_path / "kit"
    kit_doc = json.loads((kit / "kit.json").read_text())
    assert sum(m["kind"] == "subnet" for m in kit_doc["models"]) == 3
    done = subprocess.run([sys.executable, str(kit / "run_kit.py"), "--quiet"], cwd=tmp_path, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr

    code, out, err = run_cli("latency", "import", "--format", "kit", "-d", device, "-s", "tiny",
                             str(kit / "results.json"), "--out", "imported.json", "--json")
    assert code == 0, err
    doc = one_object(out)
    assert set(doc) == {"table", "entries", "resolutions", "smallest_ms", "largest_ms", "calibration", "incomplete"}
    assert doc["table"] == "imported.json" and (tmp_path / "imported.json").is_file()
    assert doc["entries"] > 0 and doc["resolutions"] == [16, 32] and 0 < doc["smallest_ms"] <= doc["largest_ms"]
    assert set(doc["calibration"]) == CALIBRATION and doc["incomplete"] == {}


def test_old_calibrate_spelling_of_kit_still_works_with_a_note(run_cli, device, tmp_path):
    code, out, err = run_cli("latency", "kit", "-d", device, "-s", "tiny", "-r", "16", "--out", "kit",
                             "--calibrate", "2", "-q")
    assert code == 0, err
    assert "ofa: note: latency kit --calibrate N is deprecated" in err
    kit_doc = json.loads((tmp_path / "kit" / "kit.json").read_text())
    assert sum(m["kind"] == "subnet" for m in kit_doc["models"]) == 2
    assert "whole subnets" in out


@pytest.mark.parametrize("command, what", [
    ("build", "Output file"), ("import", "Output file"), ("fit", "Output file"),
    ("validate", "Output folder"), ("kit", "Output folder"),
])
def test_every_out_says_file_or_folder(run_cli, monkeypatch, command, what):
    monkeypatch.setenv("COLUMNS", "200")
    code, out, _ = run_cli("latency", command, "--help")
    assert code == 0
    line = next(line for line in out.splitlines() if line.lstrip("│ *").startswith("--out "))
    assert what in line, line
    assert "--json" in out and "With --json: " in out
    assert "--calibrate " not in out  # the old spelling is hidden


@pytest.mark.parametrize("command", ["build", "kit"])
def test_calibration_count_has_its_own_name(run_cli, monkeypatch, command):
    monkeypatch.setenv("COLUMNS", "200")
    code, out, _ = run_cli("latency", command, "--help")
    assert code == 0
    line = next(line for line in out.splitlines() if "--calibration-subnets" in line)
    assert "-k" in line and "[default: " in line
