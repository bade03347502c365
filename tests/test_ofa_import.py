"""once-for-all's assets: its latency tables and accuracy predictor imported, and searched on.

Source files and expected values come from benchmarks/ofa_reference.py, which writes once-for-all's
keys (`expanded_conv-input:80x80x24-output:40x40x32-expand:72-kernel:3-stride:2-idskip:0-se:0-hs:0`)
and its tutorial predictor's 128-slot input from their documented formats, with nothing of ofa's."""

from __future__ import annotations

import importlib.util
import json
import pickle
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

from ofa.devices import get_device
from ofa.errors import OfaError
from ofa.latency.importers import import_table
from ofa.latency.predict import LatencyPredictor
from ofa.latency.table import load_table
from ofa.predictor.features import features
from ofa.predictor.importers import import_predictor
from ofa.predictor.store import load_predictor
from ofa.resources import data_dir
from ofa.search.evaluator import Evaluator
from ofa.families.mbconv.subnet import Subnet
from ofa.spaces import encode, get_space, sample_subnet
from ofa.families.parts import CostTable


def _reference():
    """benchmarks/ofa_reference.py: once-for-all's arithmetic, importing nothing of ofa."""
    path = Path(__file__).resolve().parents[1] / "benchmarks" / "ofa_reference.py"
    module_spec = importlib.util.spec_from_file_location("ofa_reference", path)
    module = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(module)
    return module


REF = _reference()
KERNELS, EXPANDS = REF.KERNELS, REF.EXPANDS


def spec(net: Subnet) -> dict:
    """once-for-all's spec of one of our subnets (slots past a stage's depth hold anything)."""
    pad = lambda stages: [v for stage in stages for v in list(stage) + [3] * (4 - len(stage))]  # noqa: E731
    return {"r": net.resolution, "d": list(net.depths), "ks": pad(net.kernels), "e": pad(net.expands)}


def network_keys(r, kernels, expands):
    return REF.network_keys(spec(Subnet(r, tuple(map(tuple, kernels)), tuple(map(tuple, expands)))))


def all_keys(r):
    keys = set()
    for k in KERNELS:
        for e in EXPANDS:  # every block choice appears in a network of uniform choices
            for depth in (2, 4):
                keys.update(REF.network_keys({"r": r, "d": [depth] * 5, "ks": [k] * 20, "e": [e] * 20}))
    return keys


def write_ofa_tables(folder, resolutions=(160, 176), seed=0, drop=()):
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    means = {}
    for r in resolutions:
        entries = {}
        for key in sorted(all_keys(r)):
            if key in drop:
                continue
            entries[key] = {"count": 100, "mean": float(rng.uniform(0.01, 2.0)), "std": 0.01}
            means[r, key] = entries[key]["mean"]
        (folder / f"{r}_lookup_table.yaml").write_text(yaml.safe_dump(entries))
    return means


SPACE = get_space("mbv3-w1.2")
NOTE10 = get_device("note10")


def test_space_middle_channels_match_once_for_alls_expand_fields():
    """Per stage input width, the tables' `expand:` values for ratios 3, 4, 6."""
    expected = {24: [72, 96, 144], 32: [96, 128, 192], 48: [144, 192, 288], 96: [288, 384, 576],
                136: [408, 544, 816], 192: [576, 768, 1152]}
    for _, cin in SPACE.block_inputs():
        assert [SPACE.mid_channels(cin, e) for e in EXPANDS] == expected[cin]
    assert len(all_keys(160)) == 96  # as many as each published complete table holds
    assert (SPACE.stem_width, SPACE.first_block_width, SPACE.head_width, SPACE.feature_width) == (24, 24, 1152, 1536)


def test_imported_table_predicts_once_for_alls_plain_sum(tmp_path):
    # 208 and 224 px share layer shapes (7 x 7 at the end), timed apart with other results in each file
    means = write_ofa_tables(tmp_path / "src", resolutions=(160, 208, 224))
    table = import_table("ofa", [tmp_path / "src"], NOTE10, SPACE)
    assert table.resolutions == [160, 208, 224] and not table.incomplete and table.statistic == "mean"
    assert table.calibration is None and len(table.provenance["files"]) == 3
    rng = np.random.default_rng(1)
    predictor = LatencyPredictor(table, SPACE)
    for _ in range(30):
        net = sample_subnet(SPACE.restrict(resolutions=[160, 208, 224]), "uniform", rng)
        want = sum(means[net.resolution, k] for k in network_keys(net.resolution, net.kernels, net.expands))
        assert predictor.predict([net])[0] == pytest.approx(want, rel=1e-12)


