"""Every stage for an elastic ResNet space (the `resnet` family, once-for-all's OFAResNets): the whole
pipeline through `ofa run`, then each command on its run, once-for-all's ResNet checkpoints and
predictor imported, and input of the wrong family refused in one line with nothing written."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
import torch.nn.functional as F
import yaml

from ofa.spaces import encode, get_space, sample_subnet

RESNET_PHASES = [
    {"name": "full", "epochs": 1, "lr": 0.05, "resolutions": [16]},
    {"name": "depth", "epochs": 1, "lr": 0.02, "subnets_per_step": 1, "depths": "all"},
    {"name": "expand", "epochs": 1, "lr": 0.02, "subnets_per_step": 1, "expands": "all", "reorder_channels": True},
    {"name": "width", "epochs": 1, "lr": 0.02, "subnets_per_step": 1, "widths": "all"},
]


@pytest.fixture(scope="module")
def resnet_run(tmp_path_factory, image_folder):
    """`ofa run` of a whole pipeline on `resnet-tiny`: train (depth, expand, width phases), latency table
    (measured, calibrated), collect, predictor, specialize."""
    from conftest import tiny_recipe
    from ofa.cli import main
    from test_latency_table import PROFILE_YAML

    root = tmp_path_factory.mktemp("resnet")
    (root / "dev.yaml").write_text(PROFILE_YAML)
    recipe = tiny_recipe(f"imagefolder:{image_folder}", space="resnet-tiny", validate_every=0, phases=RESNET_PHASES)
    (root / "recipe.yaml").write_text(yaml.safe_dump(recipe))
    pipeline = {"description": "resnet", "out": "everything", "stages": [
        {"train": {"recipe": "recipe.yaml"}},
        {"latency": {"device": "dev.yaml", "calibrate": 3, "resolutions": [16]}},
        {"collect": {"n": 12}},
        {"predictor": {"model": "trees"}},
        {"specialize": {"device": "dev.yaml", "latency": ["60%"], "population": 10, "generations": 5}}]}
    (root / "p.pipeline.yaml").write_text(yaml.safe_dump(pipeline))
    import os

    cwd = os.getcwd()
    os.chdir(root)
    try:
        main(["run", "p.pipeline.yaml", "-q"])
    except SystemExit as e:
        assert not e.code, f"ofa run failed with {e.code}"
    finally:
        os.chdir(cwd)
    return root


def test_the_pipeline_specializes_a_resnet_that_runs_without_ofa(resnet_run):
    import onnxruntime as ort

    from ofa.supernet import load_static

    summary = json.loads((resnet_run / "everything/models/summary.json").read_text())
    (model,) = summary["models"]
    folder = resnet_run / model["folder"]
    config = json.loads((folder / "config.json").read_text())
    assert config["format"] == "ofa-static-resnet/1" and config["meta"]["space"] == "resnet-tiny"
    card = (folder / "card.md").read_text()
    assert f"`{model['subnet']}`" in card and "ONNX check" in card and model["latency"]["measured_ms"] > 0
    # the exported graph alone (onnxruntime, no ofa) computes what the static network computes
    static = load_static(folder)
    x = np.random.default_rng(0).standard_normal((2, 3, 16, 16)).astype(np.float32)
    session = ort.InferenceSession(str(folder / "model.onnx"), providers=["CPUExecutionProvider"])
    if session.get_inputs()[0].shape[0] == 1:
        x = x[:1]
    with torch.no_grad():
        want = static(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(session.run(None, {session.get_inputs()[0].name: x})[0], want, atol=1e-4, rtol=1e-3)
    info = json.loads((resnet_run / "everything/supernet/run.json").read_text())
    assert info["space"] == "resnet-tiny"


def test_each_command_on_the_resnet_run(resnet_run, run_cli, monkeypatch):
    monkeypatch.chdir(resnet_run)
    run = "everything/supernet"
    code, out, err = run_cli("evaluate", "--supernet", run, "--subnet", "min", "--subnet", "r16:w1-w1-b,w1-e0.5,w0.5-e0.25,"
                             "w1-e0.5-e0.25", "--json")
    assert code == 0, err
    rows = [json.loads(line) for line in out.splitlines()]
    assert [r["subnet"] for r in rows][1] == "r16:w1-w1-b,w1-e0.5,w0.5-e0.25,w1-e0.5-e0.25"
    assert all(0 <= r["top1"] <= 100 for r in rows)

    code, out, err = run_cli("latency", "validate", "--device", "dev.yaml", "--space", "resnet-tiny", "-n", "6",
                             "--table", "everything/latency/test-cpu/resnet-tiny.json", "--out", "validated", "--json")
    assert code == 0, err
    report = json.loads(out)
    assert report["subnets"] == 6 and -1 <= report["calibrated"]["kendall_tau"] <= 1

    # once-for-all's ResNet tutorial searches under a MACs budget: no device needed
    space = get_space("resnet-tiny")
    from ofa.supernet import subnet_cost

    low, high = (subnet_cost(space, sample_subnet(space, k), 3).macs for k in ("min", "max"))
    budget = (low + high) / 2
    code, out, err = run_cli("search", "--supernet", run, "--objectives", "acc,macs", "--macs", f"{budget / 1e6:.6f}M",
                             "--population", "12", "--generations", "4", "--json", "--out", "macs-search")
    assert code == 0, err
    result = json.loads(out)
    assert result["cost_budgets"] == {"macs": pytest.approx(budget, rel=1e-6)} and result["budgets_ms"] == {}
    assert result["best"]["macs"] <= budget and all(p["latency_ms"] == {} for p in result["front"])
    code, _, err = run_cli("search", "--supernet", run, "--objectives", "acc,macs", "--macs", "1k", "--out", "x")
    assert code == 2 and "no subnet has 0.001M macs or fewer" in err and not (resnet_run / "x").exists()
    code, _, err = run_cli("search", "--supernet", run, "--objectives", "acc,macs", "--macs", "lots", "--out", "x")
    assert code == 2 and "cannot read the macs budget 'lots'" in err

    code, out, err = run_cli("latency", "calibrate", "--device", "dev.yaml", "--space", "resnet-tiny", "-n", "4",
                             "--table", "everything/latency/test-cpu/resnet-tiny.json", "--json")
    assert code == 0, err

    best = result["best"]["subnet"]
    code, out, err = run_cli("export", "--supernet", run, "--subnet", best, "--out", "exported")
    assert code == 0, err
    assert (resnet_run / "exported/model.onnx").is_file() and (resnet_run / "exported/model.safetensors").is_file()


def test_the_shipped_resnet_pipeline_and_recipe_load():
    from ofa.pipeline import load_pipeline
    from ofa.train.recipes import load_recipe

    assert [s for s, _ in load_pipeline("resnet-quickstart").stages] == [
        "train", "latency", "collect", "predictor", "specialize"]
    recipe = load_recipe("resnet-quickstart")
    assert recipe.space == "resnet-tiny" and [p.name for p in recipe.phases] == ["full", "depth", "expand", "width"]


def test_device_model_features_of_resnet_parts_add_up_to_the_subnets_cost():
    """`ofa latency fit` describes parts by MACs, weights, activations and layers: for a ResNet, summed
    over a subnet's parts they are its MACs and weights as the cost model counts them."""
    from ofa.families.parts import CostTable
    from ofa.latency.features import feature_layout

    space = get_space("resnet-tiny")
    layout = feature_layout(space, [16, 32], 10, batch=1)
    nets = [sample_subnet(space.restrict(resolutions=[16, 32]), "uniform", s) for s in range(30)]
    got = layout.of(nets)
    costs = CostTable(space, 10).macs_params(np.stack([encode(space, n) for n in nets]))
    names = list(layout.names)
    np.testing.assert_allclose(got[:, names.index("mmacs")], costs[:, 0] / 1e6, rtol=1e-9)
    np.testing.assert_allclose(got[:, names.index("mparams")], costs[:, 1] / 1e6, rtol=1e-9)
    assert (got[:, names.index("dw_mmacs")] == 0).all() and np.isfinite(got).all()
    layers = got[:, names.index("layers")]
    blocks = np.array([sum(n.depths) for n in nets])
    stem = np.array([3 if n.stem_block else 2 for n in nets])
    projections = len(space.stages)
    np.testing.assert_array_equal(layers, stem + 3 * blocks + projections + 1)


