import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch

from ofa.export import static_to_onnx
from ofa.families.mbconv.onnx import block_onnx, head_onnx, stem_onnx
from ofa.spaces import get_space, sample_subnet
from ofa.supernet import build_supernet
from ofa.layers.static import conv_bn
from ofa.families.mbconv.static import Head, InvertedResidual


def run_onnx(model: onnx.ModelProto, x: torch.Tensor) -> np.ndarray:
    onnx.checker.check_model(model)
    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return sess.run(None, {"input": x.numpy()})[0]


@pytest.mark.parametrize("space_name", ["tiny", "cifar-mbv3", "mbv3-w1.0"])
def test_whole_network_graph_matches_pytorch(space_name):
    torch.manual_seed(0)
    net = build_supernet(get_space(space_name), 10).eval()
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.uniform_(-0.5, 0.5)
                m.running_var.uniform_(0.5, 2.0)
        net.head.classifier.weight.normal_(0, 1)
    for seed in range(3):
        subnet = sample_subnet(net.space, "uniform", seed)
        static = net.extract(subnet).eval()
        x = torch.randn(1, 3, subnet.resolution, subnet.resolution)
        expected = static(x).detach().numpy()
        got = run_onnx(static_to_onnx(static), x)
        assert got.shape == expected.shape
        assert np.abs(got - expected).max() <= 1e-4 * max(1.0, np.abs(expected).max())


def test_part_graphs_match_their_modules():
    space = get_space("mbv3-w1.0")
    cfg = build_supernet(space, 1000).extract(sample_subnet(space, "uniform", 1)).config
    torch.manual_seed(0)
    stem = conv_bn(3, cfg.stem_width, 3, cfg.stem_stride, act=cfg.stem_act).eval()
    x = torch.randn(1, 3, cfg.resolution, cfg.resolution)
    np.testing.assert_allclose(run_onnx(stem_onnx(cfg, seed=0), x), stem(x).detach().numpy(), atol=1e-4)
    sizes = cfg.feature_sizes()
    for i in (1, 2, len(cfg.blocks) - 1):
        torch.manual_seed(4)
        block = InvertedResidual(cfg.blocks[i]).eval()
        x = torch.randn(1, cfg.blocks[i].in_channels, sizes[i], sizes[i])
        np.testing.assert_allclose(run_onnx(block_onnx(cfg.blocks[i], sizes[i], seed=4), x),
                                   block(x).detach().numpy(), atol=1e-4)
    torch.manual_seed(2)
    head = Head(cfg.blocks[-1].out_channels, cfg.head_width, cfg.feature_width, cfg.head_act, 1000, 0.0).eval()
    x = torch.randn(1, cfg.blocks[-1].out_channels, sizes[-1], sizes[-1])
    np.testing.assert_allclose(run_onnx(head_onnx(cfg, sizes[-1], seed=2), x), head(x).detach().numpy(), atol=1e-4)
