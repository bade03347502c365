"""The ResNet family's data: its space files, subnets (string, dict, genes), static configs, costs and
predictor encodings, checked on hand-worked cases."""

import numpy as np
import pytest

from ofa.errors import OfaError
from ofa.families.resnet.config import ResNetConfig, bottleneck_cost, net_config, net_cost
from ofa.families.resnet.encodings import ENCODINGS
from ofa.families.resnet.space import resnet_space_from_dict
from ofa.families.resnet.subnet import ResNetSubnet, check_subnet, decode, encode, gene_layout, sample_subnet

# once-for-all's ofa_resnet50: base depths 2/2/4/2 plus 0-2, stage widths 256/512/1024/2048
RESNET50 = {"name": "resnet50", "family": "resnet", "resolutions": [128, 144, 160, 176, 192, 224, 240, 256],
            "stages": [{"width": 256, "depths": [2, 3, 4], "stride": 1}, {"width": 512, "depths": [2, 3, 4], "stride": 2},
                       {"width": 1024, "depths": [4, 5, 6], "stride": 2}, {"width": 2048, "depths": [2, 3, 4], "stride": 2}]}
TINY = {"name": "resnet-tiny", "family": "resnet", "resolutions": [16, 24], "stem_width": 16, "stem_stride": 1,
        "max_pool": False, "widths": [0.5, 1.0], "expands": [0.25, 0.5],
        "stages": [{"width": 16, "depths": [1, 2]}, {"width": 32, "depths": [1, 2], "stride": 2}]}


def test_widths_follow_once_for_all():
    space = resnet_space_from_dict(RESNET50)
    # make_divisible(64 w, 8) and make_divisible(that // 2, 8), as OFAResNets builds its input stem
    assert [space.stem_channels(w) for w in space.widths] == [40, 48, 64]
    assert [space.stem_mid_channels(w) for w in space.widths] == [24, 24, 32]
    assert [[space.stage_channels(i, w) for w in space.widths] for i in range(4)] == [
        [168, 208, 256], [336, 408, 512], [664, 816, 1024], [1328, 1640, 2048]]
    assert space.mid_channels(256, 0.35) == 88 and space.mid_channels(168, 0.2) == 32
    assert space.num_blocks == 18
    # stem (skip or not) x 3 x 3 widths, then per stage 3 widths x sum over depths of 3^d
    assert space.num_architectures == 2 * 9 * (3 * (9 + 27 + 81)) ** 3 * (3 * (81 + 243 + 729))


def test_space_file_errors_name_the_field():
    with pytest.raises(OfaError, match=r"resnet50.stages\[0\].widht: unknown field \(did you mean 'width'\?\)"):
        resnet_space_from_dict({**RESNET50, "stages": [{"widht": 256, "depths": [2]}]}, "resnet50")
    with pytest.raises(OfaError, match="expands: expected expand ratios from"):
        resnet_space_from_dict({**RESNET50, "expands": [0.2, float("nan")]}, "s")
    with pytest.raises(OfaError, match="family: expected 'resnet'"):
        resnet_space_from_dict({**RESNET50, "family": "mbconv"}, "s")
    with pytest.raises(OfaError, match="kernels: unknown field"):  # a field of the other family
        resnet_space_from_dict({**RESNET50, "kernels": [3, 5]}, "s")


def test_fingerprint_ignores_name_and_description():
    a = resnet_space_from_dict(RESNET50)
    b = resnet_space_from_dict({**RESNET50, "name": "other", "description": "the same shape"})
    c = resnet_space_from_dict({**RESNET50, "expands": [0.25]})
    assert a.fingerprint() == b.fingerprint() != c.fingerprint()


def test_subnet_string_and_dict_round_trip():
    space = resnet_space_from_dict(RESNET50)
    rng = np.random.default_rng(0)
    for _ in range(50):
        subnet = sample_subnet(space, "uniform", rng)
        assert ResNetSubnet.parse(str(subnet)) == subnet
        assert ResNetSubnet.from_dict(subnet.to_dict()) == subnet
        assert check_subnet(space, subnet) is subnet
    text = "r224:w0.65-w1-b,w0.8-e0.2-e0.25,w1-e0.35-e0.35,w0.65-e0.2-e0.2-e0.2-e0.2,w1-e0.25-e0.25"
    subnet = ResNetSubnet.parse(text)
    assert str(subnet) == text and subnet.stem_block and subnet.depths == (2, 2, 4, 2)
    assert subnet.widths == (0.65, 1, 0.8, 1, 0.65, 1)
    assert not ResNetSubnet.parse("r128:w0.65-w0.65,w1-e0.2-e0.2").stem_block


