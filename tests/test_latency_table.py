import json
from dataclasses import replace

import numpy as np
import pytest

from ofa.devices import get_device
from ofa.errors import OfaError
from ofa.latency.build import calibrate, check_same_measurement, measure_parts, open_table
from ofa.families.mbconv.parts import block_key, head_key, stem_key
from ofa.families.parts import all_parts, null_key
from ofa.latency.predict import LatencyPredictor
from ofa.latency.table import Calibration, LatencyTable, load_table, save_table
from ofa.latency.validate import kendall_tau, plot_validation, validate
from ofa.resources import data_dir
from ofa.spaces import encode, get_space, sample_subnet
from ofa.supernet import net_config

PROFILE_YAML = """
name: test-cpu
description: quick CPU profile for tests
backend: onnxruntime-cpu
precision: fp32
batch_size: 1
threads: 1
warmup: 1
iterations: 3
resolutions: [16, 32]
"""


@pytest.fixture
def profile(tmp_path):
    path = tmp_path / "test-cpu.yaml"
    path.write_text(PROFILE_YAML)
    return get_device(str(path))


def synthetic_table(space_name="mbv3-w1.0", resolutions=(128, 160), classes=1000, seed=0) -> LatencyTable:
    """A table with made-up entries: prediction logic is checked without measuring anything."""
    space = get_space(space_name)
    rng = np.random.default_rng(seed)
    entries = {p.key: {"median_ms": float(rng.uniform(0.01, 1.0) if p.kind != "null" else rng.uniform(0.0, 0.05))}
               for p in all_parts(space, list(resolutions), classes)}
    return LatencyTable("cpu", space.name, space.fingerprint(), classes, 1, list(resolutions), entries=entries)


def sum_by_hand(table: LatencyTable, space, subnet) -> float:
    """Walk the subnet's own static config, part by part, each less the empty call on its input."""
    cfg = net_config(space, subnet, table.num_classes)
    sizes = cfg.feature_sizes()
    parts = [(stem_key(cfg), (3, cfg.resolution, cfg.resolution))]
    parts += [(block_key(b, s), (b.in_channels, s, s)) for b, s in zip(cfg.blocks, sizes)]
    parts += [(head_key(cfg, sizes[-1]), (cfg.blocks[-1].out_channels, sizes[-1], sizes[-1]))]
    ms = lambda key: table.entries[key]["median_ms"]  # noqa: E731
    return sum(max(0.0, ms(k) - ms(null_key(shape))) for k, shape in parts)


def test_distinct_parts_of_tiny_counted_by_hand():
    space = get_space("tiny")
    # per resolution: stem, first block, head, per stage 2 slot kinds (first, rest) x 2 kernels x
    # 2 expands, and one empty model per distinct input: 3x32x32, 8x32x32, 16x16x16, 24x8x8, 32x4x4
    parts = all_parts(space, [32], 10)
    assert len([p for p in parts if p.kind != "null"]) == 3 + 3 * 2 * 4
    assert sorted(p.key for p in parts if p.kind == "null") == [
        "null:16x16x16", "null:24x8x8", "null:32x4x4", "null:3x32x32", "null:8x32x32"]
    assert len(all_parts(space, [16, 32], 10)) == 2 * len(parts)


@pytest.mark.parametrize("space_name, resolutions", [("mbv3-w1.0", (128, 160)), ("cifar-mbv3", (24, 32)), ("tiny", (16, 32))])
def test_vectorized_prediction_equals_walking_each_subnet(space_name, resolutions):
    table = synthetic_table(space_name, resolutions, 10)
    space = get_space(space_name)
    sub = space.restrict(resolutions=list(resolutions))
    rng = np.random.default_rng(3)
    subnets = [sample_subnet(sub, "uniform", rng) for _ in range(100)] + [sample_subnet(sub, "max"), sample_subnet(sub, "min")]
    predictor = LatencyPredictor(table, space)
    got = predictor.predict_genes(np.stack([encode(space, s) for s in subnets]))
    expected = [sum_by_hand(table, space, s) for s in subnets]
    np.testing.assert_allclose(got, expected, rtol=1e-12)


def test_calibration_is_applied_and_missing_resolution_refused():
    table = synthetic_table()
    space = get_space("mbv3-w1.0")
    net = sample_subnet(space.restrict(resolutions=[160]), "uniform", 1)
    raw = LatencyPredictor(table, space).predict([net])[0]
    table.calibration = Calibration(scale=2.0, offset_ms=0.5)
    predictor = LatencyPredictor(table, space)
    assert predictor.predict([net])[0] == pytest.approx(2 * raw + 0.5)
    assert predictor.predict([net], calibrated=False)[0] == pytest.approx(raw)
    with pytest.raises(OfaError, match="no entries at resolution"):
        predictor.predict([sample_subnet(space, "max")])  # 224 was not measured


