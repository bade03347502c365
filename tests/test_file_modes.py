"""Files ofa writes get the permissions of any new file (0666 less the umask): tables, weights and
checkpoints are meant to be shared, and mkstemp and safetensors would make them 0600."""

import os
import stat

import numpy as np
import pytest
import torch

from ofa.spaces import get_space


@pytest.fixture
def umask_022():
    old = os.umask(0o022)
    yield
    os.umask(old)


def mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def test_tables_weights_checkpoints_and_predictors_are_readable_by_others(tmp_path, umask_022):
    from ofa.latency.table import LatencyTable, save_table
    from ofa.predictor.models import FittedModel
    from ofa.predictor.store import AccuracyPredictor, save_predictor
    from ofa.supernet import build_supernet, save_static
    from ofa.train.checkpoint import checkpoint_paths, save_checkpoint

    space = get_space("tiny")
    written = [save_table(LatencyTable("cpu", "tiny", space.fingerprint(), 3, 1, [16]), tmp_path / "t.json")]
    save_static(build_supernet(space, 3).extract("min"), tmp_path / "static")
    written += [tmp_path / "static" / "model.safetensors", tmp_path / "static" / "config.json"]
    save_checkpoint(tmp_path / "ckpt", {"w": torch.zeros(2)}, {"step": 1})
    written += list(checkpoint_paths(tmp_path / "ckpt").values())
    model = FittedModel("mlp", {"w0": np.zeros((1, 2, 1), np.float32), "b0": np.zeros((1, 1), np.float32)})
    path = save_predictor(AccuracyPredictor(space, model, None, {}), tmp_path / "p.json")
    written += [path, path.with_suffix(".safetensors")]
    assert {p.name: oct(mode(p)) for p in written} == {p.name: "0o644" for p in written}