@pytest.mark.parametrize("text,message", [
    ("r224:k3e4-k5e6,k7e3", "cannot read the stem"),  # a MobileNetV3 subnet
    ("r224:w0.65-w1-b,w0.8-k3e4", "cannot read stage"),
    ("224:w1-w1", "cannot read ResNet subnet"),
])
def test_unreadable_subnets(text, message):
    with pytest.raises(OfaError, match=message):
        ResNetSubnet.parse(text)


@pytest.mark.parametrize("text,message", [
    ("r200:w1-w1-b,w1-e0.2-e0.2,w1-e0.2-e0.2,w1-e0.2-e0.2-e0.2-e0.2,w1-e0.2-e0.2", "resolution 200"),
    ("r224:w1-w1-b,w1-e0.2,w1-e0.2-e0.2,w1-e0.2-e0.2-e0.2-e0.2,w1-e0.2-e0.2", "stage 1: depth 1"),
    ("r224:w1-w0.5-b,w1-e0.2-e0.2,w1-e0.2-e0.2,w1-e0.2-e0.2-e0.2-e0.2,w1-e0.2-e0.2", "width 2: multiplier 0.5"),
    ("r224:w1-w1-b,w1-e0.2-e0.3,w1-e0.2-e0.2,w1-e0.2-e0.2-e0.2-e0.2,w1-e0.2-e0.2", "block 2: expand 0.3"),
    ("r224:w1-w1-b,w1-e0.2-e0.2", "subnet has 1 stages"),
])
def test_subnets_outside_the_space(text, message):
    with pytest.raises(OfaError, match=message):
        check_subnet(resnet_space_from_dict(RESNET50), ResNetSubnet.parse(text))


def test_genes_round_trip_and_layout():
    space = resnet_space_from_dict(RESNET50)
    layout = gene_layout(space)
    assert [g.name for g in layout.groups] == ["resolution", "stem", "depth", "width", "expand"]
    assert layout.size == 1 + 1 + 4 + 6 + 18
    rng = np.random.default_rng(1)
    for _ in range(100):
        subnet = sample_subnet(space, "uniform", rng)
        genes = encode(space, subnet)
        assert decode(space, genes) == subnet
        assert (layout.canonical(genes) == genes).all()
    lower, upper = layout.bounds()
    genes = rng.integers(lower, upper + 1, size=(100, layout.size))
    for row, canonical in zip(genes, layout.canonical(genes)):
        assert (encode(space, decode(space, row)) == canonical).all()


def test_a_space_that_cannot_skip_the_stem_block():
    space = resnet_space_from_dict({**RESNET50, "stem_skippable": False})
    assert gene_layout(space).bounds()[1][1] == 0
    assert sample_subnet(space, "min").stem_block
    with pytest.raises(OfaError, match="does not let a subnet skip"):
        check_subnet(space, ResNetSubnet.parse(str(sample_subnet(resnet_space_from_dict(RESNET50), "min"))))


def test_static_config_layer_by_layer():
    space = resnet_space_from_dict(RESNET50)
    cfg = net_config(space, ResNetSubnet.parse(
        "r224:w0.65-w0.8,w1-e0.2-e0.25,w0.65-e0.35-e0.35,w0.8-e0.2-e0.2-e0.2-e0.2,w1-e0.25-e0.25"), 1000)
    assert (cfg.stem.in_channels, cfg.stem.out_channels, cfg.stem.stride) == (3, 24, 2)
    assert cfg.stem_block is None and (cfg.stem_out.in_channels, cfg.stem_out.out_channels) == (24, 48)
    first = cfg.blocks[0]
    assert (first.in_channels, first.mid_channels, first.out_channels, first.stride) == (48, 48, 256, 1)
    assert first.projects and not cfg.blocks[1].projects and cfg.blocks[2].projects
    assert [b.stride for b in cfg.blocks] == [1, 1, 2, 1, 2, 1, 1, 1, 2, 1]
    assert cfg.feature_sizes() == [56, 56, 56, 28, 28, 14, 14, 14, 14, 7, 7]
    assert ResNetConfig.from_dict(cfg.to_dict()) == cfg