def test_prediction_uses_the_tables_statistic(tmp_path):
    table = synthetic_table()
    for entry in table.entries.values():
        entry["p10_ms"] = entry["median_ms"] / 2
    space = get_space("mbv3-w1.0")
    nets = [sample_subnet(space.restrict(resolutions=[128, 160]), "uniform", s) for s in range(5)]
    median = LatencyPredictor(table, space).predict(nets)
    table.statistic = "p10"
    again = load_table(save_table(table, tmp_path / "t.json"))
    assert again.statistic == "p10"
    assert LatencyPredictor(again, space).predict(nets) == pytest.approx(median / 2)
    bad = again.to_dict() | {"statistic": "max"}
    (tmp_path / "t.json").write_text(json.dumps(bad))
    with pytest.raises(OfaError, match="statistic: expected one of median, p10, mean, got 'max'"):
        load_table(tmp_path / "t.json")


def test_incomplete_table_is_refused():
    table = synthetic_table()
    table.entries.pop(next(iter(table.entries)))
    with pytest.raises(OfaError, match="lacks 1 entries"):
        LatencyPredictor(table, get_space("mbv3-w1.0"))


def test_table_file_round_trip_and_refusals(tmp_path):
    table = synthetic_table()
    table.calibration = Calibration(1.1, 0.2, (("r128:x", 1.0, 1.3),))
    path = save_table(table, tmp_path / "cpu" / "mbv3-w1.0.json")
    again = load_table(path)
    assert again.to_dict() == table.to_dict()
    space = get_space("mbv3-w1.0")
    with pytest.raises(OfaError, match="measured on device 'cpu', not 'jetson-orin-nano'"):
        again.check("jetson-orin-nano", space.name, space.fingerprint())
    with pytest.raises(OfaError, match="is for space 'mbv3-w1.0', not 'tiny'"):
        again.check("cpu", "tiny", space.fingerprint())
    with pytest.raises(OfaError, match="another version of space"):
        again.check("cpu", space.name, "0" * 16)
    path.write_text(path.read_text()[:100])
    with pytest.raises(OfaError, match="corrupt latency table"):
        load_table(path)
    path.write_text(json.dumps({"format": "ofa-latency-table/1", "device": "cpu"}))
    with pytest.raises(OfaError, match="space: missing field"):
        load_table(path)
    path.write_text("{}")
    with pytest.raises(OfaError, match="not a latency table"):
        load_table(path)
    with pytest.raises(OfaError, match="not found"):
        load_table(tmp_path / "nothing.json")


def test_build_measures_for_real_and_resumes_after_interruption(tmp_path, profile):
    space = get_space("tiny")
    path = tmp_path / "t.json"
    table = open_table(path, profile, space, [16, 32], 10, force=False)
    total = len(all_parts(space, [16, 32], 10))

    class Stop(Exception):
        pass

    def stop_after_12(what, done, total):
        if done == 12:
            raise Stop  # a crash right after the second chunk was saved

    with pytest.raises(Stop):  # progress is reported after each saved chunk of 6
        measure_parts(table, space, profile, path, stop_after_12, chunk=6)
    saved = load_table(path)
    assert len(saved.entries) == 12
    resumed = open_table(path, profile, space, [16, 32], 10, force=False)
    assert measure_parts(resumed, space, profile, path) == total - 12
    final = load_table(path)
    assert len(final.entries) == total
    for entry in final.entries.values():
        assert 0 < entry["p10_ms"] <= entry["median_ms"] <= entry["p90_ms"] and entry["runs"] == 3
    assert final.provenance["backend"] == "onnxruntime-cpu" and final.provenance["backend_version"]
    assert final.provenance["profile"]["name"] == "test-cpu"

    cal = calibrate(final, space, profile, path, count=6)
    assert len(cal.points) == 6 and cal.scale > 0
    assert load_table(path).calibration == cal

    other = replace(profile, batch_size=2)
    with pytest.raises(OfaError, match="batch 1"):
        open_table(path, other, space, [16], 10, force=False)
    assert open_table(path, other, space, [16], 10, force=True).entries == {}
    # timings taken another way never mix with these: resuming or validating refuses
    for changed in (replace(profile, iterations=7), replace(profile, statistic="p10")):
        with pytest.raises(OfaError, match="pass --force to measure again"):
            open_table(path, changed, space, [16], 10, force=False)
        with pytest.raises(OfaError, match="rebuild it with --force"):
            validate(final, space, changed, n=1)
    fresh = open_table(path, replace(profile, statistic="p10"), space, [16], 10, force=True)
    assert fresh.statistic == "p10"


