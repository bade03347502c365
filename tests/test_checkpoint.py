"""Checkpoints: exact round trips, atomic saves, and clear errors for broken files."""

import ast
import json
import os
import pickle
import random
from pathlib import Path

import numpy as np
import pytest
import torch

import ofa.train.checkpoint as ckpt
from ofa.errors import OfaError
from ofa.train.state_tree import flatten_tree, unflatten_tree
from ofa.train.checkpoint import (
    capture_rng,
    load_checkpoint,
    manifest_digest,
    restore_rng,
    save_checkpoint,
)


def _model():
    return torch.nn.Sequential(
        torch.nn.Linear(6, 8), torch.nn.BatchNorm1d(8), torch.nn.ReLU(), torch.nn.Dropout(0.2), torch.nn.Linear(8, 3)
    )


def _setup(kind):
    torch.manual_seed(0)
    model = _model()
    if kind == "sgd":
        opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, nesterov=True, weight_decay=1e-4)
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=10)
    else:
        opt = torch.optim.AdamW(model.parameters(), lr=1e-2, betas=(0.8, 0.95), weight_decay=0.05)
        sched = torch.optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.5)
    return model, opt, sched


def _step(model, opt, sched):
    x, y = torch.randn(16, 6), torch.randint(0, 3, (16,))  # drawn from the global RNG
    model.train()
    opt.zero_grad()
    torch.nn.functional.cross_entropy(model(x), y).backward()
    opt.step()
    sched.step()


def _assert_same(a, b):
    assert type(a) is type(b), (a, b)
    if isinstance(a, torch.Tensor):
        assert a.dtype == b.dtype and torch.equal(a, b)
    elif isinstance(a, dict):
        assert list(a) == list(b)
        for k in a:
            _assert_same(a[k], b[k])
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b)
        for x, y in zip(a, b):
            _assert_same(x, y)
    elif isinstance(a, np.ndarray):
        assert a.dtype == b.dtype and np.array_equal(a, b)
    else:
        assert a == b


@pytest.mark.parametrize("kind", ["sgd", "adamw"])
def test_optimizer_state_flattens_exactly(kind):
    model, opt, sched = _setup(kind)
    for _ in range(2):
        _step(model, opt, sched)
    sd = opt.state_dict()
    assert all(isinstance(k, int) for k in sd["state"])
    tensors, skeleton = flatten_tree(sd, "optimizer")
    text = json.dumps(skeleton)  # plain JSON, no tensors inside
    assert tensors and all(isinstance(t, torch.Tensor) for t in tensors.values())
    _assert_same(unflatten_tree(json.loads(text), tensors), sd)


def test_tree_edge_cases_round_trip():
    tree = {
        1: "int key", 2.5: "float key", None: [1, (2, 3)], (1, "a"): True,
        "nested": {"__tensor__": "a user key that looks like a tag"},
        "arr": np.arange(6, dtype=np.uint32).reshape(2, 3), "scalar": torch.tensor(3.5),
        "half": torch.ones(2, dtype=torch.bfloat16), "nan": float("inf"), "big": 2**80,
    }
    tensors, skeleton = flatten_tree(tree)
    _assert_same(unflatten_tree(json.loads(json.dumps(skeleton)), tensors), tree)
    with pytest.raises(TypeError):
        flatten_tree({"fn": print})


@pytest.mark.parametrize("kind", ["sgd", "adamw"])
def test_resume_continues_exactly(tmp_path, kind):
    model, opt, sched = _setup(kind)
    for _ in range(3):
        _step(model, opt, sched)
    recipe = {"space": "tiny", "phases": [{"name": "full", "epochs": 2}]}
    save_checkpoint(tmp_path, model.state_dict(), {
        "optimizer": opt.state_dict(), "scheduler": sched.state_dict(),
        "phase": 1, "epoch": 2, "step": 3, "recipe": recipe, "space_fingerprint": "abc",
    })
    _step(model, opt, sched)  # the original run goes on
    want = [p.detach().clone() for p in model.parameters()]

    torch.manual_seed(1234)  # a new process: other weights, other random state
    fresh, fresh_opt, fresh_sched = _setup(kind)
    torch.manual_seed(999)
    weights, state = load_checkpoint(tmp_path, expect={"space_fingerprint": "abc"})
    fresh.load_state_dict(weights)
    fresh_opt.load_state_dict(state["optimizer"])
    fresh_sched.load_state_dict(state["scheduler"])
    restore_rng(state)
    assert (state["phase"], state["epoch"], state["step"], state["recipe"]) == (1, 2, 3, recipe)
    _step(fresh, fresh_opt, fresh_sched)
    for a, b in zip(want, fresh.parameters()):
        assert torch.equal(a, b)
    assert fresh_sched.get_last_lr() == sched.get_last_lr()
    _assert_same(fresh_opt.state_dict(), opt.state_dict())


