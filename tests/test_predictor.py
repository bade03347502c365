"""Accuracy data, features, predictor models and their report: real collection on a trained tiny
supernet, real scikit-learn and torch fits."""

import itertools
import json

import numpy as np
import pytest
from conftest import synthetic_accuracy, write_synthetic_data

from ofa.errors import OfaError
from ofa.predictor.accuracy_data import read_accuracy_data
from ofa.predictor.collect import collect
from ofa.predictor.features import feature_names, features
from ofa.predictor.metrics import kendall_tau, tau_in_bins, top_precision
from ofa.predictor.models import MODELS, fit_model
from ofa.predictor.sampling import stratified_stream
from ofa.predictor.store import AccuracyPredictor, load_predictor, save_predictor
from ofa.families.mbconv.subnet import Subnet
from ofa.spaces import encode, get_space
from ofa.families.parts import CostTable


def test_features_of_a_hand_worked_subnet():
    space = get_space("tiny")  # 3 stages of depth 1-2, kernels (3, 5), expands (2, 3), r 16/24/32
    subnet = Subnet.parse("r24:k5e3,k3e2-k5e3,k3e3")
    row = dict(zip(feature_names(space), features(space, encode(space, subnet))[0]))
    on = {name for name, v in row.items() if v == 1.0}
    assert on == {"s1b1:k5", "s1b1:e3", "s2b1:k3", "s2b1:e2", "s2b2:k5", "s2b2:e3", "s3b1:k3", "s3b1:e3",
                  "s1:d1", "s2:d2", "s3:d1", "r24"}
    assert not any(v for name, v in row.items() if name.startswith(("s1b2", "s3b2")))  # skipped blocks: zeros


def test_features_are_vectorized_over_a_population():
    space = get_space("cifar-mbv3")
    genes = np.stack(list(itertools.islice(stratified_stream(space, 1, 10), 30)))
    one_by_one = np.concatenate([features(space, g) for g in genes])
    assert np.array_equal(features(space, genes), one_by_one)


def test_stratified_stream_covers_the_size_range_and_is_prefix_stable():
    space = get_space("cifar-mbv3")
    first = np.stack(list(itertools.islice(stratified_stream(space, 0, 10), 102)))
    again = np.stack(list(itertools.islice(stratified_stream(space, 0, 10), 40)))
    assert np.array_equal(first[:40], again)
    assert len({g.tobytes() for g in first}) == len(first)
    macs = CostTable(space, 10).macs_params(first)[:, 0]
    assert macs[0] == macs.max() and macs[1] == macs.min()  # the largest and smallest come first
    counts = np.histogram(macs, bins=10)[0]
    assert counts.min() >= 6, counts  # uniform sampling leaves the top bins nearly empty


def test_collect_measures_resumes_and_refuses_other_settings(trained_run):
    path = trained_run / "predictor" / "collect-test.jsonl"
    calls = []

    def stop_after_three(what, done, total):
        calls.append(done)
        if done == 3:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        collect(trained_run, n=5, out=path, progress=stop_after_three)
    assert len(read_accuracy_data(path).rows) == 3
    data = collect(trained_run, n=5, out=path)
    rows = data.rows
    assert [r["index"] for r in rows] == [0, 1, 2, 3, 4] and len({r["subnet"] for r in rows}) == 5
    assert all(0 <= r["top1"] <= 100 and r["images"] > 0 and r["macs"] > 0 for r in rows)
    assert data.settings["split"] == "val" and data.supernet["weights_sha256"]
    assert len(collect(trained_run, n=5, out=path).rows) == 5  # nothing left to measure
    with pytest.raises(OfaError, match="other settings"):
        collect(trained_run, n=6, out=path, calib_images=7)
    with pytest.raises(OfaError, match="training never used"):
        collect(trained_run, n=2, split="train", out=trained_run / "predictor" / "x.jsonl")


def test_data_of_other_weights_is_refused(trained_run, tmp_path):
    path = tmp_path / "a.jsonl"
    collect(trained_run, n=1, out=path)
    lines = path.read_text().splitlines()
    head = json.loads(lines[0])
    head["supernet"]["weights_sha256"] = "0" * 64
    path.write_text("\n".join([json.dumps(head)] + lines[1:]) + "\n")
    with pytest.raises(OfaError, match="another supernet"):
        collect(trained_run, n=2, out=path)


def test_a_line_cut_by_a_kill_is_measured_again(trained_run, tmp_path):
    path = tmp_path / "a.jsonl"
    collect(trained_run, n=2, out=path)
    path.write_text(path.read_text()[:-20])  # the last row cut short, no newline
    assert len(read_accuracy_data(path).rows) == 1
    assert [r["index"] for r in collect(trained_run, n=2, out=path).rows] == [0, 1]


