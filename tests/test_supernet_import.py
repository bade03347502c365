"""`ofa import-supernet`: once-for-all's OFAMobileNetV3 and OFAProxylessNASNets checkpoints imported exactly.

The checkpoint is built here in once-for-all's layout (its key names, the elastic blocks' largest
shapes, the kernel transform matrices) from its networks' definitions, with every BatchNorm statistic
and affine parameter moved and every transform matrix away from identity. The expected logits come
from `ofa_forward`, a small forward written for this test from once-for-all's layer definitions
(slices of the largest weights, `F.linear(crop, matrix)` for a smaller kernel, its h-swish, h-sigmoid
and ReLU6), not from our Supernet. benchmarks/ofa_supernet_parity.py holds the import to
once-for-all's own code.
"""

from __future__ import annotations

import json
import pickle

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from ofa.families.mbconv.subnet import Subnet
from ofa.spaces import get_space
from ofa.supernet.importers import read_supernet_weights
from ofa.families.mbconv.once_for_all import canonical_key
from ofa.train.run_accuracy import load_supernet

# once-for-all's networks: stem and its activation, first block's width and activation, per unit
# (width, stride, activation, squeeze-excite, blocks), the head, BatchNorm epsilon
NETS = {
    "mbv3-w1.2": {"stem": (24, "hswish"), "first": (24, "relu"), "eps": 1e-5, "head": ("hswish", 1152, 1536),
                  "units": [(32, 2, "relu", 0, 4), (48, 2, "relu", 1, 4), (96, 2, "hswish", 0, 4),
                            (136, 1, "hswish", 1, 4), (192, 2, "hswish", 1, 4)]},
    "proxyless-w1.3": {"stem": (40, "relu6"), "first": (24, "relu6"), "eps": 1e-3, "head": ("relu6", 1664, 0),
                       "units": [(32, 2, "relu6", 0, 4), (56, 2, "relu6", 0, 4), (104, 2, "relu6", 0, 4),
                                 (128, 1, "relu6", 0, 4), (248, 2, "relu6", 0, 4), (416, 1, "relu6", 0, 1)]},
}
CLASSES = 10


