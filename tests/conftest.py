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


@pytest.fixture(scope="session")
def trained_run(tmp_path_factory, image_folder):
    """A finished tiny supernet run (3 classes, every resolution, sandwich phase): enough for
    collecting, checking and searching, in seconds."""
    from ofa.train.recipes import load_recipe
    from ofa.train.trainer import train_supernet

    out = tmp_path_factory.mktemp("trained") / "run"
    recipe = tiny_recipe(f"imagefolder:{image_folder}", resolution=24, validate_every=0, phases=[
        {"name": "full", "epochs": 1, "lr": 0.05, "resolutions": [16, 24]},
        {"name": "all", "epochs": 1, "lr": 0.02, "subnets_per_step": 1, "kernels": [3, 5], "depths": [1, 2],
         "expands": [2, 3]}])
    train_supernet(load_recipe(recipe), out)
    return out


def synthetic_accuracy(space, genes, seed: int = 0):
    """Labels a predictor can learn: more MACs, more accuracy, plus noise of 0.5 points."""
    import numpy as np

    from ofa.families.parts import CostTable

    macs = CostTable(space, 3).macs_params(genes)[:, 0]
    scaled = (macs - macs.min()) / max(macs.max() - macs.min(), 1)
    return 40 + 30 * np.sqrt(scaled) + np.random.default_rng(seed).normal(0, 0.5, len(macs))


def write_synthetic_data(run, n: int = 120, seed: int = 0):
    """An accuracy data file bound to `run` with synthetic labels of n stratified subnets."""
    import itertools

    import numpy as np

    from ofa.predictor.accuracy_data import default_data_path, open_accuracy_data, supernet_fingerprint
    from ofa.predictor.sampling import stratified_stream
    from ofa.spaces import decode, get_space

    space = get_space("tiny")
    genes = np.stack(list(itertools.islice(stratified_stream(space, seed, 3), n)))
    top1 = synthetic_accuracy(space, genes, seed)
    path = default_data_path(run)
    path.unlink(missing_ok=True)
    data = open_accuracy_data(path, supernet_fingerprint(run), {"data": None, "split": "val"})
    for i, (g, acc) in enumerate(zip(genes, top1)):
        data.append({"index": i, "source": "collect", "subnet": str(decode(space, g)), "top1": float(acc)})
    return data


def write_tiny_table(root, num_classes: int = 3, device: str = "cpu"):
    """A latency table for `tiny` with made-up entries at latency/<device>/tiny.json under root."""
    from ofa.latency.host import this_host
    from ofa.latency.table import Calibration, save_table

    from test_latency_table import synthetic_table

    table = synthetic_table("tiny", (16, 24, 32), num_classes)
    table.device = device
    table.calibration = Calibration()  # fitted here: search uses it without recalibrating
    table.provenance["calibrated_on"] = this_host()
    return save_table(table, root / "latency" / device / "tiny.json")


def with_predictor_and_table(run, tmp_path_factory):
    """The trained run with a predictor fitted on learnable synthetic labels, and a folder holding
    latency/cpu/tiny.json (made-up, calibrated on this host): what search and specialize need."""
    from ofa.predictor.train import train_predictor

    train_predictor(run, write_synthetic_data(run, n=150), "trees")
    tables = tmp_path_factory.mktemp("tables")
    write_tiny_table(tables)
    return run, tables
