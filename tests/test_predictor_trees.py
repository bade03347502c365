"""Tree ensembles as plain arrays: numpy predictions must equal scikit-learn's, with no pickle."""

from __future__ import annotations

import numpy as np
import pytest
from safetensors.numpy import load_file, save_file
from sklearn.ensemble import (
    ExtraTreesRegressor,
    GradientBoostingRegressor,
    HistGradientBoostingRegressor,
    RandomForestClassifier,
    RandomForestRegressor,
)

from ofa.predictor.trees import TreeEnsemble, forest_arrays

N_FEATURES = 60


def one_hot_like(rng: np.random.Generator, n: int) -> np.ndarray:
    """Integer-valued float features, mostly 0/1 like an architecture encoding."""
    X = rng.integers(0, 2, size=(n, N_FEATURES)).astype(np.float64)
    X[:, :5] = rng.integers(0, 4, size=(n, 5))
    return X


def target(X: np.ndarray) -> np.ndarray:
    weights = np.random.default_rng(1).normal(size=X.shape[1])
    return X @ weights + 0.1 * np.random.default_rng(2).normal(size=X.shape[0])


def make_models() -> dict[str, object]:
    rng = np.random.default_rng(0)
    X = one_hot_like(rng, 300)
    y = target(X)
    return {
        "random_forest": RandomForestRegressor(n_estimators=30, random_state=0).fit(X, y),
        "extra_trees": ExtraTreesRegressor(n_estimators=30, max_depth=12, random_state=0).fit(X, y),
        "boosting": GradientBoostingRegressor(n_estimators=40, max_depth=4, learning_rate=0.2, random_state=0).fit(
            X, y
        ),
    }


NAMES = ("boosting", "extra_trees", "random_forest")


@pytest.fixture(scope="module")
def models() -> dict[str, object]:
    return make_models()


def held_out_rows() -> np.ndarray:
    """Held-out rows: one-hot-like, plus continuous values around and far from the 0.5 splits."""
    rng = np.random.default_rng(3)
    discrete = one_hot_like(rng, 50)
    continuous = rng.normal(0.5, 1.0, size=(50, N_FEATURES))
    near_half = 0.5 + rng.choice([-1e-9, 0.0, 1e-9, -1e-7, 1e-7], size=(20, N_FEATURES))
    return np.vstack([discrete, continuous, near_half])


@pytest.mark.parametrize("name", NAMES)
def test_predict_equals_sklearn(models, name):
    model = models[name]
    X = held_out_rows()
    ensemble = TreeEnsemble.from_arrays(forest_arrays(model))
    np.testing.assert_allclose(ensemble.predict(X), model.predict(X), rtol=0, atol=1e-12)


def test_arrays_layout(models):
    model = models["boosting"]
    arrays = forest_arrays(model)
    n_nodes = sum(t.tree_.node_count for t in model.estimators_[:, 0])
    for key in ("left", "right", "feature", "threshold", "value"):
        assert arrays[key].shape == (n_nodes,), key
    assert arrays["left"].dtype == np.int64 and arrays["threshold"].dtype == np.float64
    assert arrays["roots"].shape == arrays["weights"].shape == (40,)
    np.testing.assert_array_equal(arrays["weights"], 0.2)
    assert arrays["bias"].shape == (1,) and arrays["depth"].shape == (1,)
    np.testing.assert_allclose(arrays["bias"][0], model.init_.constant_.ravel()[0], rtol=0, atol=1e-12)
    assert arrays["depth"][0] == 4

    forest = forest_arrays(models["random_forest"])
    np.testing.assert_array_equal(forest["weights"], 1 / 30)
    assert forest["bias"][0] == 0.0


