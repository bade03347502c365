"""A fitted scikit-learn tree ensemble as plain numpy arrays, predicted with vectorized numpy.

Why: the accuracy predictor may be a tree ensemble, but a pickle must never be stored or loaded.
`forest_arrays` flattens a fitted model into a dict of arrays (safe to write with safetensors);
`TreeEnsemble` validates such a dict and predicts from it without scikit-learn.

Layout: the nodes of all trees are concatenated and child indices are global; -1 marks a leaf.
Prediction is `bias + sum_t weights[t] * value[leaf_t(x)]`, where a sample goes left at a node
when `float32(x[feature]) <= threshold`, which is scikit-learn's rule (it casts X to float32).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

_INT_KEYS = ("left", "right", "feature", "roots", "depth")
_FLOAT_KEYS = ("threshold", "value", "weights", "bias")
KEYS = _INT_KEYS + _FLOAT_KEYS


# ---------------------------------------------------------------- conversion from scikit-learn


def _tree_nodes(tree) -> tuple[np.ndarray, ...]:
    """One sklearn `tree_` as (left, right, feature, threshold, value) with local indices."""
    if tree.value.ndim != 3 or tree.value.shape[1:] != (1, 1):
        raise ValueError(
            f"tree ensemble: expected single-output regression trees, got node values of shape {tree.value.shape[1:]}"
        )
    left = np.asarray(tree.children_left, dtype=np.int64)
    right = np.asarray(tree.children_right, dtype=np.int64)
    leaf = left < 0
    left = np.where(leaf, -1, left)
    right = np.where(leaf, -1, right)
    feature = np.where(leaf, -1, np.asarray(tree.feature, dtype=np.int64))
    threshold = np.asarray(tree.threshold, dtype=np.float64)
    value = np.asarray(tree.value[:, 0, 0], dtype=np.float64)
    return left, right, feature, threshold, value


def _concatenate(trees: list, weights: np.ndarray, bias: float) -> dict[str, np.ndarray]:
    """Concatenate the nodes of `trees`, shifting child indices by each tree's offset."""
    parts = [_tree_nodes(t) for t in trees]
    sizes = np.array([len(p[0]) for p in parts], dtype=np.int64)
    offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)

    def shifted(i: int) -> np.ndarray:
        return np.concatenate([np.where(p[i] >= 0, p[i] + o, -1) for p, o in zip(parts, offsets)])

    return {
        "left": shifted(0),
        "right": shifted(1),
        "feature": np.concatenate([p[2] for p in parts]),
        "threshold": np.concatenate([p[3] for p in parts]),
        "value": np.concatenate([p[4] for p in parts]),
        "roots": offsets,
        "weights": np.ascontiguousarray(weights, dtype=np.float64),
        "bias": np.array([bias], dtype=np.float64),
        "depth": np.array([max(int(t.max_depth) for t in trees)], dtype=np.int64),
    }


def _boosting_bias(model) -> float:
    """The constant raw prediction boosting starts from (the mean of y for squared error)."""
    init = model.init_
    if isinstance(init, str):
        if init == "zero":
            return 0.0
        raise ValueError(f"GradientBoostingRegressor: unsupported init {init!r}")
    from sklearn.dummy import DummyRegressor

    if not isinstance(init, DummyRegressor):
        # Any other init estimator may depend on X, so no constant bias exists.
        raise ValueError(
            f"GradientBoostingRegressor: init must be a constant (DummyRegressor or 'zero'), got {type(init).__name__}"
        )
    row = np.zeros((1, model.n_features_in_), dtype=np.float64)
    out = np.asarray(init.predict(row), dtype=np.float64).reshape(-1)
    if out.size != 1:
        raise ValueError("GradientBoostingRegressor: init prediction is not a single value")
    return float(out[0])


