"""Search: operators, the vectorized problem, every strategy, the result and the command line,
with real pymoo, a real trained tiny supernet and a predictor fitted on learnable labels."""

import json

import numpy as np
import pytest
from conftest import with_predictor_and_table, write_tiny_table

from ofa.errors import OfaError
from ofa.latency.predict import LatencyPredictor
from ofa.latency.table import load_table
from ofa.search.budget import parse_budgets, parse_latency
from ofa.search.evaluator import objective_columns
from ofa.search.operators import random_reset, uniform_crossover
from ofa.search.problem import SubnetProblem
from ofa.search.run import make_evaluator, open_run_predictor, search
from ofa.search.settings import Settings
from ofa.search.strategies import STRATEGIES
from ofa.spaces import encode, gene_bounds, get_space, sample_subnet
from ofa.supernet import subnet_cost


@pytest.fixture(scope="module")
def searchable(trained_run, tmp_path_factory):
    return with_predictor_and_table(trained_run, tmp_path_factory)


@pytest.fixture
def evaluator(searchable, monkeypatch):
    run, tables = searchable
    monkeypatch.chdir(tables)
    predictor, _, classes = open_run_predictor(run, None)
    return make_evaluator(predictor.space, predictor, ["cpu"], classes)[0]


@pytest.mark.parametrize("rate", [0.05, 0.3])
def test_random_reset_changes_genes_at_the_rate_set(rate):
    space = get_space("cifar-mbv3")
    _, upper = gene_bounds(space)
    rng = np.random.default_rng(0)
    parents = (rng.random((2000, upper.size)) * (upper + 1)).astype(np.int64)
    children = random_reset(parents, upper, rate, rng)
    changed = children != parents
    assert abs(changed.mean() - rate) < 0.01  # every selected gene really moves
    assert ((children >= 0) & (children <= upper)).all()
    other = uniform_crossover(parents, children, rng)
    differ = parents != children
    assert ((other == parents) | (other == children)).all()
    assert 0.45 < (other == parents)[differ].mean() < 0.55  # where the parents differ, half from each


def test_pymoo_polynomial_mutation_barely_moves_three_way_genes():
    """Why random reset: pymoo's default integer mutation leaves nearly every gene as it was."""
    from pymoo.core.population import Population
    from pymoo.core.problem import Problem
    from pymoo.operators.mutation.pm import PM
    from pymoo.operators.repair.rounding import RoundingRepair

    problem = Problem(n_var=46, xl=0, xu=2, vtype=int)
    x = np.random.default_rng(0).integers(0, 3, (500, 46)).astype(float)
    mutated = PM(repair=RoundingRepair()).do(problem, Population.new(X=x), random_state=np.random.default_rng(0)).get("X")
    assert (mutated != x).mean() < 0.02


def test_problem_evaluates_a_population_in_one_call_as_subnets_one_by_one(evaluator, searchable):
    space = evaluator.space
    subnets = [sample_subnet(space, "uniform", i) for i in range(25)] + [sample_subnet(space, k) for k in ("max", "min")]
    genes = np.stack([encode(space, s) for s in subnets])
    problem = SubnetProblem(evaluator, ["acc", "latency:cpu", "macs"], {"latency:cpu": 4.4})
    f, g, values = problem.evaluate_genes(genes)
    table = load_table(searchable[1] / "latency" / "cpu" / "tiny.json")
    for i, s in enumerate(subnets):
        acc, _ = evaluator.predictor.predict_genes(encode(space, s)[None])
        assert f[i, 0] == pytest.approx(100 - acc[0])
        assert f[i, 1] == pytest.approx(LatencyPredictor(table, space).predict([s])[0])
        assert f[i, 2] == subnet_cost(space, s, 3).macs
        assert g[i, 0] == pytest.approx(f[i, 1] - 4.4)
    assert problem.evaluations == len(subnets)


def test_nsga2_front_is_feasible_non_dominated_and_reproducible(evaluator):
    runs = [search(evaluator, ["acc", "latency:cpu"], {"latency:cpu": 4.4}, "nsga2", Settings(30, 15, seed)) for seed in (3, 3, 4)]
    a, b, c = runs
    assert [p["subnet"] for p in a.front()] == [p["subnet"] for p in b.front()]  # same seed, same front
    assert a.hypervolume == b.hypervolume and 0 < a.hypervolume <= 1
    assert [p["subnet"] for p in a.front()] != [p["subnet"] for p in c.front()]
    lat, err = a.values["latency:cpu"], 100 - a.values["acc"]
    assert (lat <= 4.4).all() and (np.diff(lat) >= 0).all() and (np.diff(err) < 0).all()  # a staircase
    assert 0.95 * 30 * 15 <= a.problem.evaluations <= 30 * 15  # duplicates may leave a generation short
    best = a.best()
    assert best["accuracy"] == max(p["accuracy"] for p in a.front()) and best["latency_ms"]["cpu"] <= 4.4


