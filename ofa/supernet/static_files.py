"""A static network of any family on disk: config.json (its family's config, which names its
format) and model.safetensors. Rebuilt from the folder alone: no supernet, no pickled code."""

from __future__ import annotations

from pathlib import Path

from torch import nn

from ofa.errors import OfaError
from ofa.families import family_of_config
from ofa.files import read_json, write_atomic, write_json

CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.safetensors"


def save_static(model: nn.Module, folder: str | Path) -> Path:
    """Write config.json and model.safetensors: everything needed to rebuild the model."""
    from safetensors.torch import save

    folder = Path(folder)
    write_atomic(folder / WEIGHTS_FILE, save({k: v.detach().contiguous().cpu() for k, v in model.state_dict().items()}))
    write_json(folder / CONFIG_FILE, model.config.to_dict())
    return folder


def load_static(folder: str | Path, map_location: str = "cpu") -> nn.Module:
    """Rebuild a static model from its folder alone (no supernet, no pickled code)."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    folder = Path(folder)
    cfg_path, weights_path = folder / CONFIG_FILE, folder / WEIGHTS_FILE
    for path in (cfg_path, weights_path):
        if not path.is_file():
            raise OfaError(f"static model folder {folder} has no {path.name}")
    data = read_json(cfg_path, "static network config")
    family = family_of_config(data)
    model = family.build_static(family.config_from_dict(data))
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