def edge_rows(model) -> tuple[np.ndarray, np.ndarray]:
    """Rows whose split feature sits on, or one float64/float32 step beside, a threshold.

    Returns the rows and, per row, whether a plain float64 `x <= t` would disagree with
    scikit-learn's float32 rule (so the test is known to probe the difference).
    """
    trees = [t.tree_ for t in model.estimators_]
    base = np.random.default_rng(4).normal(size=N_FEATURES)
    rows, disagree = [], []
    for tree in trees[:5]:
        for node in np.flatnonzero(tree.children_left >= 0):
            f, t = tree.feature[node], tree.threshold[node]
            t32 = np.float32(t)
            for x in (t, np.nextafter(t, -np.inf), np.nextafter(t, np.inf), float(t32),
                      float(np.nextafter(t32, np.float32(-np.inf))), float(np.nextafter(t32, np.float32(np.inf)))):
                row = base.copy()
                row[f] = x
                rows.append(row)
                disagree.append((x <= t) != (np.float32(x) <= t))
    return np.array(rows), np.array(disagree)


def test_float32_threshold_rule_on_continuous_features():
    rng = np.random.default_rng(5)
    X = rng.normal(size=(200, N_FEATURES)) * 1e3
    y = X[:, 0] - X[:, 1] ** 2 * 1e-3 + rng.normal(size=200)
    model = RandomForestRegressor(n_estimators=10, max_depth=8, random_state=0).fit(X, y)
    rows, disagree = edge_rows(model)
    assert disagree.any(), "edge rows should include values where float64 and float32 comparisons differ"
    ensemble = TreeEnsemble.from_arrays(forest_arrays(model))
    np.testing.assert_allclose(ensemble.predict(rows), model.predict(rows), rtol=0, atol=1e-12)


def stump(threshold: float) -> TreeEnsemble:
    """One tree, one split on feature 0: left leaf -> 1.0, right leaf -> 2.0."""
    return TreeEnsemble.from_arrays(
        {
            "left": np.array([1, -1, -1]),
            "right": np.array([2, -1, -1]),
            "feature": np.array([0, -1, -1]),
            "threshold": np.array([threshold, -2.0, -2.0]),
            "value": np.array([0.0, 1.0, 2.0]),
            "roots": np.array([0]),
            "weights": np.array([1.0]),
            "bias": np.array([0.0]),
            "depth": np.array([1]),
        }
    )


@pytest.mark.parametrize("threshold", [0.1, 1 / 3, 1e-40, -1e-40, 3.4e38, 1e300, -1e300, np.inf, -np.inf])
def test_stump_follows_float32_rule_at_extremes(threshold):
    big = float(np.finfo(np.float32).max)
    t32 = np.float32(np.clip(threshold, -big, big))
    below, above = np.nextafter(t32, np.float32(-big)), np.nextafter(t32, np.float32(big))
    xs = np.array([below, t32, above, np.clip(threshold, -big, big), 0.0, -big, big], dtype=np.float64)
    # sklearn's rule: float32(x) <= threshold, compared in float64 (np.float64 keeps the threshold exact).
    expected = np.where(xs.astype(np.float32) <= np.float64(threshold), 1.0, 2.0)
    np.testing.assert_array_equal(stump(threshold).predict(xs[:, None]), expected)


@pytest.mark.parametrize("name", NAMES)
def test_tree_outputs_sum_to_predict(models, name):
    X = held_out_rows()
    ensemble = TreeEnsemble.from_arrays(forest_arrays(models[name]))
    outputs = ensemble.tree_outputs(X)
    assert outputs.shape == (X.shape[0], ensemble.roots.size)
    np.testing.assert_allclose(ensemble.bias + outputs.sum(axis=1), ensemble.predict(X), rtol=0, atol=1e-12)


def test_forest_tree_outputs_are_the_trees_predictions(models):
    model = models["random_forest"]
    X = held_out_rows()
    outputs = TreeEnsemble.from_arrays(forest_arrays(model)).tree_outputs(X)
    per_tree = np.stack([tree.predict(X) for tree in model.estimators_], axis=1)
    np.testing.assert_allclose(outputs * len(model.estimators_), per_tree, rtol=0, atol=1e-12)


def test_safetensors_round_trip(models, tmp_path):
    X = held_out_rows()
    for name, model in models.items():
        path = tmp_path / f"{name}.safetensors"
        save_file(forest_arrays(model), str(path))
        loaded = TreeEnsemble.from_arrays(load_file(str(path)))
        original = TreeEnsemble.from_arrays(forest_arrays(model))
        np.testing.assert_array_equal(loaded.predict(X), original.predict(X))

        again = loaded.to_arrays()
        for key, array in load_file(str(path)).items():
            np.testing.assert_array_equal(again[key], array)
            assert again[key].dtype == array.dtype, key
        np.testing.assert_array_equal(TreeEnsemble.from_arrays(again).predict(X), original.predict(X))