def test_cost_by_hand():
    space = resnet_space_from_dict(TINY)
    subnet = ResNetSubnet.parse("r16:w0.5-w1-b,w1-e0.25,w0.5-e0.5")
    cfg = net_config(space, subnet, 10)
    # stem: 3->8 (mid of 16), 8->8 residual, 8->16, all 3x3 at 16 px (stride 1, no max pool)
    stem = 9 * (3 * 8 + 8 * 8 + 8 * 16) * 16 * 16
    # block 1: 16 -> 8 (16 x 0.25 = 4, rounded up to 8) -> 16 at 16 px, and the first of its stage: a projection
    block1 = (16 * 8 + 9 * 8 * 8 + 8 * 16 + 16 * 16) * 16 * 16
    # block 2: 16 -> 8 (16 x 0.5) -> 16, stride 2: 1x1 at 16 px, the rest at 8 px, projection 16 -> 16 at 8 px
    block2 = 16 * 8 * 16 * 16 + (9 * 8 * 8 + 8 * 16 + 16 * 16) * 8 * 8
    assert net_cost(cfg).macs == stem + block1 + block2 + 16 * 10
    assert bottleneck_cost(cfg.blocks[1], 16).macs == block2


def test_once_for_all_encoding_on_hand_worked_subnets():
    space = resnet_space_from_dict(RESNET50)
    names, features = ENCODINGS["ofa-resnet50"]
    assert len(names(space)) == 82
    subnet = ResNetSubnet.parse("r160:w0.65-w1-b,w0.8-e0.2-e0.25,w1-e0.35-e0.35-e0.2,"
                                "w0.65-e0.2-e0.2-e0.2-e0.2-e0.2-e0.35,w1-e0.25-e0.25")
    x = np.concatenate(features(space, encode(space, subnet)[None]), axis=1)[0].astype(int)
    expected = np.zeros(82, dtype=int)
    expected[2] = 1                               # 160 px: the third of 128, 144, 160, ...
    expected[8 + 1] = 1                           # the stem's middle block runs
    for position, w in enumerate([0, 2, 1, 2, 0, 2]):  # width indices of 0.65, 1, 0.8, 1, 0.65, 1
        expected[10 + 3 * position + w] = 1
    slots = {0: 0, 1: 1, 4: 2, 5: 2, 6: 0, 8: 0, 9: 0, 10: 0, 11: 0, 12: 0, 13: 2, 14: 1, 15: 1}
    for slot, e in slots.items():                 # stage slots start at 0, 4, 8, 14
        expected[28 + 3 * slot + e] = 1
    assert x.tolist() == expected.tolist()
    at_208 = resnet_space_from_dict({**RESNET50, "resolutions": [208]})
    with pytest.raises(OfaError, match="no slot for 208 px"):
        features(at_208, encode(at_208, ResNetSubnet.parse(str(subnet).replace("r160", "r208")))[None])
    with pytest.raises(OfaError, match="once-for-all's ResNet50 encoding needs"):
        names(resnet_space_from_dict(TINY))


def test_default_encoding_is_one_hot_per_gene():
    space = resnet_space_from_dict(TINY)
    names, features = ENCODINGS["default"]
    rng = np.random.default_rng(2)
    genes = np.stack([encode(space, sample_subnet(space, "uniform", rng)) for _ in range(30)])
    x = np.concatenate(features(space, genes), axis=1)
    assert x.shape == (30, len(names(space)))
    layout = gene_layout(space)
    # one hot per resolution, stem, depth and width gene, one per expand gene in use
    assert (x.sum(axis=1) == 1 + 1 + len(space.stages) + layout.group("width").__len__()
            + layout.in_use(genes, "expand").sum(axis=1)).all()


def test_once_for_all_names_of_keys_and_subnets():
    import torch

    from ofa.families.resnet.once_for_all import arch_from_subnet, canonical_key, source_key, subnet_from_arch
    from ofa.families.resnet.supernet import ResNetSupernet

    space = resnet_space_from_dict(RESNET50)
    # the elastic modules' spelling and the static ones' (its loader takes both) are one key
    assert canonical_key("input_stem.1.conv.conv.conv.weight") == canonical_key("input_stem.1.conv.conv.weight") \
        == source_key("stem_block.conv.conv.weight", space) == "input_stem.1.conv.weight"
    assert canonical_key("blocks.3.conv2.conv.conv.weight") == canonical_key("blocks.3.conv2.conv.weight")
    assert canonical_key("blocks.4.downsample.bn.bn.running_mean") == \
        source_key("stages.1.0.shortcut.bn.running_mean", space) == "blocks.4.downsample.bn.running_mean"
    assert canonical_key("classifier.linear.linear.bias") == source_key("head.linear.bias", space)
    with torch.device("meta"):
        keys = ResNetSupernet(space, 1000).state_dict()
    theirs = {source_key(k, space) for k in keys}
    assert len(theirs) == len(keys) and max(int(k.split(".")[1]) for k in theirs if k.startswith("blocks.")) == 17
    arch = {"d": [2, 0, 1, 2, 0], "e": [0.2, 0.25, 0.35, 0.35, 0.35, 0.35, 0.2, 0.2] + [0.2] * 6 + [0.25] * 4,
            "w": [0, 2, 1, 2, 0, 2], "image_size": 160}
    subnet = subnet_from_arch(space, arch)
    assert str(subnet) == ("r160:w0.65-w1-b,w0.8-e0.2-e0.25,w1-e0.35-e0.35-e0.2,"
                           "w0.65-e0.2-e0.2-e0.2-e0.2-e0.2-e0.2,w1-e0.25-e0.25")
    rng = np.random.default_rng(3)
    for _ in range(30):
        subnet = sample_subnet(space, "uniform", rng)
        assert subnet_from_arch(space, arch_from_subnet(space, subnet)) == subnet
    with pytest.raises(OfaError, match="does not fit space"):
        subnet_from_arch(space, {**arch, "d": [2, 0, 1]})


