"""Few-shot device models (`ofa latency fit`): a model linear in per-part features is a lookup
table, it recovers a device that is linear in them, it is judged against the plain baseline, and
every command that takes a table takes it."""

from __future__ import annotations

import json

import numpy as np
import pytest
from test_latency_table import synthetic_table

from ofa.devices import get_device
from ofa.latency.features import feature_layout
from ofa.latency.fit import MIN_MEASUREMENTS, fit_device
from ofa.latency.predict import LatencyPredictor
from ofa.latency.table import load_table, save_table
from ofa.spaces import get_space, sample_subnet

BOARD = """
name: board
description: a device ofa cannot run on, known only by whole subnets measured there
backend: imported
precision: fp32
batch_size: 1
resolutions: [16, 24, 32]
"""
# A made-up device that is exactly linear in the features: 0.7 x the prior device's time, 4 ms per
# billion MACs and 10 more per billion depthwise MACs, 20 us per layer, 0.1 ms per call.
TRUE = {"prior_ms": 0.7, "mmacs": 0.004, "dw_mmacs": 0.01, "layers": 0.02}
OFFSET = 0.1


def board_device(tmp_path):
    (tmp_path / "board.yaml").write_text(BOARD)
    return get_device(str(tmp_path / "board.yaml"))


def true_ms(space, prior, subnets, classes=1000):
    layout = feature_layout(space, [16, 24, 32], classes, 1, prior)
    x = layout.of(subnets)
    return x[:, [layout.names.index(n) for n in TRUE]] @ np.asarray(list(TRUE.values())) + OFFSET


def subnets_of(space, n, seed):
    rng = np.random.default_rng(seed)
    return [sample_subnet(space, "max"), sample_subnet(space, "min")] + [
        sample_subnet(space, "uniform", rng) for _ in range(n - 2)]


def test_a_linear_device_is_recovered_and_the_table_predicts_as_the_model(tmp_path):
    space, prior = get_space("tiny"), synthetic_table("tiny", (16, 24, 32), 1000)
    board = board_device(tmp_path)
    train = subnets_of(space, 20, 0)
    table, report = fit_device(space, board, train, true_ms(space, prior, train), 1000, [16, 24, 32], prior)
    assert report.features == tuple(TRUE) and report.cross_validated.mape < 0.01
    assert report.baseline.mape > 10 * report.cross_validated.mape
    for name, weight in TRUE.items():
        assert report.weights[name] == pytest.approx(weight, rel=1e-6)
    held_out = subnets_of(space, 60, 1)[2:]
    predicted = LatencyPredictor(table, space).predict(held_out)
    np.testing.assert_allclose(predicted, true_ms(space, prior, held_out), rtol=1e-6)
    save_table(table, tmp_path / "t.json")  # and the table reads back as any other
    again = LatencyPredictor(load_table(tmp_path / "t.json"), space).predict(held_out)
    np.testing.assert_allclose(again, predicted, rtol=1e-9)
    assert table.provenance["backend"] == "fitted" and table.provenance["measurements"] == 20


def test_without_a_prior_the_analytic_features_alone_fit(tmp_path):
    space, board = get_space("tiny"), board_device(tmp_path)
    train = subnets_of(space, 12, 2)
    layout = feature_layout(space, [16, 24, 32], 1000, 1)
    weights = {"mmacs": 0.01, "dw_mmacs": 0.0, "mparams": 0.0, "mactivations": 0.002, "layers": 0.03, "parts": 0.05}
    y = layout.of(train) @ np.asarray([weights[n] for n in layout.names]) + 0.2
    table, report = fit_device(space, board, train, y, 1000, [16, 24, 32])
    assert "prior_ms" not in report.features and report.cross_validated.mape < 1.0
    assert all(e["median_ms"] >= 0 for e in table.entries.values())


def measured_file(path, space, prior, subnets, classes=1000):
    lines = [f"{s} {ms:.6f}" for s, ms in zip(subnets, true_ms(space, prior, subnets, classes))]
    path.write_text("# subnet, milliseconds (trtexec on the board)\n" + "\n".join(lines) + "\n")
    return path


