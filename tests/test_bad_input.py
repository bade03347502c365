"""Every command refuses bad input the same way: exit code 2, one line on stderr that starts with
`ofa: error:`, no traceback, and no file created, changed or removed. One table, every command."""

from __future__ import annotations

import os

import pytest
import yaml
from conftest import tiny_recipe, write_tiny_table

from ofa.resources import data_dir

BIG = "99999999999999999999999"

# (id, arguments, text the error line must hold); "RUN" is a trained tiny run, paths are in the
# test's folder: `afile` is a file, `bad-space.yaml` has a resolution of 1e12, `big-batch.yaml`
# a recipe with a batch of 1e12, `huge-board.yaml` a profile with a batch of 1e21, `corrupt` a run
# whose run.json is broken, `tiny.json` a table of the tiny space.
CASES = [
    ("unknown command", ["nosuch"], "No such command"),
    ("unknown option", ["spaces", "list", "--nosuch"], "No such option"),
    ("not a number", ["spaces", "sample", "tiny", "-n", "abc"], "valid integer"),
    ("spaces show unknown", ["spaces", "show", "nosuch"], "unknown search space"),
    ("spaces sample -n 0", ["spaces", "sample", "tiny", "-n", "0"], "-n: expected a whole number from 1"),
    ("spaces sample -n huge", ["spaces", "sample", "tiny", "-n", BIG], "to 1,000,000, got 9999"),
    ("spaces cost classes 0", ["spaces", "cost", "tiny", "max", "--num-classes", "0"], "--num-classes"),
    ("spaces cost classes <0", ["spaces", "cost", "tiny", "max", "--num-classes", "-4"], "--num-classes"),
    ("spaces cost subnet", ["spaces", "cost", "tiny", "r999:k3e2,k3e2,k3e2"], "resolution 999"),
    ("space resolution 1e12", ["spaces", "show", "bad-space.yaml"], "resolutions: expected a whole number from 8"),
    ("devices show unknown", ["devices", "show", "nosuch"], "unknown device"),
    ("profile batch 1e21", ["devices", "show", "huge-board.yaml"], "batch_size: expected a whole number"),
    ("latency build classes", ["latency", "build", "-d", "cpu", "-s", "tiny", "--num-classes", "-3"], "--num-classes"),
    ("latency build -k -1", ["latency", "build", "-d", "cpu", "-s", "tiny", "--calibrate", "-1"], "--calibrate"),
    ("latency build out file", ["latency", "build", "-d", "cpu", "-s", "tiny", "--out", "afile/t.json"],
     "a file is in the way"),
    ("latency build under file", ["latency", "build", "-d", "cpu", "-s", "tiny", "--out", "afile/x/t.json"],
     "lies under a file"),
    ("latency build resolution", ["latency", "build", "-d", "cpu", "-s", "tiny", "-r", "5"], "-r: expected"),
    ("latency validate -n 0", ["latency", "validate", "-d", "cpu", "-s", "tiny", "-n", "0"], "-n"),
    ("latency validate out file", ["latency", "validate", "-d", "cpu", "-s", "tiny", "--table", "tiny.json",
                                   "--out", "afile", "-n", "3"], "a file is in the way"),
    ("latency calibrate -n 1", ["latency", "calibrate", "-d", "cpu", "-s", "tiny", "-n", "1"], "from 2"),
    ("latency import not ofa", ["latency", "import", "--format", "ofa", "-d", "note10", "-s", "mbv3-w1.2",
                                "huge-board.yaml"], "not a once-for-all latency table"),
    ("latency show missing", ["latency", "show", "-d", "jetson", "-s", "tiny"], "ofa latency build"),
    ("train out is a file", ["train-supernet", "--out", "afile"], "a file is in the way"),
    ("train out under a file", ["train-supernet", "--out", "afile/run"], "lies under a file"),
    ("train recipe batch 1e12", ["train-supernet", "--recipe", "big-batch.yaml", "--out", "new"],
     "batch_size: expected a whole number"),
    ("train epochs 0", ["train-supernet", "--epochs", "0", "--out", "new"], "--epochs"),
    ("train workers <0", ["train-supernet", "--workers", "-1", "--out", "new"], "--workers"),
    ("train unknown recipe", ["train-supernet", "--recipe", "nosuch", "--out", "new"], "nosuch"),
    ("train resume nothing", ["train-supernet", "--resume", "--out", "empty"], "nothing to resume"),
    ("train resume corrupt", ["train-supernet", "--resume", "--out", "corrupt"], "run.json"),
    ("train resume other recipe", ["train-supernet", "--resume", "--recipe", "quickstart", "--out", "RUN"],
     "differs from the recipe of the run"),
    ("train over a run", ["train-supernet", "--out", "RUN"], "--force"),
    ("evaluate calib -5", ["evaluate", "--supernet", "RUN", "--calib-images", "-5"], "--calib-images"),
    ("evaluate calib 0", ["evaluate", "--supernet", "RUN", "--calib-images", "0"], "--calib-images"),
    ("evaluate no run", ["evaluate", "--supernet", "empty"], "not a supernet run"),
    ("collect -n 0", ["predictor", "collect", "--supernet", "RUN", "-n", "0"], "-n"),
    ("predictor import missing", ["predictor", "import", "--format", "ofa", "nosuch.pth", "-s", "mbv3-w1.2",
                                  "--out", "p.json"], "not found"),
    ("search population 1", ["search", "--supernet", "RUN", "-d", "cpu", "--population", "1"], "--population"),
    ("search generations 0", ["search", "--supernet", "RUN", "-d", "cpu", "--generations", "0"], "--generations"),
    ("search no predictor", ["search", "--space", "mbv3-w1.2", "-d", "note10"], "--predictor FILE"),
    ("search unknown device", ["search", "--supernet", "RUN", "-d", "nosuch"], "unknown device"),
    ("specialize bare budget", ["specialize", "--supernet", "RUN", "-d", "cpu", "-l", "20"], "20ms"),
    ("specialize finetune <0", ["specialize", "--supernet", "RUN", "-d", "cpu", "-l", "2ms",
                                "--finetune-epochs", "-1"], "--finetune-epochs"),
    ("run unknown pipeline", ["run", "nosuch"], "nosuch"),
    # once-for-all's supernets: `w12.pth` is an OFAMobileNetV3 w1.2 checkpoint, IMPORTED its import
    ("import other width", ["import-supernet", "w12.pth", "-s", "mbv3-w1.0", "--out", "new"], "another width"),
    ("import a ResNet", ["import-supernet", "resnet.pth", "-s", "mbv3-w1.2", "--out", "new"], "ResNet"),
    ("import truncated", ["import-supernet", "truncated.pth", "-s", "mbv3-w1.2", "--out", "new"],
     "not a readable PyTorch file"),
    ("import pickle payload", ["import-supernet", "payload.pth", "-s", "mbv3-w1.2", "--out", "new"], "refused"),
    ("import space mismatch", ["import-supernet", "w12.pth", "-s", "tiny", "--out", "new"], "does not fit space 'tiny'"),
    ("import over a run", ["import-supernet", "w12.pth", "-s", "mbv3-w1.2", "--out", "IMPORTED"], "--force"),
    ("import out is a file", ["import-supernet", "w12.pth", "-s", "mbv3-w1.2", "--out", "afile"], "a file is in the way"),
    ("import no file", ["import-supernet", "-s", "mbv3-w1.2", "--out", "new"], "either a checkpoint FILE"),
    ("calib-data no images", ["export", "--supernet", "IMPORTED", "--subnet", "min", "--out", "new",
                              "--calib-data", "imagefolder:empty"], "no images in"),
    ("imported without calib-data", ["export", "--supernet", "IMPORTED", "--subnet", "min", "--out", "new"],
     "--calib-data"),
    ("imported evaluate unlabelled", ["evaluate", "--supernet", "IMPORTED", "--calib-data", "imagefolder:images"],
     "pass --data"),
    ("imported resume", ["train-supernet", "--resume", "--out", "IMPORTED"], "--init"),
    ("init other space", ["train-supernet", "--init", "IMPORTED", "--recipe", "quickstart", "--out", "new"],
     "the recipe trains space 'tiny'"),
    ("init not a run", ["train-supernet", "--init", "empty", "--recipe", "transfer", "--out", "new"],
     "not a supernet run"),
]