def test_boosting_with_zero_init():
    rng = np.random.default_rng(6)
    X = one_hot_like(rng, 200)
    model = GradientBoostingRegressor(n_estimators=10, max_depth=3, init="zero", random_state=0).fit(X, target(X))
    arrays = forest_arrays(model)
    assert arrays["bias"][0] == 0.0
    X_test = held_out_rows()
    np.testing.assert_allclose(TreeEnsemble.from_arrays(arrays).predict(X_test), model.predict(X_test), rtol=0, atol=1e-12)


def test_ensemble_is_read_only(models):
    ensemble = TreeEnsemble.from_arrays(forest_arrays(models["extra_trees"]))
    with pytest.raises(ValueError):
        ensemble.value[0] = 1.0
    empty = ensemble.predict(np.zeros((0, N_FEATURES)))
    assert empty.shape == (0,)


def set_at(index: int, value):
    def change(a: np.ndarray) -> np.ndarray:
        a[index] = value
        return a

    return change


@pytest.mark.parametrize(
    "key, change, message",
    [
        ("left", set_at(0, 10**9), "outside"),
        ("right", set_at(0, -5), "outside"),
        ("roots", set_at(1, -1), "outside"),
        ("value", lambda a: a[:-1], "shape"),
        ("weights", lambda a: a[:-1], "shape"),
        ("left", lambda a: a.astype(np.float64), "int64"),
        ("left", set_at(0, -1), "one child"),
        ("left", set_at(0, 0), "cycle"),
        ("feature", set_at(0, -1), "feature"),
        ("depth", lambda a: a - 1, "deeper"),
        ("value", set_at(3, np.nan), "non-finite"),
        ("bias", lambda a: None, "missing"),
    ],
)
def test_corrupt_arrays_raise(models, key, change, message):
    arrays = {k: v.copy() for k, v in forest_arrays(models["boosting"]).items()}
    arrays[key] = change(arrays[key])
    if arrays[key] is None:
        del arrays[key]
    with pytest.raises(ValueError, match=message):
        TreeEnsemble.from_arrays(arrays)


def test_shared_subtree_raises(models):
    arrays = forest_arrays(models["boosting"])
    arrays["left"][arrays["roots"][1]] = arrays["left"][0]  # tree 1 borrows tree 0's left subtree
    with pytest.raises(ValueError, match="shared"):
        TreeEnsemble.from_arrays(arrays)


def test_bad_inputs_to_predict_raise(models):
    ensemble = TreeEnsemble.from_arrays(forest_arrays(models["random_forest"]))
    X = held_out_rows()
    with pytest.raises(ValueError, match="features"):
        ensemble.predict(X[:, :10])
    with pytest.raises(ValueError, match="2-D"):
        ensemble.predict(X[0])
    X[0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        ensemble.predict(X)


def test_unsupported_models_raise():
    rng = np.random.default_rng(7)
    X = one_hot_like(rng, 60)
    y = target(X)
    with pytest.raises(ValueError, match="unsupported model RandomForestClassifier"):
        forest_arrays(RandomForestClassifier(n_estimators=3, random_state=0).fit(X, y > 0))
    with pytest.raises(ValueError, match="unsupported model HistGradientBoostingRegressor"):
        forest_arrays(HistGradientBoostingRegressor(max_iter=3).fit(X, y))
    with pytest.raises(ValueError, match="single-output"):
        forest_arrays(RandomForestRegressor(n_estimators=3, random_state=0).fit(X, np.stack([y, -y], axis=1)))
    with pytest.raises(ValueError, match="squared_error"):
        forest_arrays(GradientBoostingRegressor(n_estimators=3, loss="absolute_error").fit(X, y))
    with pytest.raises(ValueError, match="not fitted"):
        forest_arrays(RandomForestRegressor())
    with pytest.raises(ValueError, match="unsupported model"):
        forest_arrays(object())
