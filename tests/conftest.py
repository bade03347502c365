import os

import pytest

os.environ.setdefault("OMP_NUM_THREADS", "2")


@pytest.fixture(autouse=True)
def _torch_threads():
    """Deterministic, small thread pools: tests share a 2-core machine."""
    try:
        import torch
    except ImportError:  # pragma: no cover
        yield
        return
    torch.set_num_threads(2)
    yield


@pytest.fixture
def run_cli(capsys):
    """Run the real `ofa` entry point in-process: returns (exit code, stdout, stderr)."""
    from ofa.cli import main

    def run(*args: str) -> tuple[int, str, str]:
        try:
            main(list(args))
            code = 0
        except SystemExit as e:
            code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
        out, err = capsys.readouterr()
        return code, out, err

    return run


def make_image_folder(root, classes: int = 3, per_class: int = 20, size: int = 12, seed: int = 0):
    """Class folders of small PNGs whose colour and stripes depend on the class: learnable, tiny."""
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(seed)
    for c in range(classes):
        folder = root / f"class{c}"
        folder.mkdir(parents=True)
        for i in range(per_class):
            img = rng.integers(0, 80, (size, size, 3))
            img[:, :, c % 3] += 120
            img[:: 2 + c, :, :] += 50
            Image.fromarray(img.clip(0, 255).astype("uint8")).save(folder / f"{i}.png")
    return root


@pytest.fixture(scope="session")
def image_folder(tmp_path_factory):
    return make_image_folder(tmp_path_factory.mktemp("images"))


def tiny_recipe(data_spec: str, **overrides) -> dict:
    """A recipe that trains the tiny space in seconds: 54 images of 16 px, batch 8."""
    recipe = {
        "space": "tiny", "data": data_spec, "resolution": 16, "batch_size": 8, "lr_batch_size": 8,
        "augment": False, "workers": 0, "checkpoint_every": 3, "validate_every": 1, "bn_calib_images": 16,
        "seed": 0, "device": "cpu",
        "phases": [
            {"name": "full", "epochs": 2, "lr": 0.05, "warmup_epochs": 1, "subnets_per_step": 0, "resolutions": [16]},
            {"name": "kernel", "epochs": 1, "lr": 0.02, "subnets_per_step": 1, "kernels": [3, 5]},
            {"name": "expand", "epochs": 2, "lr": 0.02, "subnets_per_step": 1, "depths": [1, 2],
             "expands": [2, 3], "reorder_channels": True},
        ],
    }
    recipe.update(overrides)
    return recipe
