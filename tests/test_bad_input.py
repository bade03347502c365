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
     "lies under a file"),
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
    # 1. what ofa did not write is never replaced: `photos.partial` holds a user's files, `link` points
    # at `afile`, `dangling` at nothing, `loop` at itself, `fifo` is a named pipe
    ("train into user files", ["train-supernet", "--out", "photos.partial", "--force"], "files ofa did not write"),
    ("export over a run", ["export", "--supernet", "RUN", "--subnet", "max", "--out", "RUN", "--force"],
     "only its own model folders"),
    ("export out a link", ["export", "--supernet", "RUN", "--subnet", "max", "--out", "link"], "symbolic link"),
    ("export out dangling", ["export", "--supernet", "RUN", "--subnet", "max", "--out", "dangling"], "symbolic link"),
    ("export out loop", ["export", "--supernet", "RUN", "--subnet", "max", "--out", "loop"], "symbolic link"),
    ("build out device", ["latency", "build", "-d", "cpu", "-s", "tiny", "--out", "/dev/null"], "not a regular file"),
    ("build out fifo", ["latency", "build", "-d", "cpu", "-s", "tiny", "--out", "fifo"], "not a regular file"),
    ("build out link", ["latency", "build", "-d", "cpu", "-s", "tiny", "--out", "link"], "symbolic link"),
    ("build over a user file", ["latency", "build", "-d", "cpu", "-s", "tiny", "--out", "afile", "--force"],
     "not a latency table ofa wrote"),
    ("predictor over a user file", ["predictor", "train", "--supernet", "RUN", "--out", "notes.json"],
     "not a predictor ofa wrote"),
    ("search out a link", ["search", "--space", "tiny", "--predictor", "pred", "-d", "cpu", "--out", "linkdir"],
     "symbolic link"),
    # 2. names that become paths
    ("space name escapes", ["spaces", "show", "escape.yaml"], "name: expected a name"),
    ("space name newline", ["spaces", "show", "newline.yaml"], "name: expected a name"),
    # 3. numbers that are not numbers
    ("table NaN", ["latency", "show", "-d", "cpu", "-s", "tiny", "--table", "nan.json"], "NaN is not a number"),
    ("table negative", ["latency", "show", "-d", "cpu", "-s", "tiny", "--table", "negative.json"],
     "milliseconds from 0"),
    ("table huge", ["latency", "predict", "max", "-d", "cpu", "-s", "tiny", "--table", "huge.json"], "milliseconds"),
    ("table scale", ["latency", "show", "-d", "cpu", "-s", "tiny", "--table", "scale.json"], "calibration.scale"),
    ("table batch 0", ["latency", "show", "-d", "cpu", "-s", "tiny", "--table", "batch0.json"], "batch_size"),
    ("table extra resolution", ["latency", "predict", "max", "-d", "cpu", "-s", "tiny", "--table", "extra-res.json"],
     "does not have"),
    ("table no p10", ["latency", "show", "-d", "cpu", "-s", "tiny", "--table", "no-stat.json"], "'p10_ms'"),
    ("predictor NaN weights", ["search", "--space", "tiny", "--predictor", "nanpred", "-d", "cpu"], "NaN, infinite or absurd"),
    ("predictor huge weights", ["search", "--space", "tiny", "--predictor", "hugepred", "-d", "cpu"], "NaN, infinite or absurd"),
    ("predictor no weights", ["predictor", "show", "--predictor", "noweights.json"], "weights: missing field"),
    ("predictor weights path", ["predictor", "show", "--predictor", "pathweights.json"], "weights: expected a name"),
    ("accuracy 1e9", ["predictor", "train", "--supernet", "RUN", "--accuracy-data", "big-top1.jsonl", "--out",
                      "p2.json"],
     "a percentage from 0 to 100"),
    ("space expand 1e30", ["spaces", "show", "expand-big.yaml"], "expand ratios from"),
    ("space expand 1e-30", ["spaces", "sample", "expand-tiny.yaml"], "expand ratios from"),
    ("space expand inf", ["spaces", "show", "expand-inf.yaml"], "expected a finite number"),
    ("subnet kernel 3.9", ["spaces", "cost", "tiny", "kernel39.json"], "kernels: expected a whole number"),
    ("subnet kernels '35'", ["spaces", "cost", "tiny", "kernel35.json"], "expected lists of blocks"),
    ("subnet arabic digits", ["spaces", "cost", "tiny", "r٣٢:k3e2,k3e2,k3e2"], "cannot read subnet"),
    # 4. structures that are not what they claim
    ("yaml alias bomb", ["spaces", "show", "bomb.yaml"], "aliases"),
    ("json deep nesting", ["spaces", "cost", "tiny", "deep.json"], "not readable JSON"),
    ("yaml deep nesting", ["spaces", "show", "deep.yaml"], "nested deeper"),
    ("5000 digits", ["devices", "show", "digits.yaml"], "not readable YAML"),
    ("argument too long", ["spaces", "show", "x" * 300 + ".yaml"], "File name too long"),
    ("run.json no classes", ["evaluate", "--supernet", "no-classes"], "num_classes: missing field"),
    ("run.json bad space", ["evaluate", "--supernet", "bad-space-run"], "space: expected a name"),
    # 5. checkpoints: RESUMABLE has an edited last.json, FINISHED lost its checkpoints/
    ("manifest edited", ["train-supernet", "--resume", "--out", "RESUMABLE"], "does not match its own checksum"),
    ("resume finished", ["train-supernet", "--resume", "--out", "FINISHED"], "has finished training"),
    # 7. options that contradict or vanish
    ("two budgets one device", ["search", "--space", "tiny", "--predictor", "pred", "-d", "cpu", "-l", "cpu=0.1ms",
                                "-l", "cpu=0.2ms"], "has a budget already"),
    ("budgets one folder", ["specialize", "--supernet", "RUN", "-d", "cpu", "-l", "0.2ms", "-l", "0.2000001ms"],
     "both name the model folder"),
    ("format comma", ["export", "--supernet", "RUN", "--subnet", "max", "--out", "new", "--format", ","],
     "names no format"),
    ("format empty", ["export", "--supernet", "RUN", "--subnet", "max", "--out", "new", "--format", ""],
     "names no format"),
    ("device twice", ["search", "--space", "tiny", "--predictor", "pred", "-d", "cpu", "-d", "cpu"], "given twice"),
    ("pipeline n -5", ["run", "collect-n.pipeline.yaml"], "collect.n: expected a whole number"),
    ("pipeline model gpt", ["run", "model-gpt.pipeline.yaml"], "predictor.model: expected one of"),
    ("pipeline budget", ["run", "budget.pipeline.yaml"], "specialize.latency"),
    # from the sweep
    ("garbage images", ["evaluate", "--supernet", "RUN", "--data", "imagefolder:garbage"], "not a readable image"),
    ("data link loop", ["evaluate", "--supernet", "RUN", "--data", "imagefolder:loop"], "imagefolder:loop"),
    ("accuracy header only", ["predictor", "train", "--supernet", "RUN", "--accuracy-data", "header-only.jsonl",
                              "--out", "p3.json"], "no measured subnets"),
    ("NaN in a run's weights", ["evaluate", "--supernet", "NANRUN"], "NaN, infinite or absurd"),
    ("search over user files", ["search", "--space", "tiny", "--predictor", "pred", "-d", "cpu", "--out", "userfront"],
     "not written by this command"),
    ("search into a run", ["search", "--space", "tiny", "--predictor", "pred", "-d", "cpu", "--out", "RUN"],
     "a search writes a folder of its own"),
    ("pipeline into user files", ["run", "collect-ok.pipeline.yaml", "--out", "photos.partial"],
     "files a pipeline did not make"),
    ("predictor out a folder", ["predictor", "import", "--format", "ofa", "w12.pth", "-s", "mbv3-w1.2", "--out",
                                "empty"], "not a predictor's .json"),
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
    _hostile_files(root, space, trained_run)
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


