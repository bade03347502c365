import json

import numpy as np
import pytest
import torch
from torch import nn

from ofa.errors import OfaError
from ofa.spaces import get_space, sample_subnet
from ofa.supernet import build_supernet, load_static, net_cost, save_static, subnet_cost
from ofa.layers.elastic import ElasticBatchNorm2d, ElasticDepthwise
from ofa.families.mbconv.elastic import ElasticBlock
from ofa.layers.static import SqueezeExcite
from ofa.families.mbconv.static import Head, InvertedResidual, StaticNet

PLAIN_MODULES = (
    nn.Conv2d, nn.BatchNorm2d, nn.ReLU, nn.Hardswish, nn.Hardsigmoid, nn.Linear, nn.Dropout,
    nn.AdaptiveAvgPool2d, nn.Sequential, SqueezeExcite, InvertedResidual, Head, StaticNet,
)


def scrambled_supernet(space_name: str, num_classes: int = 10, seed: int = 0) -> nn.Module:
    """A supernet whose BN statistics, kernel transforms and classifier are far from their
    initial values, so that an extraction mistake cannot hide behind identity or zeros."""
    torch.manual_seed(seed)
    net = build_supernet(get_space(space_name), num_classes)
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.uniform_(-0.5, 0.5)
                m.running_var.uniform_(0.5, 2.0)
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.2, 0.2)
            if isinstance(m, ElasticDepthwise):
                for p in m.transforms.values():
                    p.add_(0.1 * torch.randn_like(p))
        net.head.classifier.weight.normal_(0, 1.0)
    return net.eval()


@pytest.mark.parametrize("space_name, count", [("tiny", 40), ("cifar-mbv3", 12), ("mbv3-w1.0", 6)])
def test_extracted_subnet_computes_what_the_supernet_computes(space_name, count):
    net = scrambled_supernet(space_name)
    rng = np.random.default_rng(123)
    subnets = [sample_subnet(net.space, "max"), sample_subnet(net.space, "min")]
    subnets += [sample_subnet(net.space, "uniform", rng) for _ in range(count)]
    torch.manual_seed(1)
    for subnet in subnets:
        x = torch.randn(2, 3, subnet.resolution, subnet.resolution)
        static = net.extract(subnet).eval()
        with torch.no_grad(), net.active(subnet):
            expected = net(x)
        got = static(x)
        assert expected.abs().max() > 0.1, "outputs too small for the comparison to mean anything"
        assert (expected - got).abs().max().item() <= 1e-5, str(subnet)
        for m in static.modules():
            assert type(m) in PLAIN_MODULES, f"{type(m).__name__} is not a plain layer"


def test_static_model_round_trips_through_config_and_safetensors(tmp_path):
    net = scrambled_supernet("tiny")
    subnet = sample_subnet(net.space, "uniform", 5)
    static = net.extract(subnet).eval()
    folder = save_static(static, tmp_path / "model")
    assert sorted(p.name for p in folder.iterdir()) == ["config.json", "model.safetensors"]
    rebuilt = load_static(folder)  # no supernet involved
    x = torch.randn(3, 3, subnet.resolution, subnet.resolution)
    assert torch.equal(static(x), rebuilt(x))
    assert rebuilt.config == static.config
    assert rebuilt.config.meta["subnet"] == str(subnet)


