"""The elastic ResNet supernet: every subnet it runs is the static ResNet it extracts, channel sorting
changes nothing it computes, and the static network has the parameters its config counts."""

import numpy as np
import pytest
import torch

from ofa.errors import OfaError
from ofa.families.resnet.config import net_config, net_cost
from ofa.families.resnet.space import resnet_space_from_dict
from ofa.families.resnet.static import StaticResNet
from ofa.families.resnet.subnet import sample_subnet
from ofa.families.resnet.supernet import ResNetSupernet

TINY = {"name": "resnet-tiny", "family": "resnet", "resolutions": [16, 20], "stem_width": 16, "stem_stride": 1,
        "max_pool": False, "widths": [0.5, 1.0], "expands": [0.25, 0.5],
        "stages": [{"width": 16, "depths": [1, 2]}, {"width": 32, "depths": [1, 2], "stride": 2}]}
POOLED = {**TINY, "name": "resnet-pooled", "stem_stride": 2, "max_pool": True, "resolutions": [28, 33],
          "widths": [0.65, 0.8, 1.0], "expands": [0.2, 0.25, 0.35],
          "stages": [{"width": 24, "depths": [1, 2, 3]}, {"width": 40, "depths": [1, 2], "stride": 2},
                     {"width": 64, "depths": [2, 3], "stride": 2}]}


def _supernet(space_dict, seed=0):
    torch.manual_seed(seed)
    space = resnet_space_from_dict(space_dict)
    model = ResNetSupernet(space, num_classes=5)
    with torch.no_grad():  # BN statistics and scales away from 0 / 1, so that extraction must copy them
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.uniform_(-0.5, 0.5)
                m.running_var.uniform_(0.5, 2.0)
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.2, 0.2)
    return space, model.eval()


@pytest.mark.parametrize("space_dict", [TINY, POOLED], ids=["tiny", "pooled"])
def test_every_subnet_is_its_extracted_network(space_dict):
    space, model = _supernet(space_dict)
    rng = np.random.default_rng(0)
    subnets = [sample_subnet(space, "max"), sample_subnet(space, "min")]
    subnets += [sample_subnet(space, "uniform", rng) for _ in range(8)]
    for subnet in subnets:
        x = torch.randn(2, 3, subnet.resolution, subnet.resolution)
        with model.active(subnet):
            expected = model(x)
        static = model.extract(subnet)
        assert isinstance(static, StaticResNet) and static.config.meta["subnet"] == str(subnet)
        torch.testing.assert_close(static(x), expected, rtol=1e-5, atol=1e-5)
        assert sum(p.numel() for p in static.parameters()) == net_cost(net_config(space, subnet, 5)).params


def test_active_restores_and_refuses_other_families():
    space, model = _supernet(TINY)
    small = sample_subnet(space, "min")
    with model.active(small):
        assert model.active_subnet == small
    assert model.active_subnet == sample_subnet(space, "max")
    with pytest.raises(OfaError, match="cannot read the stem"):
        model.set_active("r16:k3e4-k3e4,k3e4")


@pytest.mark.parametrize("training", [False, True])
def test_channel_sorting_changes_nothing_the_largest_subnet_computes(training):
    space, model = _supernet(POOLED, seed=1)
    x = torch.randn(4, 3, 33, 33)
    model.train(training)
    before = model(x)
    model.reorder_channels()
    torch.testing.assert_close(model(x), before, rtol=1e-4, atol=1e-5)
    # and it did sort: a narrower middle now keeps the channels conv3 weighs most
    block = model.stages[0][0]
    weight = block.conv3.conv.weight.abs().sum(dim=(0, 2, 3))
    assert (weight[:-1] >= weight[1:]).all()


def test_the_classifier_reads_the_last_stage_at_any_width():
    space, model = _supernet(POOLED)
    narrow = sample_subnet(space, "min")
    with model.active(narrow):
        out = model(torch.randn(1, 3, 28, 28))
    assert out.shape == (1, 5)
    assert model.extract(narrow).head.linear.in_features == space.stage_channels(2, min(space.widths))


@pytest.mark.parametrize("resolution", [28, 33])  # 33: odd sizes, where the shortcut's pool runs in ceil mode
def test_the_onnx_graph_computes_what_pytorch_computes(resolution):
    import onnxruntime as ort

    from ofa.families.resnet.onnx import resnet_to_onnx

    space, model = _supernet(POOLED, seed=2)
    rng = np.random.default_rng(resolution)
    for subnet in [sample_subnet(space, "max")] + [sample_subnet(space, "uniform", rng) for _ in range(3)]:
        static = model.extract(subnet.__class__(resolution, subnet.stem_block, subnet.widths, subnet.expands))
        x = torch.randn(2, 3, resolution, resolution)
        session = ort.InferenceSession(resnet_to_onnx(static, batch_size=2).SerializeToString(),
                                       providers=["CPUExecutionProvider"])
        got = session.run(["logits"], {"input": x.numpy()})[0]
        np.testing.assert_allclose(got, static(x).detach().numpy(), rtol=1e-4, atol=1e-4)


def test_the_deployed_export_pools_as_the_table_graph_does(tmp_path):
    """`ofa export`'s torch.onnx file and the latency table's graph hold the same AveragePool
    attributes (a pool that counts padding ran ~30% slower in ONNX Runtime, off the table's
    prediction), and the export stays exact at odd sizes."""
    import onnx

    from ofa.export.deploy import export_onnx, verify_onnx
    from ofa.families.resnet.onnx import resnet_to_onnx

    def pools(proto):
        return [{a.name: onnx.helper.get_attribute_value(a) for a in n.attribute
                 if a.name in ("ceil_mode", "count_include_pad")} for n in proto.graph.node
                if n.op_type == "AveragePool"]

    space, model = _supernet(POOLED, seed=2)
    subnet = sample_subnet(space, "max")
    static = model.extract(subnet.__class__(33, subnet.stem_block, subnet.widths, subnet.expands)).eval()
    deployed = export_onnx(static, tmp_path / "model.onnx")
    assert verify_onnx(deployed, static).passed
    table = pools(resnet_to_onnx(static))
    assert table and all(p.get("count_include_pad", 0) == 0 for p in table)
    assert pools(onnx.load(str(deployed))) == [{"ceil_mode": 1, "count_include_pad": 0}] * len(table)


def test_every_part_graph_computes_what_its_module_computes():
    import onnxruntime as ort

    from ofa.families.resnet.onnx import part_onnx
    from ofa.families.resnet.parts import slot_parts
    from ofa.layers.onnx_graph import random_state
    from ofa.families.resnet.static import part_module

    space = resnet_space_from_dict(POOLED)
    parts = {p.key: p for slot in slot_parts(space, 33, 5) for p in slot if p is not None}
    kinds = {}
    for part in parts.values():
        kinds.setdefault((part.kind, part.block.projects if part.block else part.pool), part)
    assert {k for k, _ in kinds} == {"stem", "stem_block", "stem_out", "block", "head"}
    for part in kinds.values():
        module = part_module(part)
        module.load_state_dict(random_state(lambda: part_module(part), 0))
        x = torch.randn(2, *part.input_shape)
        session = ort.InferenceSession(part_onnx(part, batch_size=2).SerializeToString(),
                                       providers=["CPUExecutionProvider"])
        got = session.run(None, {"input": x.numpy()})[0]
        np.testing.assert_allclose(got, module(x).detach().numpy(), rtol=1e-4, atol=1e-4, err_msg=part.key)