def test_a_resnet_recipe_trains_only_the_choices_its_family_has(image_folder):
    from conftest import tiny_recipe
    from ofa.errors import OfaError
    from ofa.train.recipes import load_recipe

    recipe = load_recipe(tiny_recipe(f"imagefolder:{image_folder}", space="resnet-tiny", phases=RESNET_PHASES))
    full, depth, expand, width = (recipe.phase_space(i) for i in range(4))
    assert (full.widths, full.expands, [s.depths for s in full.stages], full.stem_skippable) == \
        ((1,), (0.5,), [(2,)] * 3, False)
    assert depth.stem_skippable and [s.depths for s in depth.stages] == [(1, 2)] * 3 and depth.widths == (1,)
    assert expand.expands == (0.25, 0.5) and width.widths == (0.5, 1)
    with pytest.raises(OfaError, match=r"phases\[1\] \(kernel\): 'kernels' is no choice of resnet spaces"):
        load_recipe(tiny_recipe(f"imagefolder:{image_folder}", space="resnet-tiny"))
    with pytest.raises(OfaError, match="'widths' is no choice of mbconv spaces"):
        load_recipe(tiny_recipe(f"imagefolder:{image_folder}", phases=[{**RESNET_PHASES[3], "widths": [0.5, 1]}]))
    # `all` of a choice the family lacks opens nothing: one recipe (as `transfer`) serves both families
    for space in ("tiny", "resnet-tiny"):
        mixed = load_recipe(tiny_recipe(f"imagefolder:{image_folder}", space=space, phases=[
            {"name": "every", "epochs": 1, "lr": 0.1, "kernels": "all", "depths": "all", "expands": "all",
             "widths": "all", "resolutions": [16]}]))
        assert mixed.phase_space(0) == get_space(space).restrict(resolutions=[16])