def forest_arrays(model) -> dict[str, np.ndarray]:
    """Plain arrays of a fitted sklearn RandomForestRegressor, ExtraTreesRegressor or
    GradientBoostingRegressor (single-output, squared-error loss for boosting)."""
    from sklearn.ensemble import (
        ExtraTreesRegressor,
        GradientBoostingRegressor,
        RandomForestRegressor,
    )

    name = type(model).__name__
    if isinstance(model, (RandomForestRegressor, ExtraTreesRegressor)):
        trees = list(getattr(model, "estimators_", []))
        if not trees:
            raise ValueError(f"{name} is not fitted")
        if getattr(model, "n_outputs_", 1) != 1:
            raise ValueError(f"{name}: only single-output models are supported, got {model.n_outputs_} outputs")
        weights = np.full(len(trees), 1.0 / len(trees))
        return _concatenate([t.tree_ for t in trees], weights, 0.0)
    if isinstance(model, GradientBoostingRegressor):
        stages = getattr(model, "estimators_", None)
        if stages is None or len(stages) == 0:
            raise ValueError(f"{name} is not fitted")
        if model.loss != "squared_error":
            raise ValueError(f"{name}: only loss='squared_error' is supported, got {model.loss!r}")
        if stages.ndim != 2 or stages.shape[1] != 1:
            raise ValueError(f"{name}: expected one tree per stage, got stages of shape {stages.shape}")
        trees = [t.tree_ for t in stages[:, 0]]
        weights = np.full(len(trees), float(model.learning_rate))
        return _concatenate(trees, weights, _boosting_bias(model))
    raise ValueError(
        f"unsupported model {name}: expected a fitted RandomForestRegressor, "
        "ExtraTreesRegressor or GradientBoostingRegressor"
    )


# ---------------------------------------------------------------- validation


def _typed(arrays: dict[str, np.ndarray], key: str) -> np.ndarray:
    """A fresh read-only int64/float64 copy of one entry; refuses a wrong dtype kind."""
    if key not in arrays:
        raise ValueError(f"tree ensemble: missing array {key!r}")
    a = np.asarray(arrays[key])
    want = np.int64 if key in _INT_KEYS else np.float64
    kinds = "iu" if key in _INT_KEYS else "f"
    if a.dtype.kind not in kinds:
        raise ValueError(f"tree ensemble: {key!r} must be {np.dtype(want).name}, got {a.dtype}")
    a = np.array(a, dtype=want, order="C", copy=True)
    a.flags.writeable = False
    return a


def _check_1d(name: str, a: np.ndarray, length: int | None = None) -> None:
    """Refuse anything but a 1-D array of the expected length."""
    if a.ndim != 1 or (length is not None and a.shape[0] != length):
        want = f"({length},)" if length is not None else "1-D"
        raise ValueError(f"tree ensemble: {name!r} must have shape {want}, got {a.shape}")


def _level_order(left: np.ndarray, right: np.ndarray, roots: np.ndarray, depth: int) -> np.ndarray:
    """Every node once, level by level across all trees with siblings adjacent; refuses a non-forest.

    This is the descent's slot order: adjacent siblings make the next slot `left + goes_right`,
    and level-major order keeps the nodes all samples read first close together. The walk also
    proves the arrays form trees: a shared node or a cycle shows up as a node seen twice, caught
    as soon as more nodes are seen than exist (so a corrupt file cannot blow the walk up).
    """
    n_nodes, frontier, levels, seen = left.size, roots, [roots], roots.size
    for _ in range(depth):
        frontier = frontier[left[frontier] >= 0]
        frontier = np.stack([left[frontier], right[frontier]], axis=1).reshape(-1)
        seen += frontier.size
        if seen > n_nodes:
            raise ValueError("tree ensemble: nodes are shared between trees or form a cycle")
        levels.append(frontier)
    order = np.concatenate(levels)
    counts = np.bincount(order, minlength=n_nodes)
    if np.any(counts > 1):
        raise ValueError("tree ensemble: nodes are shared between trees or form a cycle")
    if np.any(left[frontier] >= 0):
        raise ValueError(f"tree ensemble: some trees are deeper than depth={depth}")
    if np.any(counts == 0):
        raise ValueError("tree ensemble: some nodes are unreachable from the roots")
    return order


