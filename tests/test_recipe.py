"""Recipes: shipped ones load, choices inherit between phases, every mistake is one clear line."""

import pytest
import yaml

from ofa.errors import OfaError
from ofa.resources import data_dir
from ofa.spaces.registry import get_space
from ofa.train.overrides import apply_overrides, parse_overrides
from ofa.train.recipe import DistillConfig, OptimizerConfig, Recipe
from ofa.train.recipe_reader import recipe_from_dict, with_overrides
from ofa.train.recipes import list_recipes, load_recipe


def _raw(**extra):
    d = {
        "space": "tiny",
        "data": "digits",
        "phases": [
            {"name": "full", "epochs": 2, "lr": 0.1},
            {"name": "kernel", "epochs": 1, "lr": 0.03, "kernels": [3, 5]},
            {"name": "depth", "epochs": 1, "lr": 0.03, "depths": [1, 2], "resolutions": [24, 32]},
            {"name": "expand", "epochs": 1, "lr": 0.03, "expands": [2, 3], "reorder_channels": True},
        ],
    }
    d.update(extra)
    return d


def _error(raw, overrides=None):
    with pytest.raises(OfaError) as e:
        load_recipe(raw, overrides)
    msg = str(e.value)
    assert "\n" not in msg
    return msg


def test_shipped_recipes_load_and_their_phases_are_valid():
    names = list_recipes()
    assert {"quickstart", "cifar", "imagenet-ofa", "transfer"} <= set(names)
    for name in names:
        # a transfer recipe trains the space of the run it starts from (--init); any space here
        given = {} if "space" in yaml.safe_load((data_dir("pipelines") / f"{name}.yaml").read_text()) else {"space": "tiny"}
        recipe = load_recipe(name, given)
        assert recipe == load_recipe(data_dir("pipelines") / f"{name}.yaml", given)
        space = get_space(recipe.space)
        for i, phase in enumerate(recipe.phases):
            sub = recipe.phase_space(i, space)
            assert sub.num_architectures >= 1 and max(sub.resolutions) <= recipe.resolution
        # the last phase opens the whole space
        assert recipe.phase_space(len(recipe.phases) - 1).stages == space.stages
        assert recipe_from_dict(recipe.to_dict()) == recipe


def test_imagenet_recipe_follows_once_for_all():
    r = load_recipe("imagenet-ofa")
    assert [p.epochs for p in r.phases] == [180, 120, 25, 120, 25, 120]
    assert [p.reorder_channels for p in r.phases] == [False, False, False, False, True, True]
    assert r.phase_choices(3)["depths"] == (2, 3, 4) and r.phase_choices(4)["expands"] == (4, 6)
    assert r.phase_lr(0) == pytest.approx(2.6)
    assert with_overrides(r, {"batch_size": 256}).phase_lr(0) == pytest.approx(2.6 / 8)


def test_defaults_and_inherited_choices():
    r = load_recipe(_raw())
    assert r.resolution == 32 and r.batch_size == 64 and r.optimizer == OptimizerConfig()
    assert r.distill == DistillConfig() and r.teacher is None and r.device == "auto"
    assert r.phases[0].subnets_per_step == 2 and r.phases[0].warmup_epochs == 0
    space = get_space("tiny")
    full = r.phase_space(0)
    assert all((s.kernels, s.depths, s.expands) == ((5,), (2,), (3,)) for s in full.stages)
    assert full.resolutions == space.resolutions and full.num_architectures == 1
    assert r.phase_choices(1) == {"kernels": (3, 5), "depths": None, "expands": None, "widths": None,
                                  "resolutions": None}
    k = r.phase_space(1)
    assert all((s.kernels, s.depths, s.expands) == ((3, 5), (2,), (3,)) for s in k.stages)
    d = r.phase_space(2)
    assert all((s.kernels, s.depths, s.expands) == ((3, 5), (1, 2), (3,)) for s in d.stages)
    assert d.resolutions == (24, 32)
    e = r.phase_space(3)  # inherits kernels from phase 1 and resolutions from phase 2
    assert e.stages == space.stages and e.resolutions == (24, 32)
    assert r.phase_space(-1) == e
    # a single value is a list of one; adamw gets its own weight-decay default
    r2 = load_recipe(_raw(optimizer={"name": "adamw"}, distill="kl", resolution=32))
    assert r2.optimizer.weight_decay == 0.05 and r2.distill.kind == "kl"
    raw = _raw()
    raw["phases"][1]["kernels"] = 3
    assert load_recipe(raw).phases[1].kernels == (3,)


def test_round_trip_through_dict_and_yaml(tmp_path):
    r = load_recipe(_raw(teacher="teacher.safetensors", optimizer={"name": "adamw", "betas": [0.8, 0.9]}))
    d = r.to_dict()
    assert recipe_from_dict(d) == r
    path = tmp_path / "mine.yaml"
    path.write_text(yaml.safe_dump(d))
    assert load_recipe(path) == r
    assert load_recipe(str(path)) == r
    assert "kernels" not in d["phases"][0]  # inheritance survives the round trip