def make_divisible(v: float, divisor: int = 8) -> int:
    new = max(divisor, int(v + divisor / 2) // divisor * divisor)
    return new + divisor if new < 0.9 * v else new


def ofa_checkpoint(seed: int = 0, net: str = "mbv3-w1.2") -> dict[str, torch.Tensor]:
    """A random state dict of once-for-all's elastic network `net` (kernel 3/5/7, expand 3/4/6, depth
    2/3/4) in its newer key spelling, nothing left at a default."""
    spec = NETS[net]
    g = torch.Generator().manual_seed(seed)
    sd: dict[str, torch.Tensor] = {}

    def conv(key, cout, cin, k):
        sd[key] = torch.randn(cout, cin, k, k, generator=g) * (2.0 / (cin * k * k)) ** 0.5

    def bn(prefix, c, gamma=1.0):
        sd[prefix + ".weight"] = gamma * torch.empty(c).uniform_(0.8, 1.2, generator=g)
        sd[prefix + ".bias"] = 0.1 * torch.randn(c, generator=g)
        sd[prefix + ".running_mean"] = 0.1 * torch.randn(c, generator=g)
        sd[prefix + ".running_var"] = torch.empty(c).uniform_(0.6, 1.6, generator=g)
        sd[prefix + ".num_batches_tracked"] = torch.tensor(7)

    (stem, _), (first, _) = spec["stem"], spec["first"]
    conv("first_conv.conv.weight", stem, 3, 3)
    bn("first_conv.bn", stem)
    sd["blocks.0.conv.depth_conv.conv.weight"] = torch.randn(stem, 1, 3, 3, generator=g) * (2 / 9) ** 0.5
    bn("blocks.0.conv.depth_conv.bn", stem)
    conv("blocks.0.conv.point_linear.conv.weight", first, stem, 1)
    bn("blocks.0.conv.point_linear.bn", first, gamma=0.3 if stem == first else 1.0)
    n, cin = 1, first
    for width, stride, _, se, blocks in spec["units"]:
        for j in range(blocks):
            c_in = cin if j == 0 else width
            mid = make_divisible(round(c_in * 6))
            p = f"blocks.{n}.conv."
            conv(p + "inverted_bottleneck.conv.conv.weight", mid, c_in, 1)
            bn(p + "inverted_bottleneck.bn.bn", mid)
            sd[p + "depth_conv.conv.conv.weight"] = torch.randn(mid, 1, 7, 7, generator=g) * (2 / 25) ** 0.5
            for big, small in ((7, 5), (5, 3)):
                sd[p + f"depth_conv.conv.{big}to{small}_matrix"] = (
                    torch.eye(small * small) + 0.15 * torch.randn(small * small, small * small, generator=g))
            bn(p + "depth_conv.bn.bn", mid)
            if se:
                hidden = make_divisible(mid // 4)
                conv(p + "depth_conv.se.fc.reduce.weight", hidden, mid, 1)
                sd[p + "depth_conv.se.fc.reduce.bias"] = 0.1 * torch.randn(hidden, generator=g)
                conv(p + "depth_conv.se.fc.expand.weight", mid, hidden, 1)
                sd[p + "depth_conv.se.fc.expand.bias"] = 0.1 * torch.randn(mid, generator=g)
            conv(p + "point_linear.conv.conv.weight", width, mid, 1)
            bn(p + "point_linear.bn.bn", width, gamma=0.3 if j else 1.0)  # residual branches start small
            n += 1
        cin = width
    _, expand, mix = spec["head"]
    if mix:  # MobileNetV3: final expand (BN), pool, feature mix (no BN)
        conv("final_expand_layer.conv.weight", expand, cin, 1)
        bn("final_expand_layer.bn", expand)
        conv("feature_mix_layer.conv.weight", mix, expand, 1)
    else:  # ProxylessNAS: its feature mix is a 1x1 convolution with BN before the pool
        conv("feature_mix_layer.conv.weight", expand, cin, 1)
        bn("feature_mix_layer.bn", expand)
    sd["classifier.linear.weight"] = 0.3 * torch.randn(CLASSES, mix or expand, generator=g) / (mix or expand) ** 0.5
    sd["classifier.linear.bias"] = 0.1 * torch.randn(CLASSES, generator=g)
    return sd


def _hswish(x):
    return x * F.relu6(x + 3) / 6


ACT = {"relu": F.relu, "hswish": _hswish, "relu6": F.relu6}


def _bn(sd, prefix, x, eps):
    c = x.shape[1]
    return F.batch_norm(x, sd[prefix + ".running_mean"][:c], sd[prefix + ".running_var"][:c],
                        sd[prefix + ".weight"][:c], sd[prefix + ".bias"][:c], False, 0.0, eps)


def _kernel(sd, prefix, channels, k, transposed=False):
    """once-for-all's `get_active_filter`: centre crops, each passed through F.linear(crop, matrix)."""
    w = sd[prefix + "weight"][:channels]
    size = 7
    while size > k:
        small = size - 2
        start = (size - small) // 2
        crop = w[:, :, start:start + small, start:start + small].reshape(channels, small * small)
        matrix = sd[prefix + f"{size}to{small}_matrix"]
        w = F.linear(crop, matrix.t() if transposed else matrix).reshape(channels, 1, small, small)
        size = small
    return w


def ofa_forward(sd, spec: dict, x: torch.Tensor, transposed: bool = False, net: str = "mbv3-w1.2") -> torch.Tensor:
    """A subnet of the checkpoint `sd`: spec = {"ks": a kernel and "e": an expand ratio per block slot,
    "d": a depth per unit (once-for-all caps it at the unit's blocks)}."""
    arch, sd = NETS[net], {canonical_key(k): v for k, v in sd.items()}
    eps, (stem, stem_act), (first, first_act) = arch["eps"], arch["stem"], arch["first"]
    x = ACT[stem_act](_bn(sd, "first_conv.bn", F.conv2d(x, sd["first_conv.conv.weight"], stride=2, padding=1), eps))
    y = ACT[first_act](_bn(sd, "blocks.0.conv.depth_conv.bn",
                           F.conv2d(x, sd["blocks.0.conv.depth_conv.conv.weight"], padding=1, groups=stem), eps))
    y = _bn(sd, "blocks.0.conv.point_linear.bn", F.conv2d(y, sd["blocks.0.conv.point_linear.conv.weight"]), eps)
    x = x + y if stem == first else y
    slot = 0
    for i, (width, stride, act, se, blocks) in enumerate(arch["units"]):
        for j in range(min(spec["d"][i], blocks)):
            p = f"blocks.{slot + j + 1}.conv."
            k, cin = spec["ks"][slot + j], x.shape[1]
            mid = make_divisible(round(cin * spec["e"][slot + j]))
            s = stride if j == 0 else 1
            y = ACT[act](_bn(sd, p + "inverted_bottleneck.bn",
                             F.conv2d(x, sd[p + "inverted_bottleneck.conv.weight"][:mid, :cin]), eps))
            w = _kernel(sd, p + "depth_conv.conv.", mid, k, transposed)
            y = ACT[act](_bn(sd, p + "depth_conv.bn", F.conv2d(y, w, stride=s, padding=k // 2, groups=mid), eps))
            if se:
                h = make_divisible(mid // 4)
                z = F.relu(F.conv2d(y.mean((2, 3), keepdim=True), sd[p + "depth_conv.se.fc.reduce.weight"][:h, :mid],
                                    sd[p + "depth_conv.se.fc.reduce.bias"][:h]))
                z = F.conv2d(z, sd[p + "depth_conv.se.fc.expand.weight"][:mid, :h], sd[p + "depth_conv.se.fc.expand.bias"][:mid])
                y = y * F.relu6(z + 3) / 6
            y = _bn(sd, p + "point_linear.bn", F.conv2d(y, sd[p + "point_linear.conv.weight"][:, :mid]), eps)
            x = x + y if s == 1 and cin == width else y
        slot += blocks
    act, _, mix = arch["head"]
    if mix:
        x = ACT[act](_bn(sd, "final_expand_layer.bn", F.conv2d(x, sd["final_expand_layer.conv.weight"]), eps))
        x = ACT[act](F.conv2d(x.mean((2, 3), keepdim=True), sd["feature_mix_layer.conv.weight"])).flatten(1)
    else:
        x = ACT[act](_bn(sd, "feature_mix_layer.bn", F.conv2d(x, sd["feature_mix_layer.conv.weight"]), eps))
        x = x.mean((2, 3))
    return F.linear(x, sd["classifier.linear.weight"], sd["classifier.linear.bias"])


def named_subnets(net: str = "mbv3-w1.2") -> list[dict]:
    """Smallest, largest, mixed kernels, expands and depths, and three random ones."""
    units = [u[4] for u in NETS[net]["units"]]
    n, stages = sum(units), len(units)
    rng = np.random.default_rng(3)
    mixed = lambda choices: [choices[i % 3] for i in range(n)]  # noqa: E731
    nets = [{"ks": [3] * n, "e": [3] * n, "d": [2] * stages, "r": 128},  # smallest
            {"ks": [7] * n, "e": [6] * n, "d": [4] * stages, "r": 136},  # largest
            {"ks": mixed([3, 5, 7]), "e": [6] * n, "d": [4] * stages, "r": 132},
            {"ks": [7] * n, "e": mixed([3, 4, 6]), "d": [4] * stages, "r": 136},
            {"ks": [5] * n, "e": [4] * n, "d": [2, 3, 4, 3, 2, 4][:stages], "r": 144}]
    for r in (128, 140, 148):
        nets.append({"ks": rng.choice([3, 5, 7], n).tolist(), "e": rng.choice([3, 4, 6], n).tolist(),
                     "d": rng.choice([2, 3, 4], stages).tolist(), "r": r})
    return nets


def ours(spec: dict, net: str = "mbv3-w1.2") -> Subnet:
    units = [u[4] for u in NETS[net]["units"]]
    starts = np.cumsum([0] + units[:-1])
    pick = lambda key: tuple(tuple(spec[key][s: s + min(d, b)]) for s, d, b in zip(starts, spec["d"], units))  # noqa: E731
    return Subnet(spec["r"], pick("ks"), pick("e"))


def _import(root, sd, space):
    from ofa.cli import main

    torch.save({"state_dict": sd, "epoch": 120, "best_acc": 0.8}, root / "ofa.pth")
    with pytest.raises(SystemExit) as e:
        main(["import-supernet", "--format", "ofa", str(root / "ofa.pth"), "--space", space, "--out",
              str(root / "run"), "--quiet"])
    assert e.value.code == 0


@pytest.fixture(scope="module")
def imported(tmp_path_factory):
    """The w1.2 checkpoint saved as once-for-all saves it, imported through the command line."""
    root = tmp_path_factory.mktemp("import")
    sd = ofa_checkpoint()
    _import(root, sd, "mbv3-w1.2")
    return sd, root


@pytest.mark.parametrize("net", sorted(NETS))
@torch.no_grad()
def test_every_subnet_computes_what_once_for_all_computes(net, imported, tmp_path):
    if net == "mbv3-w1.2":
        sd, root = imported
    else:
        sd, root = ofa_checkpoint(1, net), tmp_path
        _import(root, sd, net)
    model, info = load_supernet(root / "run")
    assert info["num_classes"] == CLASSES and info["classes"] is None and info["data"] is None
    worst, flipped_least = 0.0, np.inf
    for spec in named_subnets(net):
        x = torch.randn(2, 3, spec["r"], spec["r"], generator=torch.Generator().manual_seed(spec["r"]))
        x += torch.tensor([0.5, -0.5])[:, None, None, None]  # images apart after global pooling too
        expected = ofa_forward(sd, spec, x, net=net)
        assert 0.05 < expected.abs().max() < 20 and (expected[0] - expected[1]).abs().max() > 1e-4  # a real signal
        got = model.extract(ours(spec, net)).eval()(x)
        worst = max(worst, (got - expected).abs().max().item())
        if any(k < 7 for k in spec["ks"]):  # the transforms applied the other way round are far off
            flipped = ofa_forward(sd, spec, x, transposed=True, net=net)
            flipped_least = min(flipped_least, (flipped - expected).abs().max().item())
    assert worst <= 1e-5, worst
    assert flipped_least > 100 * 1e-5, flipped_least


def test_every_key_spelling_once_for_all_accepts_gives_the_same_weights(imported, tmp_path):
    sd, root = imported
    space = get_space("mbv3-w1.2")
    reference = read_supernet_weights("ofa", root / "ofa.pth", space)
    older = {k.replace(".conv.inverted_bottleneck.", ".mobile_inverted_conv.inverted_bottleneck.")
              .replace(".conv.depth_conv.", ".mobile_inverted_conv.depth_conv.")
              .replace(".conv.point_linear.", ".mobile_inverted_conv.point_linear.")
              .replace(".bn.bn.", ".bn.").replace(".conv.conv.weight", ".conv.weight"): v for k, v in sd.items()}
    longer = {k.replace("classifier.linear.", "classifier.linear.linear."): v for k, v in sd.items()
              if not k.endswith("num_batches_tracked")}  # and as an older torch saved BatchNorm
    for name, state in (("bare", sd), ("older", older), ("longer", longer)):
        torch.save(state, tmp_path / f"{name}.pth")
        weights = read_supernet_weights("ofa", tmp_path / f"{name}.pth", space)
        assert weights.keys() == reference.keys()
        for k, v in reference.items():
            if not k.endswith("num_batches_tracked"):
                assert torch.equal(weights[k], v), (name, k)


def test_the_run_records_its_source_and_every_command_takes_it(imported, run_cli, image_folder, tmp_path):
    _, root = imported
    info = json.loads((root / "run" / "run.json").read_text())
    source = info["source"]
    import hashlib

    assert source["format"] == "ofa" and source["sha256"] == hashlib.sha256((root / "ofa.pth").read_bytes()).hexdigest()
    calib = f"imagefolder:{image_folder}"
    # no images of its own: BatchNorm statistics need --calib-data, accuracy needs labelled --data
    code, _, err = run_cli("export", "--supernet", str(root / "run"), "--subnet", "min", "--out", str(tmp_path / "m"))
    assert code == 2 and "--calib-data" in err and not (tmp_path / "m").exists()
    code, out, err = run_cli("export", "--supernet", str(root / "run"), "--subnet", "r128:k3e3-k3e3,k5e4-k3e3,"
                             "k3e3-k3e3,k3e3-k3e3,k3e3-k7e6", "--out", str(tmp_path / "m"), "--calib-data", calib)
    assert code == 0 and "accuracy not measured" in out, err
    exported = json.loads((tmp_path / "m" / "export.json").read_text())
    assert exported["accuracy"] is None and "54 images of imagefolder:" in exported["bn_calibration"]
    code, _, err = run_cli("evaluate", "--supernet", str(root / "run"), "--subnet", "min", "--calib-data", calib)
    assert code == 2 and "--data" in err
    code, _, err = run_cli("evaluate", "--supernet", str(root / "run"), "--subnet", "min", "--calib-data", calib,
                           "--data", calib)
    assert code == 2 and "3 classes, the supernet 10" in err


def test_checkpoints_that_are_not_such_a_supernet_are_refused_in_one_line(imported, tmp_path, run_cli):
    sd, root = imported
    cases = {
        "width-1.0.pth": ({**sd, "first_conv.conv.weight": torch.zeros(16, 3, 3, 3)}, "a checkpoint of another width"),
        "resnet.pth": ({"input_stem.0.conv.weight": torch.zeros(8, 3, 3, 3), "classifier.linear.weight": torch.zeros(2, 8)},
                       "ResNet"),
        "extra.pth": ({**sd, "blocks.21.conv.point_linear.conv.conv.weight": torch.zeros(1)}, "no place for"),
        "missing.pth": ({k: v for k, v in sd.items() if "blocks.7." not in k}, "lacks 'blocks.7."),
        "nan.pth": ({**sd, "classifier.linear.bias": torch.full((CLASSES,), float("nan"))}, "NaN"),
        "twice.pth": ({**sd, "blocks.1.mobile_inverted_conv.point_linear.conv.conv.weight": torch.zeros(1)},
                      "two spellings of one tensor"),
        "not-tensors.pth": ({"state_dict": {"first_conv.conv.weight": [1, 2]}}, "holds list"),
    }
    for name, (state, _) in cases.items():
        torch.save(state, tmp_path / name)
    blob = (root / "ofa.pth").read_bytes()
    (tmp_path / "truncated.pth").write_bytes(blob[: len(blob) // 2])
    cases["truncated.pth"] = (None, "not a readable PyTorch file")

    class Payload:
        def __reduce__(self):
            import os

            return (os.system, ("touch PWNED",))

    (tmp_path / "payload.pth").write_bytes(pickle.dumps({"state_dict": Payload()}))
    cases["payload.pth"] = (None, "refused")
    for name, (_, message) in cases.items():
        code, _, err = run_cli("import-supernet", str(tmp_path / name), "--space", "mbv3-w1.2", "--out",
                               str(tmp_path / "run"), "-q")
        assert code == 2 and message in err and len(err.strip().splitlines()) == 1, (name, err)
    assert not (tmp_path / "run").exists() and not (tmp_path / "PWNED").exists()
    code, _, err = run_cli("import-supernet", str(root / "ofa.pth"), "--space", "mbv3-w1.0", "--out",
                           str(tmp_path / "run"), "-q")
    assert code == 2 and "space mbv3-w1.2 has that stem" in err
    code, _, err = run_cli("import-supernet", str(root / "ofa.pth"), "--space", "mbv3-w1.2", "--out",
                           str(root / "run"), "-q")
    assert code == 2 and "--force" in err


def test_search_collect_and_specialize_an_imported_supernet(imported, tmp_path, run_cli, monkeypatch):
    """No training anywhere: the imported supernet, an imported predictor, a table of this CPU, images for
    BatchNorm statistics; the card says the accuracy is predicted only, until labelled data is given."""
    from conftest import make_image_folder
    from test_latency_table import synthetic_table
    from test_ofa_import import _mlp

    from ofa.latency.host import this_host
    from ofa.latency.predict import LatencyPredictor
    from ofa.latency.table import Calibration, save_table
    from ofa.spaces import sample_subnet

    _, root = imported
    monkeypatch.chdir(tmp_path)
    space = get_space("mbv3-w1.2")
    table = synthetic_table("mbv3-w1.2", (128, 160), CLASSES)  # the predictor was fitted at 160-224 px only
    table.calibration, table.provenance["calibrated_on"] = Calibration(), this_host()
    save_table(table, tmp_path / "latency" / "cpu" / "mbv3-w1.2.json")
    ends = LatencyPredictor(table, space).predict([sample_subnet(space.restrict(resolutions=[160]), k) for k in ("min", "max")])
    budget = f"{(ends[0] + ends[1]) / 2:.4f}ms"
    torch.save(_mlp([128, 16, 1]).state_dict(), tmp_path / "acc.pth")
    assert run_cli("predictor", "import", "--format", "ofa", "acc.pth", "-s", "mbv3-w1.2", "--out", "pred.json")[0] == 0
    images = make_image_folder(tmp_path / "labelled", classes=CLASSES, per_class=4, size=10)
    common = ["specialize", "--supernet", str(root / "run"), "--predictor", "pred.json", "--device", "cpu",
              "--latency", budget, "--open-loop", "--generations", "4", "--population", "20", "-q",
              "--calib-data", f"imagefolder:{images}"]
    code, out, err = run_cli(*common, "--out", "predicted-only")
    assert code == 0, err
    card = json.loads(next((tmp_path / "predicted-only").glob("*/card.json")).read_text())
    assert card["accuracy"]["bn_calibrated"] is None and "30 images of imagefolder:" in card["accuracy"]["bn_calibration"]
    assert card["supernet"]["run"] == str(root / "run")
    md = next((tmp_path / "predicted-only").glob("*/card.md")).read_text()
    assert "the accuracy above is predicted only" in md
    code, _, err = run_cli("search", "--supernet", str(root / "run"), "--predictor", "pred.json", "-d", "cpu", "-l", budget,
                           "--generations", "4", "--population", "20", "--out", "search", "-q")
    assert code == 0 and (tmp_path / "search" / "front.json").is_file(), err
    front = json.loads((tmp_path / "search" / "front.json").read_text())["front"]
    assert {p["subnet"].split(":")[0] for p in front} == {"r160"}  # never 128 px, where it never learnt
    code, _, err = run_cli("predictor", "collect", "--supernet", str(root / "run"), "-n", "2", "--data",
                           f"imagefolder:{images}", "--calib-data", f"imagefolder:{images}", "--out", "acc.jsonl", "-q")
    assert code == 0 and len((tmp_path / "acc.jsonl").read_text().splitlines()) == 3, err  # a header, two subnets
    code, out, err = run_cli(*common, "--out", "measured", "--data", f"imagefolder:{images}")
    assert code == 0, err
    card = json.loads(next((tmp_path / "measured").glob("*/card.json")).read_text())
    measured = card["accuracy"]["bn_calibrated"]
    assert 0 <= measured["top1"] <= 100 and measured["images"] > 0 and "labelled" in card["accuracy"]["data"]


def test_every_resolution_once_for_all_trained_at_while_the_note10_table_keeps_its_five():
    from ofa.latency.table import load_table
    from ofa.resources import data_dir

    for name in ("mbv3-w1.0", "mbv3-w1.2", "proxyless-w1.3"):
        assert get_space(name).resolutions == tuple(range(128, 225, 4))
    space = get_space("mbv3-w1.2")
    table = load_table(data_dir("latency") / "note10" / "mbv3-w1.2.json").check("note10", space.name, space.fingerprint())
    assert table.resolutions == [160, 176, 192, 208, 224] and table.complete_resolutions == [160, 176, 192, 208]