def _float32_floor(threshold: np.ndarray) -> np.ndarray:
    """The largest float32 <= each threshold.

    For a float32 x, `x <= t` (compared in float64, as sklearn does) holds exactly when
    `x <= floor32(t)`, so the descent can compare in float32 without changing any decision.
    """
    with np.errstate(over="ignore"):
        nearest = threshold.astype(np.float32)
    above = nearest.astype(np.float64) > threshold
    return np.where(above, np.nextafter(nearest, np.float32(-np.inf)), nearest)


# One node as the descent reads it: a single 16-byte gather per sample, tree and level.
_RECORD = np.dtype([("feature", "<i4"), ("threshold", "<f4"), ("left", "<i8")])


def _records(
    left: np.ndarray, right: np.ndarray, feature: np.ndarray, threshold: np.ndarray, roots: np.ndarray, depth: int
) -> tuple[np.ndarray, np.ndarray]:
    """Nodes renumbered into descent slots (tree t's root is slot t), and each node's slot.

    A leaf points to itself with threshold +inf (no finite x goes right), so samples that
    finished early stay put without a mask.
    """
    leaf = left < 0
    slot = np.empty(left.size, dtype=np.int64)
    slot[_level_order(left, right, roots, depth)] = np.arange(left.size)
    records = np.empty(left.size, dtype=_RECORD)
    records["feature"][slot] = np.where(leaf, 0, feature)
    records["threshold"][slot] = _float32_floor(np.where(leaf, np.inf, threshold))
    records["left"][slot] = np.where(leaf, slot, slot[np.maximum(left, 0)])
    records.flags.writeable = False
    return records, slot


# ---------------------------------------------------------------- the ensemble