def test_incomplete_resolution_is_kept_but_refused_by_part(tmp_path):
    gone = network_keys(176, [[3, 5]] * 5, [[3, 4]] * 5)[3]  # stage 1's second block with k5 e4
    write_ofa_tables(tmp_path / "src", drop={gone})
    table = import_table("ofa", [tmp_path / "src"], NOTE10, SPACE)
    assert table.resolutions == [160, 176] and list(table.incomplete) == [176]
    assert list(table.incomplete[176].values()) == [gone]
    saved = load_table(_save(table, tmp_path / "t.json"))
    assert saved.incomplete == table.incomplete and saved.complete_resolutions == [160]
    predictor = LatencyPredictor(saved, SPACE)
    fine = Subnet(176, ((3, 3),) * 5, ((3, 3),) * 5)
    assert np.isfinite(predictor.predict([fine])).all()  # parts that are there still predict
    with pytest.raises(OfaError, match=f"no entry at 176 px for part .*source key {gone}"):
        predictor.predict([fine, Subnet(176, ((3, 5),) + ((3, 3),) * 4, ((3, 4),) + ((3, 3),) * 4)])
    # search keeps to the complete resolution
    evaluator = Evaluator(SPACE, None, {"note10": predictor}, CostTable(SPACE, 1000))
    assert [SPACE.resolutions[i] for i in evaluator.resolution_ids] == [160]