def _hostile_files(root, space, run):
    """The files of the hostile cases above: links, pipes, user folders, and each reader's file edited."""
    import itertools
    import json
    import shutil

    import numpy as np
    from safetensors.numpy import save_file

    from ofa.predictor.features import features
    from ofa.predictor.models import fit_model
    from ofa.predictor.sampling import stratified_stream
    from ofa.predictor.store import AccuracyPredictor, save_predictor
    from ofa.spaces import get_space
    from ofa.train.checkpoint import manifest_digest

    (root / "photos.partial").mkdir()
    (root / "photos.partial" / "holiday.jpg").write_bytes(b"a photo")
    (root / "notes.json").write_text('{"mine": true}')
    os.symlink(root / "afile", root / "link")
    os.symlink(root / "nowhere", root / "dangling")
    os.symlink(root / "loop", root / "loop")
    (root / "realdir").mkdir()
    os.symlink(root / "realdir", root / "linkdir")
    os.mkfifo(root / "fifo")
    for name, value in (("escape", "../../../escaped"), ("newline", "two\nlines")):
        (root / f"{name}.yaml").write_text(yaml.safe_dump({**space, "name": value}))
    for name, value in (("expand-big", 1e30), ("expand-tiny", 1e-30), ("expand-inf", float("inf"))):
        stages = [{**st, "expands": [value]} for st in space["stages"]]
        (root / f"{name}.yaml").write_text(yaml.safe_dump({**space, "name": name, "stages": stages}))
    (root / "bomb.yaml").write_text("a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{c}: &{c} [{', '.join(['*' + p] * 9)}]\n" for p, c in zip("abcdefgh", "bcdefghi")))
    (root / "deep.yaml").write_text("x: " + "[" * 5000 + "]" * 5000 + "\n")
    (root / "deep.json").write_text("[" * 100_000 + "]" * 100_000)
    board = yaml.safe_load((data_dir("devices") / "cpu.yaml").read_text())
    (root / "digits.yaml").write_text(yaml.safe_dump({**board, "name": "digits", "aliases": [], "batch_size": 7})
                                      .replace("batch_size: 7", "batch_size: " + "9" * 5000))
    (root / "kernel39.json").write_text(json.dumps({"resolution": 16, "kernels": [[3.9], [3], [3]],
                                                    "expands": [[2], [2], [2]]}))
    (root / "kernel35.json").write_text(json.dumps({"resolution": 16, "kernels": ["35", [3], [3]],
                                                    "expands": [[2, 2], [2], [2]]}))
    table = json.loads((root / "tiny.json").read_text())
    key = next(iter(table["entries"]))
    edits = {"nan": lambda t: t["entries"][key].update(median_ms=float("nan")),
             "negative": lambda t: t["entries"][key].update(median_ms=-1.0),
             "huge": lambda t: t["entries"][key].update(median_ms=1e300),
             "scale": lambda t: t["calibration"].update(scale=1e30),
             "batch0": lambda t: t.update(batch_size=0),
             "extra-res": lambda t: t.update(resolutions=t["resolutions"] + [224]),
             "no-stat": lambda t: t.update(statistic="p10")}
    for name, edit in edits.items():
        t = json.loads(json.dumps(table))
        edit(t)
        (root / f"{name}.json").write_text(json.dumps(t))
    tiny = get_space("tiny")
    genes = np.stack(list(itertools.islice(stratified_stream(tiny, 0, 3), 30)))
    model = fit_model("mlp", features(tiny, genes), np.linspace(40, 60, 30))
    pred = save_predictor(AccuracyPredictor(tiny, model, None, {}), root / "pred.json")
    for name, value in (("nanpred", np.nan), ("hugepred", 1e30)):
        arrays = {k: v.copy() for k, v in model.arrays.items()}
        arrays["w0"].flat[0] = value
        save_file(arrays, str(root / f"{name}.safetensors"))
        info = json.loads(pred.read_text())
        (root / f"{name}.json").write_text(json.dumps({**info, "weights": f"{name}.safetensors"}))
    info = json.loads(pred.read_text())
    (root / "noweights.json").write_text(json.dumps({k: v for k, v in info.items() if k != "weights"}))
    (root / "pathweights.json").write_text(json.dumps({**info, "weights": "../../etc/passwd"}))
    head = {"format": "ofa-accuracy-data/1", "supernet": {"space": "tiny", "space_fingerprint": tiny.fingerprint(),
                                                          "weights_sha256": "0" * 64}, "settings": {}}
    (root / "big-top1.jsonl").write_text(json.dumps(head) + "\n" + json.dumps({"subnet": "r16:k3e2,k3e2,k3e2",
                                                                               "top1": 1e9}) + "\n")
    for name, edit in (("no-classes", lambda i: i.pop("num_classes")), ("bad-space-run", lambda i: i.update(space="../x"))):
        (root / name).mkdir()
        info = json.loads((run / "run.json").read_text())
        edit(info)
        (root / name / "run.json").write_text(json.dumps(info))
    shutil.copytree(run, root / "RESUMABLE")
    manifest = json.loads((root / "RESUMABLE" / "checkpoints" / "last.json").read_text())
    manifest["state"]["position"]["global_step"] = "many"
    (root / "RESUMABLE" / "checkpoints" / "last.json").write_text(json.dumps(manifest))
    assert manifest_digest(manifest) != manifest["manifest_sha256"]
    shutil.copytree(run, root / "FINISHED")
    shutil.rmtree(root / "FINISHED" / "checkpoints")
    for i in range(12):
        (root / "garbage" / f"class{i % 3}").mkdir(parents=True, exist_ok=True)
        (root / "garbage" / f"class{i % 3}" / f"{i}.png").write_bytes(b"not a png at all")
    from ofa.predictor.accuracy_data import supernet_fingerprint

    (root / "header-only.jsonl").write_text(json.dumps({**head, "supernet": supernet_fingerprint(run)}) + "\n")
    shutil.copytree(run, root / "NANRUN")
    from safetensors.torch import load_file as load_tensors
    from safetensors.torch import save_file as save_tensors

    weights = load_tensors(str(root / "NANRUN" / "supernet.safetensors"))
    next(v for v in weights.values() if v.is_floating_point()).view(-1)[0] = float("nan")
    save_tensors(weights, str(root / "NANRUN" / "supernet.safetensors"))
    (root / "userfront").mkdir()
    (root / "userfront" / "front.json").write_text('{"my": "front"}')
    stages = {"collect-ok": "", "collect-n": "  - collect: {n: -5}\n", "model-gpt": "  - predictor: {model: gpt}\n",
              "budget": "  - specialize: {latency: [lots]}\n"}
    for name, stage in stages.items():
        (root / f"{name}.pipeline.yaml").write_text("out: piped\nstages:\n  - train: {recipe: quickstart}\n" + stage)


