"""The recipe's stabilizers and sampling switches do what they say, in the real training step."""

from dataclasses import replace

import pytest
import torch
from conftest import tiny_recipe

from ofa.errors import OfaError
from ofa.spaces import get_space, sample_subnet
from ofa.supernet import build_static, build_supernet, net_config
from ofa.families.mbconv.elastic import ElasticBlock
from ofa.layers.static import drop_path
from ofa.layers.residual import residual_blocks, set_drop_connect, zero_init_residual_bn
from ofa.train.recipes import load_recipe
from ofa.train.sandwich import sandwich_step
from ofa.train.trainer import _as_now, train_supernet

OFF = torch.autocast("cpu", enabled=False)


def _step(recipe, phase, seed=0, model=None):
    """One sandwich step of a fresh seeded tiny supernet; returns (losses, model with its gradients)."""
    torch.manual_seed(seed)
    model = model or build_supernet(get_space("tiny"), 3).train()
    gen = torch.Generator().manual_seed(1)
    x, y = torch.randn(8, 3, 16, 16, generator=gen), torch.randint(0, 3, (8,), generator=gen)
    opt = torch.optim.SGD(model.parameters(), lr=0.0)
    space = recipe.phase_space(len(recipe.phases) - 1)
    return sandwich_step(recipe, model, model, None, phase, space, x, y, opt, OFF, 0), model


def _recipe(image_folder, **fields):
    return load_recipe(tiny_recipe(f"imagefolder:{image_folder}", **fields))


def _grads(model):
    return {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None}


def test_grad_clip_bounds_every_gradient_value(image_folder):
    recipe = _recipe(image_folder)
    _, free = _step(recipe, recipe.phases[-1])
    assert max(g.abs().max() for g in _grads(free).values()) > 1e-3
    _, clipped = _step(replace(recipe, grad_clip=1e-3), recipe.phases[-1])
    assert max(g.abs().max() for g in _grads(clipped).values()) <= 1e-3


def test_student_weight_scales_only_the_students_gradients(image_folder):
    recipe = _recipe(image_folder)
    alone = replace(recipe.phases[-1], subnets_per_step=0, with_smallest=False)
    out, largest = _step(recipe, alone)
    assert set(out) == {"loss_max"}
    out, silent = _step(replace(recipe, student_weight=0.0), recipe.phases[-1])
    assert {"loss_min", "loss_subnets"} <= set(out)  # the students ran and are reported...
    for name, g in _grads(largest).items():  # ...but add nothing to the gradient
        assert torch.allclose(silent.get_parameter(name).grad, g, atol=1e-7), name
    _, full = _step(recipe, recipe.phases[-1])  # the plain sum of two students (smallest + 1 random)...
    _, half = _step(replace(recipe, student_weight=1.0), recipe.phases[-1])  # ...against their mean
    name = "stages.0.0.depthwise.conv.transforms.5to3"  # trained by the students alone
    assert torch.allclose(half.get_parameter(name).grad, 0.5 * full.get_parameter(name).grad, atol=1e-6)


def test_with_smallest_false_leaves_the_smallest_out(image_folder):
    recipe = _recipe(image_folder)
    out, _ = _step(recipe, replace(recipe.phases[-1], with_smallest=False, subnets_per_step=1))
    assert "loss_min" not in out and "loss_subnets" in out
    out, _ = _step(recipe, replace(recipe.phases[-1], subnets_per_step=0))
    assert set(out) == {"loss_max", "loss_min", "loss_subnets"}


@pytest.mark.parametrize("where, students_dropped", [("largest", False), ("all", True)])
def test_regularize_largest_drops_connections_of_the_largest_only(image_folder, where, students_dropped):
    recipe = _recipe(image_folder, drop_connect=0.5, regularize=where)
    seen = []
    model = build_supernet(get_space("tiny"), 3).train()
    block = residual_blocks(model)[0]
    block.register_forward_pre_hook(lambda m, _: seen.append(m.drop_rate))
    _step(recipe, replace(recipe.phases[-1], subnets_per_step=2), model=model)
    assert seen[0] > 0  # the largest subnet always runs every block
    assert all((rate > 0) == students_dropped for rate in seen[1:]) and len(seen) > 1


def test_drop_connect_grows_with_depth_and_is_off_in_eval():
    model = build_static(net_config(get_space("tiny"), sample_subnet(get_space("tiny"), "max"), 3))
    set_drop_connect(model, 0.3)
    rates = [b.drop_rate for b in residual_blocks(model)]
    assert rates == sorted(rates) and rates[-1] == pytest.approx(0.3) and rates[0] > 0
    torch.manual_seed(0)
    y = torch.ones(4000, 2, 1, 1)
    dropped = drop_path(y, 0.3, training=True)
    assert dropped.unique().tolist() == pytest.approx([0.0, 1 / 0.7])
    assert dropped.mean().item() == pytest.approx(1.0, abs=0.05)
    assert torch.equal(drop_path(y, 0.3, training=False), y)
    x = torch.randn(2, 3, 16, 16)
    model.eval()
    before = model(x)
    set_drop_connect(model, 0.0)
    assert torch.equal(model(x), before)


