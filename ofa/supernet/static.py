"""Plain static networks built from a NetConfig: ordinary Conv/BN/activation layers, nothing
elastic, so they export to ONNX and deploy anywhere. Saved as config.json + safetensors."""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from ofa.errors import OfaError
from ofa.files import read_json, write_atomic, write_json
from ofa.layers.static import SqueezeExcite, conv_bn, drop_path, make_act
from ofa.supernet.config import BlockConfig, NetConfig

CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.safetensors"


def residual_blocks(model: nn.Module) -> list[nn.Module]:
    """The blocks with an identity shortcut, static or elastic, in the order they run."""
    return [m for m in model.modules() if getattr(m, "residual", False) and hasattr(m, "project")]


def set_drop_connect(model: nn.Module, rate: float) -> None:
    """Drop-connect on every residual block, growing linearly with depth up to `rate` (EfficientNet)."""
    blocks = residual_blocks(model)
    for i, block in enumerate(blocks):
        block.drop_rate = rate * (i + 1) / len(blocks)


@torch.no_grad()
def zero_init_residual_bn(model: nn.Module) -> None:
    """Start every residual block as the identity: its last BatchNorm scale at zero (BigNAS)."""
    for block in residual_blocks(model):
        block.project.bn.weight.zero_()


class InvertedResidual(nn.Module):
    drop_rate = 0.0  # see set_drop_connect

    def __init__(self, cfg: BlockConfig, eps: float = 1e-5):
        super().__init__()
        self.residual = cfg.residual
        self.expand = conv_bn(cfg.in_channels, cfg.mid_channels, act=cfg.act, eps=eps) if cfg.expand else None
        self.depthwise = conv_bn(cfg.mid_channels, cfg.mid_channels, cfg.kernel, cfg.stride, cfg.mid_channels, cfg.act,
                                 eps)
        self.se = SqueezeExcite(cfg.mid_channels, cfg.se_channels) if cfg.se_channels else None
        self.project = conv_bn(cfg.mid_channels, cfg.out_channels, eps=eps)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.expand(x) if self.expand is not None else x
        y = self.depthwise(y)
        if self.se is not None:
            y = self.se(y)
        y = self.project(y)
        return x + drop_path(y, self.drop_rate, self.training) if self.residual else y


class Head(nn.Module):
    """1x1 expand -> global pool -> 1x1 feature mix -> dropout -> classifier; `features` 0: no feature
    mix, the classifier reads the pool (ProxylessNAS)."""

    def __init__(self, cin: int, width: int, features: int, act: str, num_classes: int, dropout: float,
                 eps: float = 1e-5):
        super().__init__()
        self.expand = conv_bn(cin, width, act=act, eps=eps)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.mix = nn.Sequential(nn.Conv2d(width, features, 1, bias=False), make_act(act)) if features else nn.Identity()
        self.dropout = nn.Dropout(dropout)
        self.classifier = nn.Linear(features or width, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.mix(self.pool(self.expand(x))).flatten(1)
        return self.classifier(self.dropout(x))


class StaticNet(nn.Module):
    def __init__(self, cfg: NetConfig):
        super().__init__()
        self.config = cfg
        self.stem = conv_bn(cfg.in_channels, cfg.stem_width, 3, cfg.stem_stride, act=cfg.stem_act, eps=cfg.bn_eps)
        self.blocks = nn.Sequential(*[InvertedResidual(b, cfg.bn_eps) for b in cfg.blocks])
        self.head = Head(cfg.blocks[-1].out_channels, cfg.head_width, cfg.feature_width, cfg.head_act,
                         cfg.num_classes, cfg.dropout, cfg.bn_eps)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.blocks(self.stem(x)))


def save_static(model: StaticNet, folder: str | Path) -> Path:
    """Write config.json and model.safetensors: everything needed to rebuild the model."""
    from safetensors.torch import save

    folder = Path(folder)
    write_atomic(folder / WEIGHTS_FILE, save({k: v.detach().contiguous().cpu() for k, v in model.state_dict().items()}))
    write_json(folder / CONFIG_FILE, model.config.to_dict())
    return folder


def load_static(folder: str | Path, map_location: str = "cpu") -> StaticNet:
    """Rebuild a static model from its folder alone (no supernet, no pickled code)."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    folder = Path(folder)
    cfg_path, weights_path = folder / CONFIG_FILE, folder / WEIGHTS_FILE
    for path in (cfg_path, weights_path):
        if not path.is_file():
            raise OfaError(f"static model folder {folder} has no {path.name}")
    cfg = NetConfig.from_dict(read_json(cfg_path, "static network config"))
    model = StaticNet(cfg)
    try:
        state = load_file(str(weights_path), device=map_location)
    except (SafetensorError, OSError) as e:
        raise OfaError(f"{weights_path}: cannot read weights ({e})") from None
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as e:
        first = str(e).splitlines()[1].strip() if "\n" in str(e) else str(e)
        raise OfaError(f"{weights_path} does not match {cfg_path.name}: {first}") from None
    return model.eval()