@dataclass(frozen=True, eq=False)
class TreeEnsemble:
    """A validated, immutable tree ensemble; build it with `from_arrays`.

    The public arrays keep the saved layout; the descent uses derived `_records` and `_value`
    (see `_records`), computed once here, which also refuses arrays that do not form trees.
    """

    left: np.ndarray
    right: np.ndarray
    feature: np.ndarray
    threshold: np.ndarray
    value: np.ndarray
    roots: np.ndarray
    weights: np.ndarray
    bias: float
    depth: int
    n_features: int = field(init=False)
    _records: np.ndarray = field(init=False, repr=False)
    _value: np.ndarray = field(init=False, repr=False)

    def __post_init__(self) -> None:
        records, slot = _records(self.left, self.right, self.feature, self.threshold, self.roots, self.depth)
        value = np.empty_like(self.value)
        value[slot] = self.value
        value.flags.writeable = False
        internal = self.left >= 0
        object.__setattr__(self, "n_features", int(self.feature[internal].max()) + 1 if internal.any() else 0)
        object.__setattr__(self, "_records", records)
        object.__setattr__(self, "_value", value)

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray]) -> TreeEnsemble:
        """Validate arrays (e.g. just loaded from a file) so that corruption fails loudly here."""
        a = {k: _typed(arrays, k) for k in KEYS}
        n_nodes = a["left"].size
        _check_1d("left", a["left"])
        if n_nodes == 0:
            raise ValueError("tree ensemble: no nodes")
        for k in ("right", "feature", "threshold", "value"):
            _check_1d(k, a[k], n_nodes)
        _check_1d("roots", a["roots"])
        if a["roots"].size == 0:
            raise ValueError("tree ensemble: no trees")
        _check_1d("weights", a["weights"], a["roots"].size)
        _check_1d("bias", a["bias"], 1)
        _check_1d("depth", a["depth"], 1)

        left, right, feature = a["left"], a["right"], a["feature"]
        for k in ("left", "right"):
            if np.any((a[k] < -1) | (a[k] >= n_nodes)):
                raise ValueError(f"tree ensemble: {k!r} has child indices outside [-1, {n_nodes})")
        if np.any((left < 0) != (right < 0)):
            raise ValueError("tree ensemble: a node has exactly one child")
        if np.any((a["roots"] < 0) | (a["roots"] >= n_nodes)):
            raise ValueError(f"tree ensemble: 'roots' has indices outside [0, {n_nodes})")
        internal = left >= 0
        if np.any((feature[internal] < 0) | (feature[internal] > np.iinfo(np.int32).max)):
            raise ValueError("tree ensemble: an internal node has a negative or huge feature index")
        if np.any(np.isnan(a["threshold"][internal])):
            raise ValueError("tree ensemble: an internal node has a NaN threshold")
        for k in ("value", "weights", "bias"):
            if not np.all(np.isfinite(a[k])):
                raise ValueError(f"tree ensemble: {k!r} has non-finite entries")
        depth = int(a["depth"][0])
        if not 0 <= depth <= n_nodes:  # no tree is deeper than it has nodes
            raise ValueError(f"tree ensemble: depth {depth} outside [0, {n_nodes}]")
        return cls(
            left=left,
            right=right,
            feature=feature,
            threshold=a["threshold"],
            value=a["value"],
            roots=a["roots"],
            weights=a["weights"],
            bias=float(a["bias"][0]),
            depth=depth,
        )

    def to_arrays(self) -> dict[str, np.ndarray]:
        """The inverse of `from_arrays`: fresh contiguous arrays, ready for safetensors."""
        out = {
            k: np.array(getattr(self, k), copy=True)
            for k in ("left", "right", "feature", "threshold", "value", "roots", "weights")
        }
        out["bias"] = np.array([self.bias], dtype=np.float64)
        out["depth"] = np.array([self.depth], dtype=np.int64)
        return out

    def _as_float32(self, X: np.ndarray) -> np.ndarray:
        """X as sklearn compares it: 2-D, cast to float32, finite, wide enough for every split."""
        X = np.asarray(X)
        if X.ndim != 2:
            raise ValueError(f"tree ensemble: X must be 2-D (n_samples, n_features), got shape {X.shape}")
        if X.dtype.kind not in "biuf":
            raise ValueError(f"tree ensemble: X must be numeric, got dtype {X.dtype}")
        if X.shape[1] < self.n_features:
            raise ValueError(
                f"tree ensemble: X has {X.shape[1]} features, the trees split on feature {self.n_features - 1}"
            )
        X32 = np.ascontiguousarray(X, dtype=np.float32)
        if not np.all(np.isfinite(X32)):
            raise ValueError("tree ensemble: X has NaN or infinite entries (or values beyond float32 range)")
        return X32

    def _leaf_slots(self, X: np.ndarray) -> np.ndarray:
        """(n_samples, n_trees) slot of the leaf each sample reaches in each tree.

        One step per depth level moves every (sample, tree) pair at once; pairs already at a
        leaf point to themselves, so no mask is needed.
        """
        X32 = self._as_float32(X)
        n, width = X32.shape
        flat = X32.reshape(-1)
        row_start = (np.arange(n, dtype=np.int64) * width)[:, None]
        slot = np.broadcast_to(np.arange(self.roots.size, dtype=np.int64), (n, self.roots.size)).copy()
        for _ in range(self.depth if self.n_features else 0):
            node = self._records[slot]
            x = flat[row_start + node["feature"]]
            slot = node["left"] + (x > node["threshold"])
        return slot

    def tree_outputs(self, X: np.ndarray) -> np.ndarray:
        """(n_samples, n_trees): each tree's leaf value times its weight."""
        return self._value[self._leaf_slots(X)] * self.weights

    def predict(self, X: np.ndarray) -> np.ndarray:
        """(n_samples,): bias + sum of tree_outputs, equal to sklearn's predict."""
        return self.bias + self.tree_outputs(X).sum(axis=1)