def test_load_static_refuses_broken_folders(tmp_path):
    net = scrambled_supernet("tiny")
    folder = save_static(net.extract("min"), tmp_path / "m")
    (folder / "model.safetensors").write_bytes(b"garbage")
    with pytest.raises(OfaError, match="cannot read weights"):
        load_static(folder)
    save_static(net.extract("min"), folder)
    cfg = json.loads((folder / "config.json").read_text())
    cfg["blocks"][1]["mid_channels"] += 8
    (folder / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(OfaError, match="does not match"):
        load_static(folder)
    (folder / "config.json").unlink()
    with pytest.raises(OfaError, match="no config.json"):
        load_static(folder)


def count_macs(model: nn.Module, resolution: int) -> int:
    """Multiply-accumulates of every conv and linear layer, counted on a real forward pass."""
    total = 0

    def hook(m, inputs, out):
        nonlocal total
        if isinstance(m, nn.Conv2d):
            per_output = m.in_channels // m.groups * m.kernel_size[0] * m.kernel_size[1]
            total += out[0].numel() * per_output
        else:
            total += m.in_features * m.out_features

    handles = [m.register_forward_hook(hook) for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    with torch.no_grad():
        model.eval()(torch.zeros(1, 3, resolution, resolution))
    for h in handles:
        h.remove()
    return total


@pytest.mark.parametrize("space_name", ["tiny", "cifar-mbv3", "mbv3-w1.0"])
def test_analytic_cost_matches_the_built_model(space_name):
    space = get_space(space_name)
    net = build_supernet(space, 1000 if space_name == "mbv3-w1.0" else 10)
    for seed in range(4):
        subnet = sample_subnet(space, "uniform", seed)
        static = net.extract(subnet)
        cost = subnet_cost(space, subnet, net.num_classes)
        assert cost == net_cost(static.config)
        assert cost.params == sum(p.numel() for p in static.parameters())
        assert cost.macs == count_macs(static, subnet.resolution)


def test_mbv3_largest_and_smallest_costs_are_in_the_published_range():
    space = get_space("mbv3-w1.0")
    big = subnet_cost(space, sample_subnet(space, "max"), 1000)
    small = subnet_cost(space, sample_subnet(space, "min"), 1000)
    # once-for-all MobileNetV3 w1.0: about 7.7M parameters for the largest subnet
    assert 7.0e6 < big.params < 8.5e6
    assert small.macs < big.macs / 5


def test_reorder_channels_keeps_the_full_network_and_sorts_importance():
    net = scrambled_supernet("cifar-mbv3")
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        before = net(x)
        net.reorder_channels()
        after = net(x)
    assert (before - after).abs().max() <= 1e-5
    for block in (b for stage in net.stages for b in stage):
        importance = block.project.conv.weight.abs().sum(dim=(0, 2, 3))
        assert torch.all(importance[:-1] >= importance[1:])


def test_kernel_transforms_start_as_centre_crops_and_learn():
    torch.manual_seed(0)
    net = build_supernet(get_space("mbv3-w1.0"), 10)
    conv = net.stages[0][0].depthwise.conv
    w7 = conv.weight.detach()
    assert torch.equal(conv.kernel_weight(8, 5), w7[:8, :, 1:6, 1:6])
    assert torch.equal(conv.kernel_weight(8, 3), w7[:8, :, 2:5, 2:5])
    net.train().set_active("min")  # kernel 3: both 7to5 and 5to3 take part
    net(torch.randn(2, 3, 64, 64)).sum().backward()
    assert conv.transforms["7to5"].grad.abs().sum() > 0
    assert conv.transforms["5to3"].grad.abs().sum() > 0


def test_elastic_batchnorm_updates_only_active_channels():
    bn = ElasticBatchNorm2d(16).train()
    bn(torch.randn(4, 8, 5, 5) + 3.0)
    assert torch.all(bn.running_mean[:8] > 0.1)
    assert torch.all(bn.running_mean[8:] == 0)


def test_active_context_restores_and_bad_subnet_is_refused():
    net = build_supernet(get_space("tiny"), 10)
    net.set_active("min")
    with net.active("max") as inside:
        assert net.active_subnet == inside == sample_subnet(net.space, "max")
    assert net.active_subnet == sample_subnet(net.space, "min")
    with pytest.raises(OfaError, match="kernel 7"):
        net.set_active("r32:k7e3,k3e3,k3e3")


def test_supernet_blocks_are_elastic_and_depth_is_elastic():
    net = build_supernet(get_space("tiny"), 10).eval()
    assert all(isinstance(b, ElasticBlock) for stage in net.stages for b in stage)
    x = torch.randn(1, 3, 32, 32)
    net.set_active("r32:k3e2,k3e2,k3e2")
    shallow = net(x)
    net.set_active("r32:k3e2-k3e2,k3e2,k3e2")
    assert not torch.equal(shallow, net(x))