def test_fit_command_writes_a_table_that_search_and_show_take(run_cli, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    space, prior = get_space("tiny"), synthetic_table("tiny", (16, 24, 32), 1000)
    save_table(prior, tmp_path / "prior.json")
    board_device(tmp_path)
    measured = measured_file(tmp_path / "board.txt", space, prior, subnets_of(space, 20, 3))
    code, out, err = run_cli("latency", "fit", "-d", "board.yaml", "-s", "tiny", "--measured", str(measured),
                             "--prior", "prior.json", "--json")
    assert code == 0, err
    report = json.loads(out)
    assert report["cross_validated"]["mape"] < 0.01 and report["measurements"] == 20
    code, out, _ = run_cli("latency", "show", "-d", "board.yaml", "-s", "tiny")
    assert "fitted from 20 whole subnets measured on the device, cpu's table as prior" in out
    code, out, err = run_cli("latency", "predict", "-d", "board.yaml", "-s", "tiny", "max", "--json")
    big = json.loads(out)["predicted_ms"]
    assert big == pytest.approx(float(true_ms(space, prior, [sample_subnet(space, "max")])[0]), rel=1e-3)
    code, out, err = run_cli("latency", "fit", "-d", "board.yaml", "-s", "tiny", "--measured", str(measured))
    assert code == 2 and "exists; pass --force" in err
    code, out, err = run_cli("latency", "fit", "-d", "board.yaml", "-s", "tiny", "--measured", str(measured), "--force")
    assert code == 0 and "linear on MACs and blocks" in out


@pytest.mark.parametrize("lines, message", [
    (["r99:k3e2,k3e2,k3e2 1.0"], "line 2: resolution 99 is not in space 'tiny'"),
    (["r16:k3e2,k3e2,k9e2 1.0"], "kernel 9 is not allowed"),
    (["r16:k3e2,k3e2,k3e2 -1.5"], "a time above 0 ms"),
    (["r16:k3e2,k3e2,k3e2 0"], "a time above 0 ms"),
    (["r16:k3e2,k3e2,k3e2 1e999"], "a time above 0 ms"),
    (["r16:k3e2,k3e2,k3e2 fast"], "expected 'SUBNET MS'"),
    (["r16:k3e2,k3e2,k3e2 1.0", "r32:k3e2,k3e2,k3e2 2.0"], f"a device model needs at least {MIN_MEASUREMENTS}"),
    ([], "no measurements in it"),
])
def test_bad_measurements_are_one_line_and_write_nothing(lines, message, run_cli, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    board_device(tmp_path)
    (tmp_path / "m.txt").write_text("# measured\n" + "\n".join(lines) + "\n")
    before = sorted(p.name for p in tmp_path.rglob("*"))
    code, _, err = run_cli("latency", "fit", "-d", "board.yaml", "-s", "tiny", "--measured", "m.txt")
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1, err
    assert sorted(p.name for p in tmp_path.rglob("*")) == before


def test_a_prior_of_another_space_or_head_is_refused(run_cli, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    board_device(tmp_path)
    space = get_space("tiny")
    measured_file(tmp_path / "m.txt", space, synthetic_table("tiny", (16, 24, 32), 1000), subnets_of(space, 8, 4))
    save_table(synthetic_table("cifar-mbv3", (24, 32), 10), tmp_path / "other.json")
    code, _, err = run_cli("latency", "fit", "-d", "board.yaml", "-s", "tiny", "--measured", "m.txt",
                           "--prior", "other.json")
    assert code == 2 and "is for space 'cifar-mbv3', not 'tiny'" in err
    save_table(synthetic_table("tiny", (16,), 1000), tmp_path / "narrow.json")
    code, _, err = run_cli("latency", "fit", "-d", "board.yaml", "-s", "tiny", "--measured", "m.txt",
                           "--prior", "narrow.json")
    assert code == 2 and "outside the table's resolutions [16]" in err
    save_table(synthetic_table("tiny", (16, 24, 32), 1000), tmp_path / "prior.json")
    code, _, err = run_cli("latency", "fit", "-d", "board.yaml", "-s", "tiny", "--measured", "m.txt",
                           "--prior", "prior.json", "--num-classes", "10")
    assert code == 2 and "times a 1000-class head, not --num-classes 10" in err
    assert not (tmp_path / "latency").exists()


@pytest.fixture(scope="module")
def specializable(trained_run, tmp_path_factory):
    from conftest import with_predictor_and_table

    return with_predictor_and_table(trained_run, tmp_path_factory)


def test_specialize_for_a_fitted_device_says_so_on_the_card(specializable, run_cli, tmp_path, monkeypatch):
    run, _ = specializable
    monkeypatch.chdir(tmp_path)
    board_device(tmp_path)
    space = get_space("tiny")
    prior = synthetic_table("tiny", (16, 24, 32), 3)
    save_table(prior, tmp_path / "prior.json")
    measured_file(tmp_path / "m.txt", space, prior, subnets_of(space, 20, 5), classes=3)
    code, _, err = run_cli("latency", "fit", "-d", "board.yaml", "-s", "tiny", "--measured", "m.txt",
                           "--prior", "prior.json")
    assert code == 0, err
    table = LatencyPredictor(load_table(tmp_path / "latency" / "board" / "tiny.json"), space)
    lo, hi = table.extremes()
    code, out, err = run_cli("specialize", "--supernet", str(run), "-d", "board.yaml", "-l", f"{(lo + hi) / 2:.4f}ms",
                             "--out", "models", "--generations", "3", "--population", "8", "-q", "--json")
    assert code == 0, err
    label = json.loads(out)["models"][0]["label"]
    card = json.loads((tmp_path / "models" / label / "card.json").read_text())
    assert card["latency"]["table_source"].startswith("fitted from 20 whole subnets measured on the device")
    assert card["latency"]["measured_ms"] is None  # a board ofa cannot run on: the fitted prediction stands
    assert "fitted from 20 whole subnets" in (tmp_path / "models" / label / "card.md").read_text()