def test_rng_round_trip(tmp_path):
    random.seed(1), np.random.seed(2), torch.manual_seed(3)
    gen = np.random.default_rng(7)
    gen.random(5)
    save_checkpoint(tmp_path, {}, {"sampler": gen.bit_generator.state})
    draws = (random.random(), np.random.rand(3).tolist(), np.random.randn(), torch.rand(3).tolist(), gen.random(2).tolist())

    random.seed(10), np.random.seed(20), torch.manual_seed(30)
    _, state = load_checkpoint(tmp_path)
    restore_rng(state)
    gen2 = np.random.default_rng(0)
    gen2.bit_generator.state = state["sampler"]
    again = (random.random(), np.random.rand(3).tolist(), np.random.randn(), torch.rand(3).tolist(), gen2.random(2).tolist())
    assert again == draws
    restore_rng(capture_rng())  # the rng dict itself is accepted too


def _v(tmp_path, value):
    return save_checkpoint(tmp_path, {"w": torch.full((4,), float(value))}, {"step": value})


def _leftovers(folder):
    return sorted(p.name for p in Path(folder).iterdir() if p.name.startswith("."))


def test_failed_write_leaves_previous_intact(tmp_path, monkeypatch):
    _v(tmp_path, 1)
    before = sorted(p.name for p in tmp_path.iterdir())

    def broken_fsync(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", broken_fsync)
    with pytest.raises(OfaError, match="No space left"):
        _v(tmp_path, 2)
    monkeypatch.undo()
    assert sorted(p.name for p in tmp_path.iterdir()) == before
    weights, state = load_checkpoint(tmp_path)
    assert state["step"] == 1 and weights["w"][0].item() == 1.0

    real_replace = os.replace
    monkeypatch.setattr(os, "replace", lambda *a: (_ for _ in ()).throw(RuntimeError("killed")))
    with pytest.raises(RuntimeError):
        _v(tmp_path, 3)
    monkeypatch.setattr(os, "replace", real_replace)
    assert _leftovers(tmp_path) == []
    assert load_checkpoint(tmp_path)[1]["step"] == 1


def test_crash_between_moves_keeps_previous(tmp_path, monkeypatch):
    _v(tmp_path, 1)
    _v(tmp_path, 2)
    real_replace = os.replace

    def crash_on_state(src, dst):
        if Path(dst).name == "last.state.safetensors":
            raise RuntimeError("power cut")
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", crash_on_state)
    with pytest.raises(RuntimeError):
        _v(tmp_path, 3)
    monkeypatch.undo()
    assert _leftovers(tmp_path) == []
    with pytest.raises(OfaError, match=r"last\.safetensors.*(checksum|bytes).*last\.prev"):
        load_checkpoint(tmp_path)
    weights, state = load_checkpoint(tmp_path, "last.prev")
    assert state["step"] == 2 and weights["w"][0].item() == 2.0
    # the next good save repairs `last` and does not rotate the broken one into `.prev`
    _v(tmp_path, 4)
    assert load_checkpoint(tmp_path)[1]["step"] == 4
    assert load_checkpoint(tmp_path, "last.prev")[1]["step"] == 2


def test_broken_checkpoints_are_one_line_errors(tmp_path):
    paths = ckpt.checkpoint_paths(tmp_path)

    def fresh():
        for p in tmp_path.iterdir():
            p.unlink()
        _v(tmp_path, 1)

    def error(**kw):
        with pytest.raises(OfaError) as e:
            load_checkpoint(tmp_path, **kw)
        assert "\n" not in str(e.value)
        return str(e.value)

    assert "no checkpoint" in error()
    fresh()
    data = paths["weights"].read_bytes()
    paths["weights"].write_bytes(data[: len(data) // 2])
    assert "last.safetensors" in (msg := error()) and "truncated" in msg
    fresh()
    data = bytearray(paths["state"].read_bytes())
    data[-1] ^= 0xFF
    paths["state"].write_bytes(bytes(data))
    assert "last.state.safetensors" in (msg := error()) and "checksum" in msg
    fresh()
    paths["state"].unlink()
    assert "missing" in error()
    fresh()
    paths["manifest"].write_text('{"format": "ofa-checkpoint", "vers')
    assert "last.json" in (msg := error()) and "not valid JSON" in msg
    fresh()
    paths["manifest"].write_bytes(b"\xff\xfe\x00garbage")
    assert "not valid JSON" in error()
    fresh()
    paths["manifest"].write_text(json.dumps({"format": "someone-else", "weights": "x"}))
    assert "not an ofa checkpoint" in error()
    fresh()
    paths["manifest"].unlink()
    assert "never completed" in error()
    # a file whose checksum fits but that is no safetensors file
    fresh()
    manifest = json.loads(paths["manifest"].read_text())
    junk = b"\x10\x00\x00\x00\x00\x00\x00\x00not json at all!"
    paths["weights"].write_bytes(junk)
    manifest["files"]["weights"] = {"bytes": len(junk), "sha256": __import__("hashlib").sha256(junk).hexdigest()}
    paths["manifest"].write_text(json.dumps(manifest))
    assert "does not match its own checksum" in error()  # an edited manifest is refused as such
    manifest["manifest_sha256"] = manifest_digest(manifest)  # ... and one edited with care reaches the data
    paths["manifest"].write_text(json.dumps(manifest))
    assert "not a readable safetensors" in error()
    fresh()
    manifest = json.loads(paths["manifest"].read_text())
    manifest["state"]["position"] = "nowhere"
    paths["manifest"].write_text(json.dumps(manifest))
    assert "does not match its own checksum" in error()
    fresh()
    msg = error(expect={"space_fingerprint": "0123"})
    assert "space_fingerprint" in msg and "0123" in msg
    with pytest.raises(OfaError):
        load_checkpoint(tmp_path, "../escape")


def test_loading_never_unpickles(tmp_path, monkeypatch):
    model, opt, sched = _setup("adamw")
    _step(model, opt, sched)
    save_checkpoint(tmp_path, model.state_dict(), {"optimizer": opt.state_dict()})

    def forbidden(*a, **k):
        raise AssertionError("unpickling during checkpoint load")

    for obj, attr in ((pickle, "load"), (pickle, "loads"), (pickle, "Unpickler"), (torch, "load"), (np, "load")):
        monkeypatch.setattr(obj, attr, forbidden)
    weights, state = load_checkpoint(tmp_path)
    assert set(weights) == set(model.state_dict())

    source = Path(ckpt.__file__).read_text()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            names = [a.name for a in node.names] + [getattr(node, "module", None) or ""]
            assert not any("pickle" in n or n == "dill" for n in names)
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            assert (node.value.id, node.attr) not in {("torch", "load"), ("np", "load"), ("pickle", "loads")}


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_cuda_state_round_trip(tmp_path):
    torch.manual_seed(0)
    model = _model().cuda()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-2)
    model(torch.randn(8, 6, device="cuda")).sum().backward()
    opt.step()
    save_checkpoint(tmp_path, model.state_dict(), {"optimizer": opt.state_dict()})
    want = torch.rand(4, device="cuda")
    torch.cuda.manual_seed_all(99)
    weights, state = load_checkpoint(tmp_path)
    restore_rng(state)
    assert torch.equal(torch.rand(4, device="cuda"), want)
    fresh = _model().cuda()
    fresh.load_state_dict(weights)
    fresh_opt = torch.optim.AdamW(fresh.parameters(), lr=1e-2)
    fresh_opt.load_state_dict(state["optimizer"])
    for a, b in zip(opt.state_dict()["state"].values(), fresh_opt.state_dict()["state"].values()):
        assert torch.equal(a["exp_avg"], b["exp_avg"]) and b["exp_avg"].is_cuda