@pytest.mark.parametrize("space_dict", [RESNET50, TINY], ids=["resnet50", "tiny"])
def test_slot_parts_are_the_subnets_layers_and_sum_to_its_cost(space_dict):
    from ofa.families.parts import CostTable
    from ofa.families.resnet.parts import ResNetPart, slot_choices, slot_parts

    space = resnet_space_from_dict(space_dict)
    rng = np.random.default_rng(4)
    subnets = [sample_subnet(space, k) for k in ("max", "min")] + [sample_subnet(space, "uniform", rng) for _ in range(40)]
    genes = np.stack([encode(space, s) for s in subnets])
    choices = slot_choices(space, genes)
    table = CostTable(space, 1000)
    by_table = table.macs_params(genes)
    for subnet, row, (macs, params) in zip(subnets, choices, by_table):
        cfg = net_config(space, subnet, 1000)
        sizes = cfg.feature_sizes()
        stem_size = cfg.stem_size()
        expected = [ResNetPart("stem", cfg.resolution, cfg.stem)]
        expected += [ResNetPart("stem_block", stem_size, cfg.stem_block)] if cfg.stem_block else []
        expected += [ResNetPart("stem_out", stem_size, cfg.stem_out, pool=cfg.max_pool)]
        expected += [ResNetPart("block", size, block=b) for b, size in zip(cfg.blocks, sizes)]
        expected += [ResNetPart("head", sizes[-1], num_classes=1000, head_in=cfg.blocks[-1].out_channels)]
        parts = slot_parts(space, subnet.resolution, 1000)
        picked = [parts[s][c] for s, c in enumerate(row) if c >= 0]
        assert [p.key for p in picked] == [p.key for p in expected]
        cost = net_cost(cfg)
        assert (macs, params) == (cost.macs, cost.params)


def test_once_for_all_resnet_predictor_as_our_mlp():
    from ofa.families.resnet.once_for_all import predictor_arrays
    from ofa.predictor.models import FittedModel

    rng = np.random.default_rng(5)
    state = {"layers.0.0.weight": rng.normal(size=(4, 3)), "layers.0.0.bias": rng.normal(size=4),
             "layers.1.0.weight": rng.normal(size=(2, 4)), "layers.1.0.bias": rng.normal(size=2),
             "layers.2.weight": rng.normal(size=(1, 2)), "base_acc": np.array([0.75])}
    x = rng.normal(size=(5, 3)).astype(np.float32)
    relu = lambda v: np.maximum(v, 0)  # noqa: E731
    h = relu(relu(x @ state["layers.0.0.weight"].T + state["layers.0.0.bias"]) @ state["layers.1.0.weight"].T
             + state["layers.1.0.bias"])
    expected = 100 * (h @ state["layers.2.weight"].T + 0.75)[:, 0]
    mean, spread = FittedModel("mlp", predictor_arrays(state, 3, "p.pth")).predict(x)
    np.testing.assert_allclose(mean, expected, rtol=1e-5, atol=1e-4)
    assert (spread == 0).all()
    with pytest.raises(OfaError, match="expected the keys"):
        predictor_arrays({k: v for k, v in state.items() if k != "base_acc"}, 3, "p.pth")
    with pytest.raises(OfaError, match=r"expected \(any, 82\) \(82 inputs"):
        predictor_arrays(state, 82, "p.pth")
    with pytest.raises(OfaError, match="the output layer"):
        predictor_arrays({**state, "layers.2.weight": np.ones((2, 2))}, 3, "p.pth")