@pytest.mark.parametrize("kind", list(MODELS))
def test_every_model_learns_ranks_and_round_trips_without_pickle(kind, tmp_path):
    space = get_space("tiny")
    genes = np.stack(list(itertools.islice(stratified_stream(space, 0, 3), 160)))
    y = synthetic_accuracy(space, genes)
    x = features(space, genes)
    model = fit_model(kind, x[:120], y[:120], seed=0)
    mean, spread = model.predict(x[120:])
    assert kendall_tau(y[120:], mean) > 0.6 and np.sqrt(np.mean((mean - y[120:]) ** 2)) < 5
    assert (spread > 0).any() == (kind in ("ensemble", "trees"))
    path = save_predictor(AccuracyPredictor(space, model, None, {}), tmp_path / "p.json")
    assert path.with_suffix(".safetensors").read_bytes()[:8] != b"\x80\x04\x95"  # not a pickle
    again = load_predictor(path, space)
    assert np.array_equal(again.predict_genes(genes[120:])[0], mean)
    if kind != "ensemble":  # (the ensemble's members are seeded the same way; five fits are slow)
        assert np.array_equal(fit_model(kind, x[:120], y[:120], seed=0).predict(x[120:])[0], mean)


def test_predictor_files_are_checked_on_load(tmp_path):
    space = get_space("tiny")
    genes = np.stack(list(itertools.islice(stratified_stream(space, 0, 3), 20)))
    model = fit_model("boosting", features(space, genes), synthetic_accuracy(space, genes))
    path = save_predictor(AccuracyPredictor(space, model, None, {}), tmp_path / "p.json")
    with pytest.raises(OfaError, match="space 'tiny', not 'cifar-mbv3'"):
        load_predictor(path, get_space("cifar-mbv3"))
    path.with_suffix(".safetensors").write_bytes(b"\x80\x04\x95 a pickle is never read")
    with pytest.raises(OfaError, match="cannot read predictor weights"):
        load_predictor(path, space)
    with pytest.raises(OfaError, match="unknown predictor model"):
        fit_model("svm", np.zeros((20, 3)), np.zeros(20))


def test_report_metrics_on_hand_made_rankings():
    measured = np.arange(20.0)
    assert top_precision(measured, measured) == 1.0
    assert top_precision(measured, -measured) == 0.0
    assert kendall_tau(measured, measured[::-1]) == -1.0
    # globally perfect, but inside each latency bin exactly reversed: the metric a budget needs
    by = np.repeat(np.arange(4), 5)
    predicted = np.concatenate([np.arange(5)[::-1] + 10 * b for b in range(4)]).astype(float)
    assert tau_in_bins(measured, predicted, by, bins=4) == pytest.approx(-1.0)
    assert kendall_tau(measured, predicted) > 0.5


def test_cli_train_and_show_report(run_cli, trained_run):
    write_synthetic_data(trained_run, n=80)
    code, out, err = run_cli("predictor", "train", "--supernet", str(trained_run), "--model", "trees")
    assert code == 0, err
    assert "Kendall tau" in out and "top-10% precision" in out and "macs bins" in out
    assert (trained_run / "predictor" / "predictor.png").is_file()
    code, out, _ = run_cli("predictor", "show", "--supernet", str(trained_run), "--json")
    info = json.loads(out)
    assert code == 0 and info["kind"] == "trees" and info["trained_on"]["subnets"] == 80
    assert info["report"]["kendall_tau"] > 0.5 and info["supernet"]["space"] == "tiny"
    code, _, err = run_cli("predictor", "train", "--supernet", str(trained_run), "--model", "svm")
    assert code == 2 and "unknown predictor model" in err and len(err.strip().splitlines()) == 1
    code, _, err = run_cli("predictor", "train", "--supernet", str(trained_run),
                           "--accuracy-data", str(trained_run / "nothing.jsonl"))
    assert code == 2 and "not found" in err


def test_cli_collect_prints_a_summary(run_cli, trained_run, tmp_path):
    code, out, err = run_cli("predictor", "collect", "--supernet", str(trained_run), "-n", "2", "-q",
                             "--out", str(tmp_path / "c.jsonl"))
    assert code == 0, err
    assert "2 subnets measured" in out
    code, _, err = run_cli("predictor", "collect", "--supernet", str(tmp_path), "-n", "2")
    assert code == 2 and "not a supernet run" in err
    (tmp_path / "file").write_text("x")
    for out, message in ((tmp_path, "is a folder"), (tmp_path / "file" / "c.jsonl", "lies under a file")):
        code, _, err = run_cli("predictor", "collect", "--supernet", str(trained_run), "-n", "1", "--out", str(out))
        assert code == 2 and message in err and len(err.strip().splitlines()) == 1
