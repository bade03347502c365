"""One CLI vocabulary for train-supernet, evaluate, import-supernet, run, devices, spaces and data:
--device is a device profile (train-supernet's torch device is --torch-device), -r is not --recipe,
every --out says whether it names a file or a folder, --json prints only JSON on stdout, and the
old spellings still work with a one-line note on stderr."""

import contextlib
import io
import json
import shutil

import pytest
import yaml

from conftest import tiny_recipe

FINAL_ROW_KEYS = {"name", "subnet", "top1", "top5", "loss"}
STAGE_KEYS = {"stage", "status", "seconds", "output"}


def _cli(*args: str) -> tuple[int, str, str]:
    """`ofa ARGS` in-process, for module fixtures (run_cli's capsys is per test)."""
    from ofa.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            main(list(args))
            code = 0
        except SystemExit as e:
            code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
    return code, out.getvalue(), err.getvalue()


def _one_object(stdout: str) -> dict:
    lines = stdout.strip().splitlines()
    assert len(lines) == 1, stdout
    return json.loads(lines[0])


def _help_text(stdout: str) -> str:
    """--help as one line of words (rich wraps it in boxes)."""
    return " ".join(stdout.replace("│", " ").split())


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    return tmp_path_factory.mktemp("vocabulary")


@pytest.fixture(scope="module")
def recipe(root, image_folder):
    path = root / "recipe.yaml"
    path.write_text(yaml.safe_dump(tiny_recipe(f"imagefolder:{image_folder}", phases=[
        {"name": "full", "epochs": 1, "lr": 0.05, "resolutions": [16]}], device="auto")))
    return path


@pytest.fixture(scope="module")
def json_training(root, recipe):
    """`train-supernet --torch-device cpu --json`, into the folder a pipeline keeps its supernet in."""
    out = root / "everything" / "supernet"
    return out, _cli("train-supernet", "--recipe", str(recipe), "--torch-device", "cpu", "--out", str(out), "--json")


@pytest.fixture(scope="module")
def pipeline_run(root, recipe, json_training):
    """`ofa run --json` of a whole pipeline whose supernet is already trained (the stage is skipped)."""
    from test_latency_table import PROFILE_YAML

    (root / "dev.yaml").write_text(PROFILE_YAML)
    pipeline = {"description": "test", "out": "everything", "stages": [
        {"train": {"recipe": str(recipe)}},
        {"latency": {"device": "dev.yaml", "calibrate": 3, "resolutions": [16]}},
        {"collect": {"n": 12}},
        {"predictor": {"model": "trees"}},
        {"specialize": {"device": "dev.yaml", "latency": ["60%"], "population": 10, "generations": 5}}]}
    (root / "p.pipeline.yaml").write_text(yaml.safe_dump(pipeline))
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(root)
        return _cli("run", "p.pipeline.yaml", "--json")


# -- train-supernet -----------------------------------------------------------------------------


def test_train_supernet_json_is_one_object_with_the_run_and_its_last_validation(json_training):
    out, (code, stdout, err) = json_training
    assert code == 0, err
    result = _one_object(stdout)
    assert set(result) == {"run", "global_step", "final"}
    assert result["run"] == str(out) and result["global_step"] == 6
    assert result["final"] and all(FINAL_ROW_KEYS <= set(row) for row in result["final"])
    assert {row["name"] for row in result["final"]} >= {"max", "min"}
    assert "deprecated" not in err  # --torch-device is the new spelling: no note
    assert "full (1/1) ep 1/1" in err  # progress goes to stderr
    assert yaml.safe_load((out / "recipe.yaml").read_text())["device"] == "cpu"
    assert (out / "supernet.safetensors").is_file()


def test_old_device_and_r_still_train_with_a_note_each(run_cli, tmp_path, recipe):
    out = tmp_path / "old"
    code, stdout, err = run_cli("train-supernet", "-r", str(recipe), "--device", "cpu", "--out", str(out), "-q")
    assert code == 0, err
    assert "top-1" in stdout and "run:" in stdout
    assert "ofa: note: train-supernet --device is deprecated" in err and "use --torch-device" in err
    assert "ofa: note: train-supernet -r is deprecated" in err and "use --recipe" in err
    assert yaml.safe_load((out / "recipe.yaml").read_text())["device"] == "cpu"


def test_the_new_spelling_wins_over_the_old_one(run_cli, tmp_path, recipe):
    in_the_way = tmp_path / "afile"
    in_the_way.write_text("")
    # the old value alone is used (and refused) ...
    code, _, err = run_cli("train-supernet", "--device", "bogus", "--out", str(in_the_way))
    assert code == 2 and "device: expected auto, cpu, cuda or cuda:N, got 'bogus'" in err
    code, _, err = run_cli("train-supernet", "-r", "nosuch", "--out", str(in_the_way))
    assert code == 2 and "recipe not found: 'nosuch'" in err
    # ... but with the new one given too, the new one counts: the command gets as far as --out
    code, _, err = run_cli("train-supernet", "--device", "bogus", "--torch-device", "cpu", "--out", str(in_the_way))
    assert code == 2 and "a file is in the way" in err and "bogus" not in err
    assert "train-supernet --device is deprecated" in err
    code, _, err = run_cli("train-supernet", "-r", "nosuch", "--recipe", str(recipe), "--out", str(in_the_way))
    assert code == 2 and "a file is in the way" in err and "nosuch" not in err
    assert "train-supernet -r is deprecated" in err


