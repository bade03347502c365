"""One CLI vocabulary for predictor, search, specialize and export: `--accuracy-data` for an accuracy
data file (the old `--data FILE` of `predictor train` still works, with a note), `--json` that prints
one object and nothing else, and an `--out` whose help says file or folder. None of these tests
changes the session's trained run."""

import itertools
import json

import numpy as np
import pytest
from conftest import synthetic_accuracy, write_tiny_table


def snapshot(folder):
    """Every path under the folder with its size and modification time."""
    return {p: (p.lstat().st_size, p.lstat().st_mtime_ns) for p in sorted(folder.rglob("*"))}


def accuracy_file(run, path, n: int = 80):
    """An accuracy data file bound to `run`, with learnable synthetic labels, written at `path`
    (not in the run)."""
    from ofa.predictor.accuracy_data import open_accuracy_data, supernet_fingerprint
    from ofa.predictor.sampling import stratified_stream
    from ofa.spaces import decode, get_space

    space = get_space("tiny")
    genes = list(itertools.islice(stratified_stream(space, 0, 3), n))
    top1 = synthetic_accuracy(space, np.stack(genes))
    data = open_accuracy_data(path, supernet_fingerprint(run), {"data": None, "split": "val"})
    for i, (g, acc) in enumerate(zip(genes, top1)):
        data.append({"index": i, "source": "collect", "subnet": str(decode(space, g)), "top1": float(acc)})
    return path


def test_predictor_train_takes_accuracy_data_and_still_the_old_data(run_cli, trained_run, tmp_path):
    before = snapshot(trained_run)
    data = accuracy_file(trained_run, tmp_path / "acc.jsonl")
    code, out, err = run_cli("predictor", "train", "--supernet", str(trained_run), "--accuracy-data", str(data),
                             "--out", str(tmp_path / "p.json"), "--json")
    assert code == 0, err
    report = json.loads(out)
    assert report["predictor"] == str(tmp_path / "p.json") and report["trained_on"]["subnets"] == 80
    assert report["trained_on"]["file"] == str(data) and "kendall_tau" in report["report"]
    assert "note" not in err

    code, out, err = run_cli("predictor", "train", "--supernet", str(trained_run), "--data", str(data),
                             "--out", str(tmp_path / "old.json"), "--json")
    assert code == 0, err
    assert json.loads(out)["trained_on"]["file"] == str(data)
    notes = [line for line in err.splitlines() if line.startswith("ofa: note:")]
    assert len(notes) == 1 and notes[0].startswith("ofa: note: predictor train --data FILE is deprecated")
    assert "--accuracy-data FILE" in notes[0]

    # both given: the new spelling wins
    code, out, err = run_cli("predictor", "train", "--supernet", str(trained_run), "--accuracy-data", str(data),
                             "--data", str(tmp_path / "missing.jsonl"), "--out", str(tmp_path / "both.json"), "--json")
    assert code == 0, err
    assert json.loads(out)["trained_on"]["file"] == str(data)
    # the old spelling is hidden from --help
    old = next(p for p in _command(("predictor", "train")).params if "--data" in p.opts)
    assert old.hidden

    # --predictor with or without .json
    code, out, err = run_cli("predictor", "show", "--predictor", str(tmp_path / "p"), "--json")
    assert code == 0, err
    assert json.loads(out)["kind"] == "trees"
    assert snapshot(trained_run) == before


def test_search_takes_a_predictor_without_its_json_suffix(run_cli, trained_run, tmp_path, monkeypatch):
    before = snapshot(trained_run)
    data = accuracy_file(trained_run, tmp_path / "acc.jsonl", n=60)
    code, _, err = run_cli("predictor", "train", "--supernet", str(trained_run), "--accuracy-data", str(data),
                           "--out", str(tmp_path / "p.json"))
    assert code == 0, err
    write_tiny_table(tmp_path)
    monkeypatch.chdir(tmp_path)
    code, out, err = run_cli("search", "--supernet", str(trained_run), "-d", "cpu", "--predictor", str(tmp_path / "p"),
                             "--generations", "3", "--population", "8", "--out", str(tmp_path / "s"), "-q", "--json")
    assert code == 0, err
    result = json.loads(out)
    assert result["predictor"] == str(tmp_path / "p.json") and result["front"]
    assert (tmp_path / "s" / "front.json").is_file()
    assert snapshot(trained_run) == before