def test_file_cut_off_inside_its_last_entry_is_read_without_it(tmp_path):
    write_ofa_tables(tmp_path / "src", resolutions=(160,))
    path = tmp_path / "src" / "160_lookup_table.yaml"
    text = path.read_text()
    last = text.rstrip().splitlines()[-4]  # the last entry's key line
    path.write_text(text[: text.rindex(last)] + last[: len(last) // 2])
    table = import_table("ofa", [path], NOTE10, SPACE)
    assert table.provenance["files"][0]["truncated"] is True
    assert len(table.incomplete[160]) == 1


def _save(table, path):
    from ofa.latency.table import save_table

    return save_table(table, path)


def test_shipped_note10_table_is_once_for_alls_published_one():
    table = load_table(data_dir("latency") / "note10" / "mbv3-w1.2.json")
    assert table.resolutions == [160, 176, 192, 208, 224] and table.complete_resolutions == [160, 176, 192, 208]
    assert [f["truncated"] for f in table.provenance["files"]] == [False] * 4 + [True]
    predictor = LatencyPredictor(table, SPACE)
    low, high = predictor.extremes()
    assert 5 < low < high < 100
    with pytest.raises(OfaError, match="no entry at 224 px"):
        predictor.predict([sample_subnet(SPACE, "max")])


def test_import_cli_refuses_bad_sources_in_one_line_and_writes_nothing(tmp_path, run_cli, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write_ofa_tables(tmp_path / "src")
    not_ofa = tmp_path / "profile.yaml"
    not_ofa.write_text((data_dir("devices") / "cpu.yaml").read_text())
    broken = tmp_path / "broken.yaml"
    broken.write_text("a: [1, 2\nb: {")
    cases = [
        (["-s", "mbv3-w1.0", str(tmp_path / "src")], "table for another space"),
        (["-s", "mbv3-w1.2", str(not_ofa)], "not a once-for-all latency table"),
        (["-s", "mbv3-w1.2", str(broken)], "not a once-for-all latency table"),
        (["-s", "mbv3-w1.2", str(tmp_path / "nowhere")], "not found"),
        (["-s", "tiny", str(tmp_path / "src")], "not a resolution of space 'tiny'"),
    ]
    for args, message in cases:
        code, _, err = run_cli("latency", "import", "--format", "ofa", "-d", "note10", *args)
        assert code == 2 and message in err and len(err.strip().splitlines()) == 1, (args, err)
    code, _, err = run_cli("latency", "import", "--format", "tflite", "-d", "note10", "-s", "mbv3-w1.2", "src")
    assert code == 2 and "unknown table format 'tflite'" in err
    assert not (tmp_path / "latency").exists()

    code, out, _ = run_cli("latency", "import", "--format", "ofa", "-d", "note10", "-s", "mbv3-w1.2", "src")
    written = tmp_path / "latency" / "note10" / "mbv3-w1.2.json"
    assert code == 0 and "latency/note10/mbv3-w1.2.json: 2 files" in out and written.is_file()
    before = written.read_bytes()
    code, _, err = run_cli("latency", "import", "--format", "ofa", "-d", "note10", "-s", "mbv3-w1.2", "src")
    assert code == 2 and "--force" in err and written.read_bytes() == before
    code, _, err = run_cli("latency", "calibrate", "-d", "note10", "-s", "mbv3-w1.2")
    assert code == 2 and "imported tables" in err


# -- the accuracy predictor ---------------------------------------------------------------------------

def ofa_encoding(net: Subnet) -> np.ndarray:
    return np.asarray(REF.encode(spec(net)), dtype=np.float32)


HAND_WORKED = [
    (Subnet(160, ((3, 3),) * 5, ((3, 3),) * 5),
     [0, 3, 12, 15, 24, 27, 36, 39, 48, 51, 60, 63, 72, 75, 84, 87, 96, 99, 108, 111, 123]),
    (Subnet(224, ((7,) * 4,) * 5, ((6,) * 4,) * 5),
     list(range(2, 60, 3)) + list(range(62, 120, 3)) + [127]),
    (Subnet(208, ((5, 3, 7),) + ((3, 3),) * 4, ((4, 6, 3),) + ((3, 3),) * 4),
     [1, 3, 8, 12, 15, 24, 27, 36, 39, 48, 51, 61, 65, 66, 72, 75, 84, 87, 96, 99, 108, 111, 126]),
]


@pytest.mark.parametrize("net, ones", HAND_WORKED, ids=["min-depth-r160", "max-r224", "mixed-r208"])
def test_ofa_tutorial_encoding_on_hand_worked_subnets(net, ones):
    x = features(SPACE, encode(SPACE, net), "ofa-tutorial")[0]
    assert x.shape == (128,) and sorted(np.flatnonzero(x).tolist()) == ones


@pytest.mark.parametrize("resolution, slot", [(160, 123), (176, 124), (192, 125), (208, 126), (224, 127)])
def test_ofa_tutorial_encoding_puts_each_resolution_in_its_slot(resolution, slot):
    net = sample_subnet(SPACE, "min")
    x = features(SPACE, encode(SPACE, Subnet(resolution, net.kernels, net.expands)), "ofa-tutorial")[0]
    assert np.flatnonzero(x[120:]).tolist() == [slot - 120]


def _mlp(widths, seed=0):
    torch.manual_seed(seed)
    layers = []
    for a, b in zip(widths, widths[1:]):
        layers += [torch.nn.Linear(a, b), torch.nn.ReLU()]
    return torch.nn.Sequential(*layers[:-1])


def test_imported_predictor_equals_once_for_alls_mlp(tmp_path):
    mlp = _mlp([128, 32, 32, 1])
    torch.save(mlp.state_dict(), tmp_path / "acc.pth")
    predictor = import_predictor("ofa", tmp_path / "acc.pth", SPACE)
    from ofa.predictor.store import save_predictor

    loaded = load_predictor(save_predictor(predictor, tmp_path / "p.json"), SPACE)
    assert loaded.supernet is None and loaded.encoding == "ofa-tutorial"
    assert loaded.resolutions == (160, 176, 192, 208, 224)  # what it was fitted at: search keeps to these
    nets = [sample_subnet(SPACE, "uniform", s) for s in range(50)] + [net for net, _ in HAND_WORKED]
    with torch.no_grad():
        want = mlp(torch.from_numpy(np.stack([ofa_encoding(n) for n in nets]))).squeeze(1).numpy() * 100
    got, spread = loaded.predict_genes(np.stack([encode(SPACE, n) for n in nets]))
    assert got == pytest.approx(want, abs=1e-4) and (spread == 0).all()


class Payload:
    def __reduce__(self):
        import os

        return (os.system, ("touch PWNED",))


@pytest.mark.filterwarnings("ignore:Detected pickle protocol")
def test_predictor_import_refuses_bad_files_in_one_line(tmp_path, run_cli, monkeypatch):
    monkeypatch.chdir(tmp_path)
    torch.save(_mlp([100, 8, 1]).state_dict(), "narrow.pth")
    torch.save(_mlp([128, 8, 2]).state_dict(), "two_outputs.pth")
    torch.save({"net": Payload()}, "torch_payload.pth")
    (tmp_path / "pickle_payload.pth").write_bytes(pickle.dumps(Payload()))
    (tmp_path / "text.pth").write_text("hello")
    torch.save({"weight": torch.zeros(3)}, "odd_keys.pth")
    torch.save(_mlp([128, 8, 1]).state_dict(), "good.pth")
    cases = [
        ("narrow.pth", "mbv3-w1.2", "expected (any, 128)"),
        ("two_outputs.pth", "mbv3-w1.2", "expected (1, 8)"),
        ("torch_payload.pth", "mbv3-w1.2", "refused"),
        ("pickle_payload.pth", "mbv3-w1.2", "refused"),
        ("text.pth", "mbv3-w1.2", "not a readable PyTorch file"),
        ("odd_keys.pth", "mbv3-w1.2", "nn.Sequential of Linear layers"),
        ("missing.pth", "mbv3-w1.2", "not found"),
        ("good.pth", "tiny", "no slot for 16 px"),
    ]
    for name, space, message in cases:
        code, _, err = run_cli("predictor", "import", "--format", "ofa", name, "-s", space, "--out", "p.json")
        assert code == 2 and message in err and len(err.strip().splitlines()) == 1, (name, err)
    assert not (tmp_path / "PWNED").exists() and not (tmp_path / "p.json").exists()
    code, out, _ = run_cli("predictor", "import", "--format", "ofa", "good.pth", "-s", "mbv3-w1.2", "--out", "p.json")
    assert code == 0 and "128 -> 8 -> 1" in out
    code, _, err = run_cli("predictor", "import", "--format", "ofa", "good.pth", "-s", "mbv3-w1.2", "--out", "p.json")
    assert code == 2 and "--force" in err


def test_search_from_a_space_without_a_run(tmp_path, run_cli, monkeypatch):
    monkeypatch.chdir(tmp_path)
    torch.save(_mlp([128, 16, 1], seed=3).state_dict(), "acc.pth")
    assert run_cli("predictor", "import", "--format", "ofa", "acc.pth", "-s", "mbv3-w1.2", "--out", "p.json")[0] == 0
    args = ["search", "--space", "mbv3-w1.2", "--predictor", "p.json", "-d", "note10", "-l", "25ms",
            "--generations", "5", "--population", "20", "-q"]
    code, out, err = run_cli(*args, "--json")
    assert code == 0, err
    result = json.loads(out)
    best = result["best"]
    assert best["latency_ms"]["note10"] <= 25 and best["subnet"].startswith(("r160", "r176", "r192", "r208"))
    assert "224" in err and "searching at [160, 176, 192, 208] px" in err  # the incomplete resolution is said
    assert (tmp_path / "search" / "mbv3-w1.2" / "front.json").is_file()
    code, out, _ = run_cli(*args)
    assert code == 0 and "best within note10 25 ms" in out
    refusals = [
        (["search", "-d", "note10"], "give --supernet RUN, or --space SPACE with --predictor FILE"),
        (["search", "--space", "mbv3-w1.2", "-d", "note10"], "--predictor FILE"),
        (args + ["--check", "2"], "give --supernet RUN"),
        (["search", "--space", "mbv3-w1.0", "--predictor", "p.json", "-d", "cpu"], "predicts for space 'mbv3-w1.2'"),
        (["search", "--space", "mbv3-w1.2", "--predictor", "p.json", "-d", "note10", "-l", "1ms"],
         "the smallest subnet takes"),
    ]
    for argv, message in refusals:  # (a warning line about the incomplete 224 px may come first)
        code, _, err = run_cli(*argv)
        assert code == 2 and message in err.splitlines()[-1] and err.count("ofa: error") == 1, (argv, err)


def test_evolution_spends_predictions_only_on_subnets_within_a_tight_budget(tmp_path):
    """At 13 ms on note10 almost no random subnet fits: once-for-all's evolution draws again on the
    table alone, so every subnet it has predicted fits and it still evolves a population."""
    from ofa.predictor.store import save_predictor
    from ofa.search.problem import SubnetProblem
    from ofa.search.settings import Settings
    from ofa.search.strategies import run_strategy

    torch.save(_mlp([128, 16, 1], seed=3).state_dict(), tmp_path / "acc.pth")
    predictor = load_predictor(save_predictor(import_predictor("ofa", tmp_path / "acc.pth", SPACE),
                                              tmp_path / "p.json"), SPACE)
    table = LatencyPredictor(load_table(data_dir("latency") / "note10" / "mbv3-w1.2.json"), SPACE)
    evaluator = Evaluator(SPACE, predictor, {"note10": table}, CostTable(SPACE, 1000))
    random_fit = evaluator.within(evaluator.valid(np.random.default_rng(0).integers(0, 3, (2000, 46))),
                                  {"latency:note10": 13.0}).mean()
    assert random_fit < 0.002
    problem = SubnetProblem(evaluator, ["acc", "latency:note10"], {"latency:note10": 13.0})
    run_strategy("evolution", problem, Settings(20, 10, 0))
    genes, values = problem.archive()
    assert problem.evaluations == 200 and len(genes) > 20  # distinct subnets: it went on past its first draw
    assert (values["latency:note10"] <= 13.0).all()
