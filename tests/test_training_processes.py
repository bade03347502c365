"""Training as real processes: killed with SIGKILL and resumed, and two ranks under torchrun."""

import os
import signal
import subprocess
import sys
import time

import pytest
import torch
import yaml
from conftest import tiny_recipe
from safetensors.torch import load_file

ENV = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}


def ofa(*args: str) -> list[str]:
    return [sys.executable, "-m", "ofa", *args]


def write_recipe(tmp_path, data_spec, **overrides):
    path = tmp_path / "recipe.yaml"
    path.write_text(yaml.safe_dump(tiny_recipe(data_spec, **overrides)))
    return path


@pytest.mark.slow
def test_sigkill_mid_phase_then_resume_gives_the_same_weights(tmp_path, image_folder):
    recipe = write_recipe(tmp_path, f"imagefolder:{image_folder}", checkpoint_every=2)
    straight, broken = tmp_path / "straight", tmp_path / "broken"
    subprocess.run(ofa("train-supernet", "--recipe", str(recipe), "--out", str(straight), "-q"), env=ENV, check=True)

    proc = subprocess.Popen(ofa("train-supernet", "--recipe", str(recipe), "--out", str(broken), "-q"), env=ENV)
    manifest = broken / "checkpoints" / "last.json"
    deadline = time.time() + 120
    while time.time() < deadline and proc.poll() is None:
        if manifest.exists() and '"global_step": 4' in manifest.read_text():
            break
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL
    assert not (broken / "supernet.safetensors").exists(), "the run finished before it could be killed"

    subprocess.run(ofa("train-supernet", "--out", str(broken), "--resume", "-q"), env=ENV, check=True)
    a, b = load_file(str(straight / "supernet.safetensors")), load_file(str(broken / "supernet.safetensors"))
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), k
    assert (straight / "metrics.jsonl").read_text().count('"kind": "val"') == \
        (broken / "metrics.jsonl").read_text().count('"kind": "val"')


@pytest.mark.slow
def test_two_processes_under_torchrun_equal_one_process(tmp_path, image_folder):
    # Batch 24 and a small learning rate: runs this short are then stable to float rounding (a
    # single process with 1 or 2 threads agrees to ~1e-7), while unsynchronised BatchNorm or
    # doubly reduced gradients move weights by ~1e-1. Run NCHW: channels-last kernels sum weight gradients
    # in an order that depends on the batch size (12 per process against 24), a ~1e-5 difference.
    phases = [
        {"name": "full", "epochs": 1, "lr": 0.01, "subnets_per_step": 0, "resolutions": [16]},
        {"name": "kernel-depth", "epochs": 1, "lr": 0.01, "subnets_per_step": 1, "kernels": [3, 5], "depths": [1, 2]},
        {"name": "expand", "epochs": 1, "lr": 0.01, "subnets_per_step": 1, "expands": [2, 3], "reorder_channels": True},
    ]
    recipe = write_recipe(tmp_path, f"imagefolder:{image_folder}", checkpoint_every=0, validate_every=0,
                          batch_size=24, lr_batch_size=24, phases=phases, channels_last=False)
    one, two = tmp_path / "one", tmp_path / "two"
    subprocess.run(ofa("train-supernet", "--recipe", str(recipe), "--out", str(one), "-q"), env=ENV, check=True)
    subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2",
         "-m", "ofa", "train-supernet", "--recipe", str(recipe), "--out", str(two), "-q"],
        env=ENV, check=True, timeout=300,
    )
    a, b = load_file(str(one / "supernet.safetensors")), load_file(str(two / "supernet.safetensors"))
    worst = max((a[k].double() - b[k].double()).abs().max().item() for k in a if a[k].is_floating_point())
    assert worst < 1e-5
    changed = max((a[k].double() - load_file(str(one / "checkpoints" / "last.safetensors"))[k].double()).abs().max().item()
                  for k in a if a[k].is_floating_point())
    assert changed == 0.0  # the final checkpoint holds the final weights


@pytest.fixture(scope="module")
def augmented_run(tmp_path_factory, image_folder):
    """A recipe with augmentation and no periodic checkpoints, and its uninterrupted run."""
    root = tmp_path_factory.mktemp("augmented")
    recipe = write_recipe(root, f"imagefolder:{image_folder}", checkpoint_every=1000, augment=True)
    subprocess.run(ofa("train-supernet", "--recipe", str(recipe), "--out", str(root / "straight"), "-q"), env=ENV,
                   check=True)
    return recipe, root / "straight"


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_sigterm_and_sigint_write_a_checkpoint_and_say_how_to_resume(tmp_path, augmented_run, sig):
    """What a job scheduler sends before it kills (SIGTERM), or Ctrl-C: the step under way ends,
    a checkpoint is written, the exact --resume command is printed, and resuming it finishes with
    the weights of a run never stopped."""
    recipe, straight = augmented_run
    stopped = tmp_path / "stopped"
    proc = subprocess.Popen(ofa("train-supernet", "--recipe", str(recipe), "--out", str(stopped), "-q"), env=ENV,
                            stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 120
    while time.time() < deadline and not (stopped / "metrics.jsonl").exists():  # the first epoch is done
        time.sleep(0.01)
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 128 + sig, err
    command = f"ofa train-supernet --out {stopped} --resume"
    assert command in err and "Traceback" not in err
    assert (stopped / "checkpoints" / "last.json").is_file() and not (stopped / "supernet.safetensors").exists()
    subprocess.run(ofa(*command.split()[1:], "-q"), env=ENV, check=True)
    a, b = load_file(str(straight / "supernet.safetensors")), load_file(str(stopped / "supernet.safetensors"))
    for k in a:
        assert torch.equal(a[k], b[k]), k