def test_nsga2_starts_from_both_ends_of_the_space(evaluator):
    genes, _ = search(evaluator, ["acc", "latency:cpu"], {}, "nsga2", Settings(10, 1, 0)).problem.archive()
    space = evaluator.space
    for kind, resolution in (("min", min(space.resolutions)), ("max", max(space.resolutions))):
        end = encode(space, sample_subnet(space, kind))
        end[0] = space.resolutions.index(resolution)
        assert (genes == evaluator.valid(end[None])).all(axis=1).any(), kind


@pytest.mark.parametrize("strategy", list(STRATEGIES))
def test_every_strategy_spends_its_evaluations_and_finds_a_front(evaluator, strategy):
    from ofa.search.strategies import FRONT_SHARE, LOCAL_SHARE

    for budgets in ({}, {"latency:cpu": 4.4}):
        result = search(evaluator, ["acc", "latency:cpu"], budgets, strategy, Settings(20, 10, 0))
        # nsga2-local: with a budget, part of NSGA-II's generations, and a local search of its own
        allowed = 200 * (FRONT_SHARE + LOCAL_SHARE) + 1 if strategy == "nsga2-local" and budgets else 200
        assert 0 < result.problem.evaluations <= allowed and len(result.front()) > 0 and result.hypervolume > 0
        assert all(p["latency_ms"]["cpu"] <= budgets.get("cpu", np.inf) for p in result.front())


def test_the_local_search_ends_where_no_neighbour_within_the_budget_is_better(evaluator):
    """Steepest ascent: every neighbour one or two gene changes away that fits is predicted no better
    than where the climb stopped, and the climb only ever moves up."""
    from ofa.search.local import climb, neighbours
    from ofa.search.problem import SubnetProblem

    budget = {"latency:cpu": 4.4}
    problem = SubnetProblem(evaluator, ["acc", "latency:cpu"], {})
    start = evaluator.end_genes()[:1]
    _, _, v = problem.evaluate_genes(start)
    genes, acc = climb(problem, budget, start[0], float(v["acc"][0]), 10**6)
    assert acc > v["acc"][0] and evaluator.within(genes[None], budget)[0]
    for pairs in (False, True):
        near = neighbours(problem, genes, pairs)
        near = near[evaluator.within(near, budget)]
        assert len(near) and evaluator(near)["acc"].max() <= acc + 1e-9
    single = neighbours(problem, genes, False)
    assert ((single != genes).sum(axis=1) >= 1).all() and len(np.unique(single, axis=0)) == len(single)


def test_with_a_budget_the_default_search_finds_at_least_what_nsga2_finds(evaluator):
    """Its local search starts from the best that its own NSGA-II found, and climbs."""
    for seed in range(3):
        local = search(evaluator, ["acc", "latency:cpu"], {"latency:cpu": 4.4}, "nsga2-local", Settings(20, 10, seed))
        plain = search(evaluator, ["acc", "latency:cpu"], {"latency:cpu": 4.4}, "nsga2", Settings(20, 4, seed))
        assert local.best()["accuracy"] >= plain.best()["accuracy"]


def test_nsga2_beats_random_search_at_equal_evaluations(evaluator):
    settings = Settings(40, 25, 0)
    nsga = [search(evaluator, ["acc", "latency:cpu"], {}, "nsga2", Settings(40, 25, s)).hypervolume for s in range(3)]
    rand = [search(evaluator, ["acc", "latency:cpu"], {}, "random", Settings(40, 25, s)).hypervolume for s in range(3)]
    assert settings.evaluations == 1000 and min(nsga) > max(rand)


def test_three_objectives_and_two_devices(evaluator, searchable, monkeypatch):
    run, tables = searchable
    write_tiny_table(tables, device="cuda-torch")
    predictor, _, classes = open_run_predictor(run, None)
    two, _ = make_evaluator(predictor.space, predictor, ["cpu", "cuda-torch"], classes)
    columns = objective_columns(["acc", "latency", "macs"], ["cpu", "cuda-torch"])
    assert columns == ["acc", "latency:cpu", "latency:cuda-torch", "macs"]
    result = search(two, columns, {"latency:cpu": 4.4, "latency:cuda-torch": 4.4}, "nsga2", Settings(20, 5, 0))
    point = result.front()[0]
    assert set(point["latency_ms"]) == {"cpu", "cuda-torch"} and point["macs"] > 0 and point["params"] > 0


def test_budgets_are_read_with_units():
    assert parse_latency("20ms") == parse_latency("20 ms") == parse_latency("0.02s") == parse_latency("20000us") == 20
    for bad, hint in (("20", "no unit"), ("fast", "cannot read"), ("-3ms", "cannot read"), ("0ms", "positive")):
        with pytest.raises(OfaError, match=hint):
            parse_latency(bad)
    assert parse_budgets(["10ms", "gpu=2ms"], ["cpu", "gpu"]) == {"cpu": 10.0, "gpu": 2.0}
    with pytest.raises(OfaError, match="not one of the searched devices"):
        parse_budgets(["tpu=2ms"], ["cpu"])