def test_overrides():
    r = load_recipe("quickstart", {"batch_size": 32, "phases.0.epochs": 1, "phases[1].kernels": [3],
                                   "optimizer.name": "adamw", "distill.kind": "none", "data": "imagefolder:x"})
    assert r.batch_size == 32 and r.phases[0].epochs == 1 and r.phases[1].kernels == (3,)
    assert r.optimizer.name == "adamw" and r.distill.kind == "none" and r.data == "imagefolder:x"
    assert r.phase_lr(0) == pytest.approx(0.1 * 32 / 64)
    # the file is untouched, and a dict given to apply_overrides too
    raw = _raw()
    apply_overrides(raw, {"phases.0.epochs": 9})
    assert raw["phases"][0]["epochs"] == 2
    # a string distill becomes a mapping before a dotted key reaches into it
    assert load_recipe(_raw(distill="alpha"), {"distill.clip": 2.0}).distill.clip == 2.0
    assert parse_overrides(["phases.0.epochs=2", "data=imagefolder:/d", "x= [3, 5]", "t=true"]) == {
        "phases.0.epochs": 2, "data": "imagefolder:/d", "x": [3, 5], "t": True}


@pytest.mark.parametrize("overrides, words", [
    ({"phases.7.epochs": 1}, ["phases.7.epochs", "not an index", "0 to 3"]),
    ({"phases.x.epochs": 1}, ["phases.x.epochs", "not an index"]),
    ({"batch_size.x": 1}, ["batch_size.x", "64"]),
    ({"phases..epochs": 1}, ["dotted"]),
    ({"optimiser.name": "adamw"}, ["optimiser: unknown field", "known:"]),
    ({"phases.0.epocs": 3}, ["phases[0].epocs: unknown field", "did you mean 'epochs'"]),
    ({"batch_size": "64"}, ["batch_size", "whole number from 1 to 65,536", "'64'"]),
    ({"optimizer.name": "adam"}, ["optimizer.name", "sgd, adamw"]),
])
def test_bad_overrides(overrides, words):
    msg = _error(_raw(batch_size=64), overrides)
    for w in words:
        assert w in msg, msg
    with pytest.raises(OfaError, match="FIELD=VALUE"):
        parse_overrides(["nonsense"])


def test_unknown_field_names_its_location():
    raw = _raw()
    raw["phases"][2]["kernal"] = [3]
    msg = _error(raw)
    assert msg.startswith("recipe: phases[2].kernal: unknown field") and "did you mean 'kernels'" in msg
    assert "known: name, epochs, lr" in msg
    assert "batchsize: unknown field" in _error(_raw(batchsize=3))
    assert "optimizer.lr: unknown field" in _error(_raw(optimizer={"lr": 0.1}))


@pytest.mark.parametrize("change, words", [
    ({"batch_size": 0}, ["batch_size", "whole number from 1", "0"]),
    ({"batch_size": 10**12}, ["batch_size", "whole number from 1 to 65,536", "1000000000000"]),
    ({"batch_size": True}, ["batch_size", "whole number"]),
    ({"label_smoothing": 1.5}, ["label_smoothing", "[0, 1)"]),
    ({"device": "gpu"}, ["device", "auto, cpu, cuda"]),
    ({"optimizer": {"nesterov": "yes"}}, ["optimizer.nesterov", "true or false"]),
    ({"optimizer": {"betas": [0.9]}}, ["optimizer.betas"]),
    ({"optimizer": "sgd"}, ["optimizer", "mapping"]),
    ({"distill": {"kind": "alpha", "alpha_min": 1.0, "alpha_max": 0.0}}, ["alpha_min"]),
    ({"distill": {"clip": 0}}, ["distill.clip", "positive"]),
    ({"teacher": 3}, ["teacher", "string"]),
    ({"phases": []}, ["phases", "non-empty list"]),
    ({"resolution": 24}, ["phases[0] (full)", "resolution 32", "loader"]),
    ({"space": "nope"}, ["unknown search space 'nope'"]),
    ({"workers": -1}, ["workers", "from 0 to 256"]),
])
def test_wrong_values_are_one_line_errors(change, words):
    msg = _error(_raw(**change))
    for w in words:
        assert w in msg, msg


@pytest.mark.parametrize("phase_change, words", [
    ({"epochs": 1.5}, ["phases[1].epochs", "whole number from 1"]),
    ({"lr": "fast"}, ["phases[1].lr", "positive number"]),
    ({"warmup_epochs": 5}, ["phases[1].warmup_epochs", "0 to epochs (1)"]),
    ({"kernels": [3, 7]}, ["phases[1] (kernel)", "kernel choice(s) [7]", "tiny"]),
    ({"kernels": []}, ["phases[1].kernels", "non-empty"]),
    ({"kernels": ["3"]}, ["phases[1].kernels", "positive integers"]),
    ({"expands": [4]}, ["phases[1] (kernel)", "expand choice(s) [4]"]),
    ({"resolutions": [64]}, ["phases[1] (kernel)", "resolution choice(s) [64]"]),
    ({"reorder_channels": 1}, ["phases[1].reorder_channels", "true or false"]),
    ({"name": "full"}, ["phases[1].name", "already the name of phases[0]"]),
])
def test_bad_phases(phase_change, words):
    raw = _raw()
    raw["phases"][1].update(phase_change)
    msg = _error(raw)
    for w in words:
        assert w in msg, msg
    raw = _raw()
    del raw["phases"][1]["lr"]
    assert "phases[1]: missing field 'lr'" in _error(raw)


def test_files_and_names(tmp_path):
    assert "recipe not found: 'nosuch'" in (msg := _error("nosuch")) and "quickstart" in msg
    bad = tmp_path / "bad.yaml"
    bad.write_text("space: tiny\nphases: [\n")
    assert "bad.yaml: not valid YAML" in _error(bad)
    bad.write_text("- 1\n- 2\n")
    assert "top level" in _error(bad)
    bad.write_text(yaml.safe_dump({**_raw(), "extra": 1}))
    assert _error(bad).startswith("bad.yaml: extra: unknown field")
    assert "space: missing field" in _error({"data": "digits", "phases": []})
    assert isinstance(load_recipe("quickstart"), Recipe)
