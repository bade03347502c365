"""`ofa train-supernet --init RUN --recipe transfer`: a trained supernet's weights start a run on new
data; the classifier is replaced for new classes and kept for the same ones; every choice is open."""

from __future__ import annotations

import json

import pytest
import torch
import yaml
from conftest import make_image_folder
from safetensors.torch import load_file

from ofa.train.recipe import ALL
from ofa.train.recipes import load_recipe


@pytest.fixture(scope="module")
def new_classes(tmp_path_factory):
    return make_image_folder(tmp_path_factory.mktemp("new"), classes=2, per_class=12, seed=5)


SMALL = {"workers": 0, "device": "cpu", "bn_calib_images": 16, "batch_size": 8, "checkpoint_every": 0,
         "phases.0.epochs": 1}


def _trained(run):
    return load_file(str(run / "supernet.safetensors"))


def test_the_transfer_recipe_opens_every_choice_of_the_start_space(trained_run):
    recipe = load_recipe("transfer", {"init_from": str(trained_run), "data": "digits"})
    assert recipe.space == "tiny" and recipe.resolution == 32  # the run's space, its largest resolution
    phase = recipe.phases[0]
    assert phase.kernels == phase.depths == phase.expands == phase.resolutions == ALL
    assert recipe.phase_space(0).stages == recipe.phase_space(0, "tiny").stages
    assert recipe.phase_space(0).resolutions == (16, 24, 32)


def test_new_classes_get_a_new_classifier_and_keep_every_other_weight(trained_run, new_classes, run_cli, tmp_path):
    out = tmp_path / "transfer"
    sets = [f"--set={k}={v}" for k, v in {**SMALL, "phases.0.lr": "1.0e-9"}.items()]  # weights stay where they start
    code, _, err = run_cli("train-supernet", "--init", str(trained_run), "--recipe", "transfer", "--data",
                           f"imagefolder:{new_classes}", "--out", str(out), "-q", *sets)
    assert code == 0, err
    before, after = _trained(trained_run), _trained(out)
    assert after["head.classifier.weight"].shape[0] == 2 and before["head.classifier.weight"].shape[0] == 3
    convs = [k for k in before if k.endswith("weight") and before[k].ndim == 4]
    assert convs and all(torch.allclose(before[k], after[k], atol=1e-6) for k in convs)
    info = json.loads((out / "run.json").read_text())
    assert info["space"] == "tiny" and info["num_classes"] == 2
    assert yaml.safe_load((out / "recipe.yaml").read_text())["init_from"] == str(trained_run)


def test_the_same_classes_keep_the_classifier_and_training_moves_the_weights(trained_run, image_folder, tmp_path):
    from ofa.train.trainer import train_supernet

    recipe = load_recipe("transfer", {"init_from": str(trained_run), "data": f"imagefolder:{image_folder}", **SMALL,
                                      "phases.0.lr": 1e-12})
    train_supernet(recipe, tmp_path / "same")
    before, after = _trained(trained_run), _trained(tmp_path / "same")
    assert torch.allclose(before["head.classifier.weight"], after["head.classifier.weight"], atol=1e-6)
    moved = load_recipe("transfer", {"init_from": str(trained_run), "data": f"imagefolder:{image_folder}", **SMALL})
    train_supernet(moved, tmp_path / "moved")
    changed = _trained(tmp_path / "moved")
    assert not torch.allclose(before["head.classifier.weight"], changed["head.classifier.weight"], atol=1e-4)