# -- input of the wrong family: one line, exit 2, nothing written --------------------------------------


def test_space_files_of_an_unknown_family_or_mixed_fields_are_refused(tmp_path, run_cli, monkeypatch):
    monkeypatch.chdir(tmp_path)
    resnet = get_space("resnet-tiny").to_dict()
    cases = {
        "lstm.yaml": ({**resnet, "family": "lstm"}, "unknown block family 'lstm'; known: mbconv, resnet"),
        "mixed.yaml": ({**resnet, "head_width": 64}, "mixed.yaml.head_width: a field of the mbconv family, not of "
                                                     "resnet"),
        "mixed2.yaml": ({k: v for k, v in {**get_space("tiny").to_dict(), "widths": [0.5, 1]}.items()},
                        "mixed2.yaml.widths: a field of the resnet family, not of mbconv"),
    }
    for name, (data, message) in cases.items():
        (tmp_path / name).write_text(yaml.safe_dump(data))
        code, out, err = run_cli("spaces", "show", name)
        assert code == 2 and message in err and len(err.strip().splitlines()) == 1, err
    code, _, err = run_cli("spaces", "cost", "resnet-tiny", "r16:k3e2,k5e3-k3e2,k3e3")
    assert code == 2 and "is of the mbconv family; space 'resnet-tiny' is of the resnet family" in err
    code, _, err = run_cli("spaces", "cost", "tiny", "r16:w1-w1-b,w1-e0.5,w0.5-e0.25,w1-e0.5")
    assert code == 2 and "is of the resnet family; space 'tiny' is of the mbconv family" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(cases)


def test_tables_and_predictors_of_another_family_are_refused(resnet_run, tmp_path, run_cli, monkeypatch):
    import shutil

    from conftest import write_tiny_table

    monkeypatch.chdir(tmp_path)
    tiny_table = write_tiny_table(tmp_path)  # latency/cpu/tiny.json, an mbconv table
    (tmp_path / "latency/cpu").joinpath("resnet-tiny.json").write_bytes(tiny_table.read_bytes())
    shutil.copytree(resnet_run / "everything/supernet", tmp_path / "run")
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    code, _, err = run_cli("search", "--supernet", "run", "--device", "cpu", "--latency", "1ms")
    assert code == 2 and "tiny" in err and "resnet-tiny" in err and len(err.strip().splitlines()) == 1, err
    # a predictor fitted on the mbconv space, given for the ResNet run
    from ofa.predictor.models import FittedModel
    from ofa.predictor.store import AccuracyPredictor, save_predictor
    from ofa.predictor.features import feature_names

    tiny = get_space("tiny")
    width = len(feature_names(tiny))
    arrays = {"w0": np.ones((1, width, 1), np.float32), "b0": np.zeros((1, 1), np.float32)}
    save_predictor(AccuracyPredictor(tiny, FittedModel("mlp", arrays), None, {}, "default"), tmp_path / "tiny-p.json")
    code, _, err = run_cli("search", "--supernet", "run", "--predictor", "tiny-p.json", "--objectives", "acc,macs")
    assert code == 2 and "tiny" in err and len(err.strip().splitlines()) == 1, err
    assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*")) == before + [
        p.relative_to(tmp_path) for p in (tmp_path / "tiny-p.json", tmp_path / "tiny-p.safetensors")]