def test_zero_init_makes_every_residual_block_the_identity():
    model = build_supernet(get_space("tiny"), 3).eval()
    zero_init_residual_bn(model)
    blocks = [b for b in residual_blocks(model) if isinstance(b, ElasticBlock)]
    assert blocks
    x = torch.randn(2, blocks[0].project.conv.weight.shape[0], 8, 8)
    assert torch.equal(blocks[0](x), x)


def test_zero_init_residual_reaches_the_trained_supernet(tmp_path, image_folder):
    one_phase = [{"name": "full", "epochs": 1, "lr": 1e-9, "subnets_per_step": 0, "resolutions": [16]}]
    recipe = _recipe(image_folder, zero_init_residual=True, phases=one_phase, validate_every=0)
    train_supernet(recipe, tmp_path / "run")
    from safetensors.torch import load_file

    weights = load_file(tmp_path / "run" / "supernet.safetensors")
    scales = [k for k in weights if k.startswith("stages.") and k.endswith("project.bn.weight")]
    residual = [k for k in scales if not k.startswith(("stages.0.0.", "stages.1.0.", "stages.2.0."))]
    assert residual and all(weights[k].abs().max() < 1e-6 for k in residual)
    assert all(weights[k].abs().min() > 0.5 for k in scales if k not in residual)  # first blocks: no shortcut


def test_init_torch_keeps_the_static_networks_defaults_and_reaches_training(tmp_path, image_folder):
    from ofa.layers.init import INITS
    from ofa.train.recipe import INITS as RECIPE_INITS

    assert tuple(INITS) == RECIPE_INITS
    space, net = get_space("tiny"), "max"
    torch.manual_seed(0)
    ofa = build_supernet(space, 3, "ofa").extract(net)
    torch.manual_seed(0)
    plain = build_supernet(space, 3, "torch").extract(net)
    torch.manual_seed(0)
    alone = build_static(net_config(space, build_supernet(space, 3, "torch").active_subnet, 3))
    bound = 1 / ofa.head.classifier.weight.shape[1] ** 0.5  # PyTorch's default for a Linear layer
    assert plain.head.classifier.weight.abs().max() <= bound < 0.2
    assert ofa.head.classifier.weight.std().item() == pytest.approx(0.01, rel=0.2)
    for (name, w), v in zip(plain.state_dict().items(), alone.state_dict().values()):
        if w.is_floating_point() and w.numel() > 1:
            assert w.shape == v.shape and w.std().item() == pytest.approx(v.std().item(), rel=0.35, abs=1e-6), name

    one_phase = [{"name": "full", "epochs": 1, "lr": 1e-9, "subnets_per_step": 0, "resolutions": [16]}]
    for init in INITS:
        train_supernet(_recipe(image_folder, init=init, phases=one_phase, validate_every=0), tmp_path / init)
    from safetensors.torch import load_file

    got = {init: load_file(tmp_path / init / "supernet.safetensors")["head.classifier.weight"] for init in INITS}
    assert got["ofa"].std().item() == pytest.approx(0.01, rel=0.2) and got["torch"].abs().max() > 0.05


def test_channels_last_changes_speed_not_results(image_folder):
    recipe = _recipe(image_folder)
    out, model = _step(recipe, recipe.phases[-1])
    torch.manual_seed(0)
    nhwc = build_supernet(get_space("tiny"), 3).train().to(memory_format=torch.channels_last)
    out_nhwc, nhwc = _step(recipe, recipe.phases[-1], model=nhwc)
    assert out_nhwc == pytest.approx(out, rel=1e-4)
    for name, g in _grads(model).items():
        assert torch.allclose(nhwc.get_parameter(name).grad, g, atol=1e-5), name


def test_val_fraction_sets_the_held_out_share(image_folder):
    small = _recipe(image_folder)
    big = _recipe(image_folder, val_fraction=0.5)
    assert len(big.dataset("val").dataset) > len(small.dataset("val").dataset)
    assert len(big.dataset("val").dataset) + len(big.dataset("train").dataset) == \
        len(small.dataset("val").dataset) + len(small.dataset("train").dataset)


@pytest.mark.parametrize("field, value, message", [
    ("grad_clip", -1, "grad_clip: expected a number >= 0"),
    ("student_weight", "half", "student_weight: expected a number >= 0, or null"),
    ("regularize", "students", "regularize: expected one of largest, all"),
    ("drop_connect", 1.0, r"drop_connect: expected a number in \[0, 1\)"),
    ("val_fraction", 0, "val_fraction: expected a number between 0 and 1"),
    ("zero_init_residual", "yes", "zero_init_residual: expected true or false"),
    ("init", "xavier", "init: expected one of ofa, torch"),
])
def test_bad_stabilizer_values_are_one_line_errors(image_folder, field, value, message):
    with pytest.raises(OfaError, match=message):
        _recipe(image_folder, **{field: value})


def test_a_recipe_recorded_before_the_stabilizers_existed_still_resumes(image_folder):
    recipe = _recipe(image_folder)
    old = {k: v for k, v in recipe.to_dict().items()
           if k not in ("grad_clip", "init", "zero_init_residual", "student_weight", "regularize", "drop_connect",
                        "channels_last", "val_fraction")}
    for phase in old["phases"]:
        del phase["with_smallest"]
    assert _as_now(old) == recipe.to_dict()