def snapshot(*folders):
    """Every path under the folders (links not followed) with its size and modification time."""
    return {p: (p.lstat().st_size, p.lstat().st_mtime_ns) for f in folders for p in sorted(f.rglob("*"))}


@pytest.mark.parametrize("args, message", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_input_is_one_line_exit_2_and_changes_nothing(place, run_cli, monkeypatch, args, message):
    root, run = place
    monkeypatch.chdir(root)
    before = snapshot(root, run)
    code, _, err = run_cli(*[str(run) if a == "RUN" else a for a in args])
    assert not (root / "piped").exists() and not (root / "new").exists()
    assert not (root / "PWNED").exists()
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 1 and lines[0].startswith("ofa: error:"), err
    assert message in lines[0] and "Traceback" not in err, lines[0]
    assert snapshot(root, run) == before


def _ofa(*args, cwd, privileged=True):
    """`ofa ARGS` in a process of its own; as root, without the capabilities that let root write
    into read-only folders (so that such a folder stops it as it stops any user)."""
    import subprocess
    import sys

    prefix = []
    if os.geteuid() == 0 and not privileged:
        prefix = ["setpriv", "--bounding-set=-dac_override,-dac_read_search", "--"]
    return subprocess.run([*prefix, sys.executable, "-m", "ofa", *map(str, args)], cwd=cwd, capture_output=True,
                          text=True, timeout=300, env={**os.environ, "OMP_NUM_THREADS": "1"})


def _refused(done, message):
    lines = done.stderr.strip().splitlines()
    return done.returncode == 2 and len(lines) == 1 and lines[0].startswith("ofa: error:") and message in lines[0]


@pytest.mark.skipif(os.geteuid() == 0 and not __import__("shutil").which("setpriv"), reason="needs setpriv as root")
def test_read_only_outputs_are_refused_before_any_work(place, tmp_path):
    import shutil

    root, run = place
    ro = tmp_path / "ro"
    ro.mkdir()
    shutil.copytree(run, tmp_path / "ro-run")
    for folder in (ro, tmp_path / "ro-run"):
        folder.chmod(0o555)
    try:
        before = snapshot(tmp_path, run)
        cases = [(["predictor", "collect", "--supernet", run, "-n", "3", "--out", ro / "acc.jsonl"], "not writable"),
                 (["latency", "build", "-d", "cpu", "-s", "tiny", "--out", ro / "t.json"], "not writable"),
                 (["export", "--supernet", run, "--subnet", "max", "--out", ro / "m"], "not writable"),
                 (["specialize", "--supernet", tmp_path / "ro-run", "-d", "cpu", "-l", "1ms"], "not writable"),
                 (["train-supernet", "--recipe", "quickstart", "--out", ro / "run"], "not writable")]
        for args, message in cases:
            done = _ofa(*args, cwd=root, privileged=False)
            assert _refused(done, message), (args, done.stderr)
        assert snapshot(tmp_path, run) == before
    finally:
        for folder in (ro, tmp_path / "ro-run"):
            folder.chmod(0o755)


def test_one_writer_per_output(place, tmp_path):
    """A second command writing an output that another is writing stops at once; two at the same
    time end with one whole output, never a mixture."""
    import json
    import subprocess
    import sys

    root, run = place
    out = tmp_path / "model"
    hold = ("import sys, time\nfrom pathlib import Path\nfrom ofa.outputs import output_lock\n"
            "with output_lock(Path(sys.argv[1])):\n    print('held', flush=True)\n    time.sleep(120)\n")
    holder = subprocess.Popen([sys.executable, "-c", hold, str(out)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        done = _ofa("export", "--supernet", run, "--subnet", "max", "--out", out, cwd=tmp_path)
        assert _refused(done, "is being written by another ofa command"), done.stderr
        assert not out.exists()
    finally:
        holder.kill()
        holder.wait()
    pair = [subprocess.Popen([sys.executable, "-m", "ofa", "export", "--supernet", str(run), "--subnet", subnet,
                              "--out", str(out), "--force"], cwd=tmp_path, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, env={**os.environ, "OMP_NUM_THREADS": "1"})
            for subnet in ("max", "min")]
    ends = [(p.wait(timeout=300), p.stderr.read()) for p in pair]
    for code, err in ends:
        assert code == 0 or (code == 2 and len(err.strip().splitlines()) == 1 and "ofa: error:" in err), err
    assert any(code == 0 for code, _ in ends)
    exported = json.loads((out / "export.json").read_text())
    from ofa.spaces import get_space, sample_subnet

    assert exported["subnet"] in {str(sample_subnet(get_space("tiny"), k)) for k in ("max", "min")}
    assert sorted(p.name for p in out.iterdir()) == sorted(
        [".ofa-output", "export.json", "model.onnx", "model.safetensors", "config.json", "build_engine.sh"])
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".model")]  # no staging folder or lock left


def test_a_failed_export_leaves_no_staging_folder(place, tmp_path):
    from ofa.errors import OfaError
    from ofa.specialize.package import EXPORT_KIND, Staging, writing

    out = tmp_path / "model"
    with pytest.raises(OfaError, match="verification failed"):
        with writing(out, EXPORT_KIND):
            staging = Staging(out, False, {"a": 1}, EXPORT_KIND)
            (staging.partial / "model.onnx").write_text("half")
            raise OfaError("verification failed")
    assert list(tmp_path.iterdir()) == []