# -- once-for-all's ResNet checkpoints and predictor ----------------------------------------------------

SPACE_YAML = {"name": "ofa-resnet-small", "family": "resnet", "resolutions": [32, 40], "stem_width": 32,
              "stem_stride": 2, "max_pool": True, "widths": [0.5, 1.0], "expands": [0.25, 0.5],
              "stages": [{"width": 32, "depths": [1, 2]}, {"width": 48, "depths": [1, 2], "stride": 2}]}
CLASSES = 7


def make_divisible(v: float, divisor: int = 8) -> int:
    """once-for-all's rounding of channel counts."""
    new = max(divisor, int(v + divisor / 2) // divisor * divisor)
    return new + divisor if new < 0.9 * v else new


def ofa_resnet_checkpoint(seed: int = 0) -> dict[str, torch.Tensor]:
    """A random state dict in once-for-all's OFAResNets layout and key spelling (`.conv.conv.`,
    `.bn.bn.`, `.linear.linear.`) for SPACE_YAML's shapes at their widest, no BatchNorm at a default."""
    g = torch.Generator().manual_seed(seed)
    sd: dict[str, torch.Tensor] = {}

    def conv_bn(prefix: str, cout: int, cin: int, k: int) -> None:
        sd[prefix + ".conv.conv.weight"] = torch.randn(cout, cin, k, k, generator=g) * (2.0 / (cin * k * k)) ** 0.5
        sd[prefix + ".bn.bn.weight"] = torch.empty(cout).uniform_(0.5, 1.5, generator=g)
        sd[prefix + ".bn.bn.bias"] = 0.1 * torch.randn(cout, generator=g)
        sd[prefix + ".bn.bn.running_mean"] = 0.1 * torch.randn(cout, generator=g)
        sd[prefix + ".bn.bn.running_var"] = torch.empty(cout).uniform_(0.6, 1.6, generator=g)
        sd[prefix + ".bn.bn.num_batches_tracked"] = torch.tensor(3)

    out = make_divisible(32 * 1.0)
    mid = make_divisible(out // 2)
    conv_bn("input_stem.0", mid, 3, 3)
    conv_bn("input_stem.1.conv", mid, mid, 3)
    conv_bn("input_stem.2", out, mid, 3)
    n, cin = 0, out
    for stage in SPACE_YAML["stages"]:
        width = make_divisible(stage["width"] * 1.0)
        for j in range(max(stage["depths"])):
            p = f"blocks.{n}"
            c_in = cin if j == 0 else width
            middle = make_divisible(round(width * 0.5))
            conv_bn(p + ".conv1", middle, c_in, 1)
            conv_bn(p + ".conv2", middle, middle, 3)
            conv_bn(p + ".conv3", width, middle, 1)
            if j == 0:
                conv_bn(p + ".downsample", width, c_in, 1)
            n += 1
        cin = width
    sd["classifier.linear.linear.weight"] = 0.1 * torch.randn(CLASSES, cin, generator=g)
    sd["classifier.linear.linear.bias"] = 0.1 * torch.randn(CLASSES, generator=g)
    return sd


def ofa_resnet_forward(sd: dict[str, torch.Tensor], subnet, x: torch.Tensor) -> torch.Tensor:
    """What once-for-all's OFAResNets computes for `subnet`, from its layer definitions: every
    elastic layer the first channels of its widest weights, BatchNorm on their statistics."""
    def conv_bn(prefix, x, cout, stride=1, relu=True):
        w = sd[prefix + ".conv.conv.weight"][:cout, : x.shape[1]]
        y = F.conv2d(x, w, stride=stride, padding=w.shape[-1] // 2)
        bn = {k: sd[f"{prefix}.bn.bn.{k}"][:cout] for k in ("weight", "bias", "running_mean", "running_var")}
        y = F.batch_norm(y, bn["running_mean"], bn["running_var"], bn["weight"], bn["bias"], False, 0.0, 1e-5)
        return F.relu(y) if relu else y

    out = make_divisible(32 * subnet.widths[1])
    mid = make_divisible(make_divisible(32 * subnet.widths[0]) // 2)
    x = conv_bn("input_stem.0", x, mid, 2)
    if subnet.stem_block:
        x = x + conv_bn("input_stem.1.conv", x, mid)
    x = F.max_pool2d(conv_bn("input_stem.2", x, out), 3, 2, 1)
    n = 0
    for i, (stage, es) in enumerate(zip(SPACE_YAML["stages"], subnet.expands)):
        width = make_divisible(stage["width"] * subnet.widths[2 + i])
        stride = stage.get("stride", 1)
        for j in range(max(stage["depths"])):
            if j < len(es):
                middle = make_divisible(round(width * es[j]))
                s = stride if j == 0 else 1
                y = conv_bn(f"blocks.{n}.conv3", conv_bn(f"blocks.{n}.conv2", conv_bn(f"blocks.{n}.conv1", x, middle),
                                                         middle, s), width, relu=False)
                if j == 0:
                    skip = F.avg_pool2d(x, s, s, 0, ceil_mode=True) if s > 1 else x
                    skip = conv_bn(f"blocks.{n}.downsample", skip, width, relu=False)
                else:
                    skip = x
                x = F.relu(y + skip)
            n += 1
    x = x.mean((2, 3))
    return F.linear(x, sd["classifier.linear.linear.weight"][:, : x.shape[1]], sd["classifier.linear.linear.bias"])


@pytest.fixture
def small_space(monkeypatch):
    """SPACE_YAML registered for this test only (a run names its space; the registry finds it)."""
    from ofa.families import read_space
    from ofa.spaces import registry

    space = read_space(SPACE_YAML)
    monkeypatch.setitem(registry._REGISTERED, space.name, space)
    return space


def test_import_supernet_of_once_for_all_resnets_computes_what_it_computes(tmp_path, run_cli, monkeypatch,
                                                                            small_space):
    from ofa.train.run_accuracy import load_supernet

    monkeypatch.chdir(tmp_path)
    sd = ofa_resnet_checkpoint()
    torch.save({"state_dict": sd}, tmp_path / "ofa_resnet.pth")
    code, out, err = run_cli("import-supernet", "--format", "ofa", "ofa_resnet.pth", "--space", small_space.name,
                             "--out", "imported")
    assert code == 0, err
    model, info = load_supernet(tmp_path / "imported")
    assert info["num_classes"] == CLASSES
    space = model.space
    x = torch.randn(2, 3, 40, 40, generator=torch.Generator().manual_seed(1))
    nets = [sample_subnet(space, k) for k in ("max", "min")] + [sample_subnet(space, "uniform", s) for s in range(6)]
    with torch.no_grad():
        for net in nets:
            model.set_active(net)
            inputs = F.interpolate(x, size=net.resolution, mode="bilinear") if net.resolution != 40 else x
            np.testing.assert_allclose(model(inputs).numpy(), ofa_resnet_forward(sd, net, inputs).numpy(),
                                       atol=1e-4, rtol=1e-4)
    # the shorter spelling once-for-all's loader also accepts gives the same weights
    short = {k.replace(".bn.bn.", ".bn.").replace(".conv.conv.weight", ".conv.weight")
             .replace(".linear.linear.", ".linear."): v for k, v in sd.items()}
    torch.save({"state_dict": short}, tmp_path / "short.pth")
    assert run_cli("import-supernet", "--format", "ofa", "short.pth", "--space", small_space.name, "--out",
                   "short")[0] == 0
    a, b = load_supernet(tmp_path / "imported")[0].state_dict(), load_supernet(tmp_path / "short")[0].state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_checkpoints_of_the_other_family_are_refused_in_one_line(tmp_path, run_cli, monkeypatch, small_space):
    from test_supernet_import import ofa_checkpoint

    monkeypatch.chdir(tmp_path)
    torch.save({"state_dict": ofa_resnet_checkpoint()}, tmp_path / "resnet.pth")
    torch.save({"state_dict": ofa_checkpoint(0, "mbv3-w1.2")}, tmp_path / "mbv3.pth")
    code, _, err = run_cli("import-supernet", "--format", "ofa", "resnet.pth", "--space", "mbv3-w1.2", "--out", "a")
    assert code == 2 and "looks like once-for-all's ResNets (OFAResNets): import it into a resnet space (as " \
                         "ofa_resnet50)" in err
    code, _, err = run_cli("import-supernet", "--format", "ofa", "mbv3.pth", "--space", small_space.name, "--out", "b")
    assert code == 2 and "looks like once-for-all's MobileNetV3 and ProxylessNAS networks" in err
    from ofa.families import read_space
    from ofa.spaces import registry

    wide = read_space({**SPACE_YAML, "name": "ofa-resnet-wide", "stem_width": 64})
    monkeypatch.setitem(registry._REGISTERED, wide.name, wide)
    code, _, err = run_cli("import-supernet", "--format", "ofa", "resnet.pth", "--space", wide.name, "--out", "c")
    assert code == 2 and "does not fit space 'ofa-resnet-wide'" in err and "input_stem.0" in err
    assert not any((tmp_path / d).exists() for d in ("a", "b", "c"))


def test_once_for_all_resnet50_predictor_imported_predicts_what_it_predicts(tmp_path, run_cli, monkeypatch):
    from ofa.families.resnet.subnet import ResNetSubnet
    from ofa.predictor.store import load_predictor

    monkeypatch.chdir(tmp_path)
    torch.manual_seed(3)

    class OfaResNetPredictor(torch.nn.Module):  # once-for-all's AccuracyPredictor(arch_encoder, 16, 2)
        def __init__(self):
            super().__init__()
            self.layers = torch.nn.Sequential(
                torch.nn.Sequential(torch.nn.Linear(82, 16), torch.nn.ReLU()),
                torch.nn.Sequential(torch.nn.Linear(16, 16), torch.nn.ReLU()), torch.nn.Linear(16, 1, bias=False))
            self.base_acc = torch.nn.Parameter(torch.tensor([0.7]), requires_grad=False)

        def forward(self, x):
            return self.layers(x).squeeze(-1) + self.base_acc

    net = OfaResNetPredictor()
    torch.save(net.state_dict(), tmp_path / "ofa_resnet50_acc_predictor.pth")
    code, out, err = run_cli("predictor", "import", "--format", "ofa", "ofa_resnet50_acc_predictor.pth", "--space",
                             "resnet50", "--out", "p.json")
    assert code == 0, err
    space = get_space("resnet50")
    predictor = load_predictor(tmp_path / "p.json", space)
    assert predictor.encoding == "ofa-resnet50" and predictor.supernet is None
    # a hand-worked subnet: its 82 inputs as once-for-all's ResNetArchEncoder lays them out
    subnet = ResNetSubnet.parse("r160:w0.65-w1-b,w0.8-e0.2-e0.25,w1-e0.35-e0.35-e0.2,"
                                "w0.65-e0.2-e0.2-e0.2-e0.2-e0.2-e0.35,w1-e0.25-e0.25")
    x = np.zeros(82, dtype=np.float32)
    x[2] = x[8 + 1] = 1
    for position, w in enumerate([0, 2, 1, 2, 0, 2]):
        x[10 + 3 * position + w] = 1
    for slot, e in {0: 0, 1: 1, 4: 2, 5: 2, 6: 0, 8: 0, 9: 0, 10: 0, 11: 0, 12: 0, 13: 2, 14: 1, 15: 1}.items():
        x[28 + 3 * slot + e] = 1
    others = [sample_subnet(space, "uniform", s) for s in range(20)]
    with torch.no_grad():
        want = [100 * float(net(torch.from_numpy(x)[None])[0])]
    got, spread = predictor.predict_genes(np.stack([encode(space, subnet)] + [encode(space, s) for s in others]))
    assert got[0] == pytest.approx(want[0], abs=1e-4) and (spread == 0).all()
    # under a MACs budget, from the space alone
    code, out, err = run_cli("search", "--space", "resnet50", "--predictor", "p.json", "--objectives", "acc,macs",
                             "--macs", "2000M", "--population", "16", "--generations", "4", "--json")
    assert code == 0, err
    best = json.loads(out)["best"]
    assert best["macs"] <= 2e9 and (tmp_path / "search/resnet50/front.json").is_file()
    # the tutorial predictor of once-for-all's MobileNetV3 is not this one
    code, _, err = run_cli("predictor", "import", "--format", "ofa", "ofa_resnet50_acc_predictor.pth", "--space",
                           "mbv3-w1.2", "--out", "q.json")
    assert code == 2 and "q.json" not in [p.name for p in tmp_path.iterdir()] and len(err.strip().splitlines()) == 1