def test_cli_search_writes_front_json_csv_and_plot(run_cli, searchable, monkeypatch, tmp_path):
    run, tables = searchable
    monkeypatch.chdir(tables)
    out = tmp_path / "s"
    code, stdout, err = run_cli("search", "--supernet", str(run), "--device", "cpu", "--latency", "4.4ms",
                                "--objectives", "acc,latency,macs", "--generations", "10", "--population", "20",
                                "--out", str(out), "--json", "-q")
    assert code == 0, err
    result = json.loads(stdout)
    assert {"hypervolume", "front", "best"} <= set(result) and result["best"]["latency_ms"]["cpu"] <= 4.4
    assert set(result["front"][0]) == {"subnet", "accuracy", "accuracy_std", "latency_ms", "macs", "params"}
    assert json.loads((out / "front.json").read_text())["front"] == result["front"]
    assert (out / "front.csv").read_text().count("\n") == len(result["front"]) + 1
    assert (out / "front.png").stat().st_size > 10_000
    code, stdout, _ = run_cli("search", "--supernet", str(run), "-d", "cpu", "--generations", "5",
                              "--population", "10", "--out", str(out), "-q")
    assert code == 0 and "hypervolume" in stdout and "front of" in stdout


@pytest.mark.parametrize("args, message", [
    (["--latency", "0.001ms"], "the smallest subnet takes"),
    (["--latency", "20"], "no unit"),
    (["--objectives", "acc,energy"], "unknown objective"),
    (["--strategy", "annealing"], "unknown strategy"),
    (["--refine", "1"], "give --check"),
    (["--device", "nosuch"], "unknown device"),
])
def test_cli_search_refuses_bad_input_in_one_line(run_cli, searchable, monkeypatch, args, message, tmp_path):
    run, tables = searchable
    monkeypatch.chdir(tables)
    code, _, err = run_cli("search", "--supernet", str(run), "--device", "cpu", *args, "--out", str(tmp_path / "o"))
    assert code == 2 and message in err.lower() and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "o").exists()


def test_cli_search_refuses_an_output_that_is_a_file(run_cli, searchable, monkeypatch, tmp_path):
    run, tables = searchable
    monkeypatch.chdir(tables)
    (tmp_path / "f").write_text("keep me")
    code, _, err = run_cli("search", "--supernet", str(run), "-d", "cpu", "--out", str(tmp_path / "f"))
    assert code == 2 and "a file is in the way" in err and (tmp_path / "f").read_text() == "keep me"


def test_cli_search_refuses_a_predictor_of_other_weights_or_a_table_of_other_classes(run_cli, searchable,
                                                                                    monkeypatch, tmp_path):
    run, tables = searchable
    monkeypatch.chdir(tmp_path)
    write_tiny_table(tmp_path, num_classes=1000)
    code, _, err = run_cli("search", "--supernet", str(run), "-d", "cpu")
    assert code == 2 and "1000-class head" in err
    write_tiny_table(tmp_path)
    info = json.loads((run / "predictor" / "predictor.json").read_text())
    other = dict(info, supernet=dict(info["supernet"], weights_sha256="f" * 64))
    (tmp_path / "p.json").write_text(json.dumps(other))
    (tmp_path / info["weights"]).write_bytes((run / "predictor" / info["weights"]).read_bytes())
    code, _, err = run_cli("search", "--supernet", str(run), "-d", "cpu", "--predictor", str(tmp_path / "p.json"))
    assert code == 2 and "another supernet" in err and len(err.strip().splitlines()) == 1


def test_check_measures_along_the_front_and_refine_learns_from_it(run_cli, searchable, monkeypatch, tmp_path):
    run, tables = searchable
    monkeypatch.chdir(tables)
    from ofa.predictor.accuracy_data import default_data_path, read_accuracy_data

    before = len(read_accuracy_data(default_data_path(run)).rows)
    predictor_before = (run / "predictor" / "predictor.safetensors").read_bytes()
    code, stdout, err = run_cli("search", "--supernet", str(run), "-d", "cpu", "--generations", "5",
                                "--population", "10", "--check", "3", "--refine", "1", "--json", "-q",
                                "--out", str(tmp_path / "o"))
    assert code == 0, err
    result = json.loads(stdout)
    check = result["check"]
    assert check["k"] == len(check["points"]) <= 3 and check["mae"] >= 0
    assert all(0 <= p["measured"] <= 100 for p in check["points"])
    assert [r["round"] for r in result["refine"]] == [0, 1]
    rows = read_accuracy_data(default_data_path(run)).rows
    assert len(rows) == before + sum(r["k"] for r in result["refine"])
    assert {r["source"] for r in rows[before:]} == {"check"}
    measured = [r["subnet"] for r in rows]
    assert len(set(measured)) == len(measured)  # a check never re-measures what the predictor learned
    assert (run / "predictor" / "predictor.safetensors").read_bytes() != predictor_before  # refit