def test_train_supernet_help_shows_the_new_spellings_only(run_cli):
    code, stdout, _ = run_cli("train-supernet", "--help")
    text = _help_text(stdout)
    assert code == 0 and "--torch-device" in text and "--recipe" in text
    assert "--device" not in text and " -r " not in text
    assert 'With --json: one object' in text and '"global_step"' in text and '"final"' in text
    assert "[default: quickstart]" in text


# -- run ----------------------------------------------------------------------------------------------


def test_run_json_is_one_object_with_every_stage_and_the_summary(pipeline_run, root):
    code, stdout, err = pipeline_run
    assert code == 0, err
    result = _one_object(stdout)
    assert set(result) == {"pipeline", "out", "stages", "summary"}
    assert result["pipeline"] == "p" and result["out"] == "everything"
    assert [r["stage"] for r in result["stages"]] == ["train", "latency", "collect", "predictor", "specialize"]
    assert all(set(r) == STAGE_KEYS for r in result["stages"])
    assert [r["status"] for r in result["stages"]] == ["complete (skipped)"] + ["ran"] * 4
    assert result["summary"] == json.loads((root / "everything/models/summary.json").read_text())
    assert len(result["summary"]["models"]) == 1


def test_run_json_again_skips_every_stage_and_without_specialize_has_no_summary(pipeline_run, root, run_cli,
                                                                              monkeypatch):
    assert pipeline_run[0] == 0, pipeline_run[2]
    monkeypatch.chdir(root)
    code, stdout, err = run_cli("run", "p.pipeline.yaml", "--json", "-q")
    assert code == 0, err
    result = _one_object(stdout)
    assert [r["status"] for r in result["stages"]] == ["complete (skipped)"] * 5
    assert result["summary"]["models"]
    # a pipeline that ends before specialize: "summary" is null
    shutil.copytree(root / "everything" / "supernet", root / "only-train" / "supernet")
    (root / "t.pipeline.yaml").write_text(yaml.safe_dump(
        {"out": "only-train", "stages": [{"train": {"recipe": "recipe.yaml"}}]}))
    code, stdout, err = run_cli("run", "t.pipeline.yaml", "--json")
    assert code == 0, err
    result = _one_object(stdout)
    assert result["summary"] is None and result["out"] == "only-train"
    assert [(r["stage"], r["status"]) for r in result["stages"]] == [("train", "complete (skipped)")]
    # without --json: the table as before
    code, stdout, err = run_cli("run", "t.pipeline.yaml", "-q")
    assert code == 0 and "complete (skipped)" in stdout and not stdout.lstrip().startswith("{"), err


# -- every --out says file or folder; every report has --json -----------------------------------------


@pytest.mark.parametrize("command", [["train-supernet"], ["import-supernet"], ["run"]])
def test_every_out_says_it_names_a_folder(run_cli, command):
    code, stdout, _ = run_cli(*command, "--help")
    text = _help_text(stdout)
    assert code == 0 and "--out" in text and "Output folder" in text


@pytest.mark.parametrize("command", [["train-supernet"], ["evaluate"], ["import-supernet"], ["run"],
                                     ["devices", "list"], ["devices", "show"], ["spaces", "list"],
                                     ["spaces", "show"], ["spaces", "sample"], ["spaces", "cost"], ["data", "list"]])
def test_every_report_takes_json_and_its_help_gives_the_shape(run_cli, command):
    code, stdout, _ = run_cli(*command, "--help")
    text = _help_text(stdout)
    assert code == 0 and "--json" in text and "With --json:" in text


def test_listings_print_one_json_object_per_line(run_cli):
    for command, key in ((["devices", "list"], "backend"), (["spaces", "list"], "num_architectures"),
                         (["data", "list"], "description")):
        code, stdout, err = run_cli(*command, "--json")
        rows = [json.loads(line) for line in stdout.splitlines()]
        assert code == 0 and rows and all("name" in r and key in r for r in rows), err
    code, stdout, _ = run_cli("devices", "list", "--json")
    assert "cpu" in {json.loads(line)["name"] for line in stdout.splitlines()}
    code, stdout, _ = run_cli("spaces", "list", "--json")
    assert "tiny" in {json.loads(line)["name"] for line in stdout.splitlines()}
    code, stdout, _ = run_cli("devices", "show", "cpu", "--json")
    assert code == 0 and json.loads(stdout)["backend_available"] is True