@pytest.fixture(scope="module")
def place(tmp_path_factory, trained_run):
    root = tmp_path_factory.mktemp("bad-input")
    (root / "afile").write_text("a file")
    space = yaml.safe_load((data_dir("latency").parent / "ofa" / "spaces" / "builtin" / "tiny.yaml").read_text())
    (root / "bad-space.yaml").write_text(yaml.safe_dump({**space, "name": "bad", "resolutions": [16, 10**12]}))
    (root / "big-batch.yaml").write_text(yaml.safe_dump(tiny_recipe("digits", batch_size=10**12)))
    board = yaml.safe_load((data_dir("devices") / "cpu.yaml").read_text())
    (root / "huge-board.yaml").write_text(yaml.safe_dump({**board, "name": "huge", "aliases": [],
                                                          "batch_size": 10**21}))
    (root / "empty").mkdir()
    (root / "corrupt").mkdir()
    (root / "corrupt" / "run.json").write_text("{")
    (root / "corrupt" / "recipe.yaml").write_text(yaml.safe_dump(tiny_recipe("digits")))
    write_tiny_table(root, device="cpu")
    os.replace(root / "latency" / "cpu" / "tiny.json", root / "tiny.json")
    _ofa_files(root)
    return root, trained_run


def _ofa_files(root):
    """once-for-all checkpoints good and bad, a folder of images without classes, and an imported run."""
    import pickle

    import torch
    from PIL import Image
    from test_supernet_import import ofa_checkpoint

    from ofa.train.import_run import import_supernet

    torch.save({"state_dict": ofa_checkpoint()}, root / "w12.pth")
    torch.save({"input_stem.0.conv.weight": torch.zeros(8, 3, 3, 3), "classifier.linear.weight": torch.zeros(2, 8)},
               root / "resnet.pth")
    blob = (root / "w12.pth").read_bytes()
    (root / "truncated.pth").write_bytes(blob[: len(blob) // 3])

    class Payload:
        def __reduce__(self):
            return (os.system, ("touch PWNED",))

    (root / "payload.pth").write_bytes(pickle.dumps({"state_dict": Payload()}))
    (root / "images").mkdir()
    for i in range(3):
        Image.new("RGB", (12, 12), (60 * i, 20, 20)).save(root / "images" / f"{i}.png")
    import_supernet("ofa", root / "w12.pth", "mbv3-w1.2", root / "IMPORTED")


def snapshot(*folders):
    return {p: (p.stat().st_size, p.stat().st_mtime_ns) for f in folders for p in sorted(f.rglob("*"))}


@pytest.mark.parametrize("args, message", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_input_is_one_line_exit_2_and_changes_nothing(place, run_cli, monkeypatch, args, message):
    root, run = place
    monkeypatch.chdir(root)
    before = snapshot(root, run)
    code, _, err = run_cli(*[str(run) if a == "RUN" else a for a in args])
    assert not (root / "PWNED").exists()
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 1 and lines[0].startswith("ofa: error:"), err
    assert message in lines[0] and "Traceback" not in err, lines[0]
    assert snapshot(root, run) == before
