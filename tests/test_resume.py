"""Exact resume: a run stopped anywhere (between checkpoints, just after one, in the first epoch of a
phase, inside a validation) and resumed ends with the very weights of a run never stopped.

Stopping is an exception thrown from inside training, after which nothing more is written: what is
on disk is what a SIGKILL at that moment leaves (tests/test_training_processes.py kills for real)."""

from __future__ import annotations

import pytest
import torch
from conftest import tiny_recipe
from safetensors.torch import load_file

from ofa.train import trainer
from ofa.train.recipes import load_recipe
from ofa.train.trainer import train_supernet


class Stop(Exception):
    pass


def recipe(image_folder, **overrides):
    # augmentation and dropout on: both draw random numbers every step
    return load_recipe(tiny_recipe(f"imagefolder:{image_folder}", augment=True, checkpoint_every=4, **overrides))


def weights(run):
    return load_file(str(run / "supernet.safetensors"))


def assert_same(a, b):
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), k


@pytest.fixture(scope="module")
def straight(tmp_path_factory, image_folder):
    out = tmp_path_factory.mktemp("straight") / "run"
    steps = []
    train_supernet(recipe(image_folder), out, on_step=lambda s: steps.append((s["phase_index"], s["epoch"], s["step"])))
    return out, steps


def stop_at(global_step):
    def on_step(s):
        if s["global_step"] == global_step:
            raise Stop

    return on_step


def test_steps_of_the_straight_run(straight):
    _, steps = straight
    per_epoch = max(s for _, _, s in steps)
    assert per_epoch >= 5 and len(steps) == 5 * per_epoch  # 2 + 1 + 2 epochs


@pytest.mark.parametrize("where", ["before-the-first-checkpoint", "just-after-a-checkpoint", "between-checkpoints",
                                   "first-epoch-of-a-phase", "last-step-of-an-epoch"])
def test_resume_after_a_stop_gives_the_same_weights(straight, image_folder, tmp_path, where):
    run, steps = straight
    per_epoch = max(s for _, _, s in steps)
    global_step = {  # checkpoints after steps 4, 8, 12, ... and at the end of every phase
        "before-the-first-checkpoint": 4,  # stopped inside step 4, before its checkpoint is written
        "just-after-a-checkpoint": 5,
        "between-checkpoints": 7,
        "first-epoch-of-a-phase": 2 * per_epoch + 2,  # the second phase begins after 2 epochs
        "last-step-of-an-epoch": per_epoch,
    }[where]
    out = tmp_path / "run"
    with pytest.raises(Stop):
        train_supernet(recipe(image_folder), out, on_step=stop_at(global_step))
    assert not (out / "supernet.safetensors").exists()
    train_supernet(recipe(image_folder), out, resume=True)
    assert_same(weights(run), weights(out))
    assert (run / "metrics.jsonl").read_text().count('"kind": "val"') == \
        (out / "metrics.jsonl").read_text().count('"kind": "val"')


def test_resume_after_a_stop_inside_a_validation(straight, image_folder, tmp_path, monkeypatch):
    run, _ = straight
    out = tmp_path / "run"
    calls = []
    real = trainer.validate_subnets

    def failing(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise Stop
        return real(*args, **kwargs)

    monkeypatch.setattr(trainer, "validate_subnets", failing)
    with pytest.raises(Stop):
        train_supernet(recipe(image_folder), out)
    monkeypatch.setattr(trainer, "validate_subnets", real)
    train_supernet(recipe(image_folder), out, resume=True)
    assert_same(weights(run), weights(out))


def test_loader_processes_do_not_change_the_weights(straight, image_folder, tmp_path):
    """Augmentation is seeded per image and epoch, so two loader processes (and a resume that
    starts them mid-epoch) draw what the main process draws."""
    run, _ = straight
    out = tmp_path / "run"
    with pytest.raises(Stop):
        train_supernet(recipe(image_folder, workers=2), out, on_step=stop_at(6))
    train_supernet(recipe(image_folder, workers=2), out, resume=True)
    assert_same(weights(run), weights(out))


def test_force_keeps_the_old_run_until_the_new_one_is_complete(straight, image_folder, tmp_path, run_cli):
    """--force trains beside the run it replaces; stopped early, the old run is whole, the same
    command (or --resume) continues the replacement, and only a finished one takes its place."""
    run, _ = straight
    out = tmp_path / "run"
    short = load_recipe(tiny_recipe(f"imagefolder:{image_folder}", phases=[
        {"name": "full", "epochs": 1, "lr": 0.01, "resolutions": [16]}]))
    train_supernet(short, out)
    old = weights(out)
    with pytest.raises(Stop):
        train_supernet(recipe(image_folder), out, force=True, on_step=stop_at(6))
    assert_same(weights(out), old)  # untouched while the replacement is unfinished
    staged = tmp_path / ".run.partial"
    assert (staged / "checkpoints" / "last.json").is_file()
    code, _, err = run_cli("train-supernet", "--recipe", "quickstart", "--out", str(out), "-q")
    assert code == 2 and "stopped at step 4" in err and "--resume continues it" in err
    code, _, err = run_cli("train-supernet", "--resume", "--recipe", "quickstart", "--out", str(out), "-q")
    assert code == 2 and "differs from the recipe of the run" in err
    train_supernet(recipe(image_folder), out, resume=True)
    assert_same(weights(out), weights(run)) and not staged.exists()
    assert not (tmp_path / ".run.replaced").exists()


def test_bad_out_is_one_line_before_any_work(tmp_path, run_cli):
    (tmp_path / "file").write_text("x")
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    cases = [(tmp_path / "file", "a file is in the way"), (tmp_path / "file" / "run", "lies under a file")]
    import os

    if os.geteuid() != 0:  # root writes anywhere
        cases.append((locked / "run", "cannot write there"))
    for out, message in cases:
        code, _, err = run_cli("train-supernet", "--out", str(out), "-q")
        assert code == 2 and message in err and len(err.strip().splitlines()) == 1, err