def test_validate_reports_and_plots(tmp_path, profile):
    space = get_space("tiny")
    path = tmp_path / "t.json"
    table = open_table(path, profile, space, [32], 10, force=False)
    measure_parts(table, space, profile, path)
    v = validate(table, space, profile, n=5, seed=1)
    assert len(v.measured_ms) == 5 and v.after is None
    assert 0 <= v.before.within_10pct <= 100 and v.before.mape >= 0
    png = plot_validation(v, "test", tmp_path / "plot.png")
    assert png.read_bytes()[:4] == b"\x89PNG"


def test_kendall_tau_matches_scipy_with_ties():
    stats = pytest.importorskip("scipy.stats")
    rng = np.random.default_rng(0)
    a = rng.integers(0, 6, 60).astype(float)
    b = a + rng.normal(0, 2, 60).round()
    assert kendall_tau(a, b) == pytest.approx(stats.kendalltau(a, b).statistic, abs=1e-12)


def test_latency_cli_end_to_end(run_cli, tmp_path, profile, monkeypatch):
    monkeypatch.chdir(tmp_path)
    device = str(tmp_path / "test-cpu.yaml")
    code, out, err = run_cli("latency", "build", "-d", device, "-s", "tiny", "-r", "32", "-k", "3",
                             "--num-classes", "10", "-q")
    assert code == 0, err
    table_path = tmp_path / "latency" / "test-cpu" / "tiny.json"
    assert table_path.is_file() and "calibration" in out
    code, out, _ = run_cli("latency", "predict", "-d", device, "-s", "tiny", "r32:k3e2,k3e2,k5e3-k3e2", "--json")
    assert code == 0 and json.loads(out)["predicted_ms"] > 0
    code, out, _ = run_cli("latency", "validate", "-d", device, "-s", "tiny", "-n", "3", "-q")
    assert code == 0 and "Kendall" in out
    assert (table_path.parent / "tiny.validate.png").is_file()
    code, _, err = run_cli("latency", "predict", "-d", device, "-s", "tiny", "r16:k3e2,k3e2,k3e2")
    assert code == 2 and "no entries at resolution(s) [16]" in err
    code, _, err = run_cli("latency", "show", "-d", "jetson", "-s", "tiny")
    assert code == 2 and "ofa latency build --device jetson-orin-nano --space tiny" in err
    code, _, err = run_cli("latency", "build", "-d", "nope", "-s", "tiny")
    assert code == 2 and "unknown device 'nope'" in err
    table_path.write_text("not json")
    code, _, err = run_cli("latency", "show", "-d", device, "-s", "tiny")
    assert code == 2 and "corrupt" in err and len(err.strip().splitlines()) == 1


def test_interleaved_timing_spreads_each_models_runs_over_rounds():
    from ofa.latency.backends import time_interleaved

    log = []
    calls = [lambda i=i: log.append(i) for i in range(3)]
    times = time_interleaved(calls, warmup=2, iterations=5, rounds=2)
    assert [len(t) for t in times] == [5, 5, 5]
    assert log[:6] == [0, 0, 1, 1, 2, 2]  # warm-up, then turns with no re-warming
    assert log[6:] == [0, 0, 0, 1, 1, 1, 2, 2, 2, 0, 0, 1, 1, 2, 2]
    log.clear()
    time_interleaved(calls, warmup=0, iterations=3, rounds=9)  # at most one timed call per turn
    assert log == [0, 1, 2] * 3


def test_theil_sen_calibration_ignores_an_outlier():
    from ofa.latency.build import theil_sen

    x = np.linspace(1, 10, 30)
    y = 1.2 * x + 0.3
    y[0] = 25.0  # one subnet measured in a slow moment
    scale, offset = theil_sen(x, y)
    assert scale == pytest.approx(1.2, abs=1e-9) and offset == pytest.approx(0.3, abs=1e-9)


SHIPPED = sorted(p for p in data_dir("latency").glob("*/*.json") if not p.name.endswith(".validate.json"))


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_shipped_tables_match_todays_spaces_and_profiles_and_predict(path):
    """A shipped table that drifted from its space or device profile would be refused at use."""
    table = load_table(path)
    space, profile = get_space(table.space), get_device(table.device)
    table.check(profile.name, space.name, space.fingerprint(), str(path))
    check_same_measurement(table, profile, str(path), "rebuild it")
    assert table.calibration is not None or table.provenance["backend"] == "imported"
    nets = [sample_subnet(space.restrict(resolutions=table.complete_resolutions), "uniform", s) for s in range(20)]
    ms = LatencyPredictor(table, space).predict(nets)
    assert np.isfinite(ms).all() and (ms > 0).all()