def test_collect_json_is_one_object_and_its_out_keeps_the_run_untouched(run_cli, trained_run, tmp_path):
    before = snapshot(trained_run)
    out = tmp_path / "c.jsonl"
    code, stdout, err = run_cli("predictor", "collect", "--supernet", str(trained_run), "-n", "4", "-q",
                                "--out", str(out), "--json")
    assert code == 0, err
    result = json.loads(stdout)  # one object and nothing else
    assert set(result) == {"data", "subnets", "measured_now", "data_set", "split", "images", "top1_min", "top1_max"}
    assert result["data"] == str(out) and result["subnets"] == result["measured_now"] == 4
    assert result["split"] == "val" and result["images"] > 0 and isinstance(result["data_set"], str)
    assert 0 <= result["top1_min"] <= result["top1_max"] <= 100
    code, stdout, err = run_cli("predictor", "collect", "--supernet", str(trained_run), "-n", "5", "-q",
                                "-o", str(out), "--json")
    assert code == 0, err
    again = json.loads(stdout)
    assert again["subnets"] == 5 and again["measured_now"] == 1  # a re-run measures only the missing one
    code, stdout, err = run_cli("predictor", "collect", "--supernet", str(trained_run), "-n", "5", "-q",
                                "--out", str(out), "--json")
    assert code == 0 and json.loads(stdout)["measured_now"] == 0, err
    code, stdout, err = run_cli("predictor", "collect", "--supernet", str(trained_run), "-n", "5", "-q",
                                "--out", str(out))
    assert code == 0 and "5 subnets measured" in stdout, err
    assert snapshot(trained_run) == before


def test_export_json_is_one_object(run_cli, trained_run, tmp_path):
    before = snapshot(trained_run)
    out = tmp_path / "max"
    code, stdout, err = run_cli("export", "--supernet", str(trained_run), "--subnet", "max", "-o", str(out), "--json")
    assert code == 0, err
    result = json.loads(stdout)
    assert set(result) == {"out", "files", "subnet", "accuracy", "verification"}
    assert result["out"] == str(out) and result["subnet"].startswith("r")
    assert {"onnx", "weights", "config"} <= set(result["files"])
    assert all((out / name).is_file() for name in result["files"].values())
    assert result["verification"]["passed"] and result["verification"]["max_abs_diff"] >= 0
    assert 0 <= result["accuracy"]["top1"] <= 100
    written = json.loads((out / "export.json").read_text())
    assert written["files"] == result["files"] and written["subnet"] == result["subnet"]
    assert snapshot(trained_run) == before


COMMANDS = [("predictor", "collect"), ("predictor", "train"), ("predictor", "import"), ("search",), ("specialize",),
            ("export",)]


def _command(path):
    import typer

    from ofa.cli import app

    command = typer.main.get_command(app)
    for name in path:
        command = command.commands[name]
    return command


@pytest.mark.parametrize("path", COMMANDS, ids=" ".join)
def test_every_out_says_file_or_folder(run_cli, path):
    out = next(p for p in _command(path).params if "--out" in getattr(p, "opts", ()))
    assert out.help.startswith(("Output file", "Output folder")), out.help
    code, text, _ = run_cli(*path, "--help")
    assert code == 0 and "Output f" in text


@pytest.mark.parametrize("path", [("predictor", "collect"), ("predictor", "train"), ("predictor", "show"),
                                  ("search",), ("specialize",), ("export",)], ids=" ".join)
def test_every_reporting_command_takes_json_and_gives_its_shape(path):
    command = _command(path)
    assert any("--json" in getattr(p, "opts", ()) for p in command.params)
    assert "With --json: " in command.help


@pytest.mark.parametrize("path", [("predictor", "collect"), ("specialize",), ("export",)], ids=" ".join)
def test_data_means_a_data_set(path):
    data = next(p for p in _command(path).params if "--data" in getattr(p, "opts", ()))
    assert "data set" in data.help


def test_shared_vocabulary_is_used(run_cli):
    from ofa.cli.options import Device, Predictor

    for path in (("search",), ("specialize",)):
        device = next(p for p in _command(path).params if "--device" in getattr(p, "opts", ()))
        assert device.multiple and device.help.startswith(Device.__metadata__[0].help)
    for path in (("predictor", "show"), ("search",), ("specialize",)):
        predictor = next(p for p in _command(path).params if "--predictor" in getattr(p, "opts", ()))
        assert predictor.help == Predictor.__metadata__[0].help
