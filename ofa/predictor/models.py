"""Accuracy predictors: fitted on (features, top-1 %) and kept as plain arrays, so they are saved
with safetensors and evaluated in numpy (no torch at search time, no pickle anywhere).

One registry of model kinds. Every fitted model predicts per member (an MLP has one member, an
ensemble K, a forest one per tree): the mean is the prediction, the spread its uncertainty.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Callable

import numpy as np

from ofa.errors import OfaError

HIDDEN = 400  # once-for-all's accuracy predictor: 3 hidden layers of 400, ReLU
ENSEMBLE_MEMBERS = 5


@dataclass(frozen=True)
class FittedModel:
    kind: str
    arrays: dict[str, np.ndarray]

    @cached_property
    def _prepared(self):
        """Built once (a forest's node layout takes a while): search predicts every generation."""
        if self.kind in ("trees", "boosting"):
            from ofa.predictor.trees import TreeEnsemble

            return TreeEnsemble.from_arrays(self.arrays)
        return self.arrays

    def members(self, x: np.ndarray) -> np.ndarray:
        """(n, members) top-1 % predictions."""
        return _PREDICT[self.kind](self._prepared, np.asarray(x, dtype=np.float32))

    def predict(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Mean and spread (standard deviation over members; 0 for a single MLP)."""
        m = self.members(x)
        return m.mean(axis=1), (m.std(axis=1) if m.shape[1] > 1 else np.zeros(m.shape[0]))


# -- MLP (one or an ensemble), trained in torch, evaluated in numpy ---------------------------------

def _fit_mlps(x: np.ndarray, y: np.ndarray, seed: int, members: int, bootstrap: bool) -> dict[str, np.ndarray]:
    import torch
    from torch import nn

    stacks: dict[str, list[np.ndarray]] = {}
    with torch.random.fork_rng(devices=[]):
        for m in range(members):
            torch.manual_seed(seed * 1000 + m)
            rng = np.random.default_rng(seed * 1000 + m)
            idx = rng.integers(0, len(y), len(y)) if bootstrap else np.arange(len(y))
            xt = torch.from_numpy(np.asarray(x[idx], dtype=np.float32))
            yt = torch.from_numpy(np.asarray(y[idx], dtype=np.float32) / 100.0)
            layers = [nn.Linear(x.shape[1], HIDDEN), nn.ReLU(), nn.Linear(HIDDEN, HIDDEN), nn.ReLU(),
                      nn.Linear(HIDDEN, HIDDEN), nn.ReLU(), nn.Linear(HIDDEN, 1)]
            net = nn.Sequential(*layers)
            with torch.no_grad():  # start at the mean accuracy, as once-for-all does
                net[-1].bias.fill_(float(yt.mean()))
            _train(net, xt, yt, torch.Generator().manual_seed(seed * 1000 + m))
            linears = [layer for layer in net if isinstance(layer, nn.Linear)]
            for i, layer in enumerate(linears):
                stacks.setdefault(f"w{i}", []).append(layer.weight.detach().numpy().T.copy())
                stacks.setdefault(f"b{i}", []).append(layer.bias.detach().numpy().copy())
    return {k: np.stack(v).astype(np.float32) for k, v in stacks.items()}


def _train(net, x, y, generator, epochs: int = 100, batch: int = 64, lr: float = 2e-3) -> None:
    """AdamW with a cosine schedule over `epochs` passes (at least 300 steps): sized by the data,
    so small data sets fit in seconds."""
    import torch

    steps = max(300, epochs * -(-len(y) // batch))
    opt = torch.optim.AdamW(net.parameters(), lr=lr, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps)
    for _ in range(steps):
        idx = torch.randint(0, len(y), (min(batch, len(y)),), generator=generator)
        loss = torch.nn.functional.mse_loss(net(x[idx]).squeeze(1), y[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()


def check_shapes(kind: str, arrays: dict[str, np.ndarray], n_features: int, source: str) -> None:
    """Arrays of a `kind` model that read `n_features` inputs: an MLP's layers chained (members, in,
    out) from n_features to 1; a tree ensemble's split features below n_features."""
    if kind in ("trees", "boosting"):
        left, feature = arrays.get("left"), arrays.get("feature")
        if left is not None and feature is not None and left.shape == feature.shape and (left >= 0).any() \
                and int(feature[left >= 0].max()) >= n_features:
            raise OfaError(f"{source}: trees split on feature {int(feature[left >= 0].max())}, the space has {n_features}")
        return
    layers = sum(1 for k in arrays if k.startswith("w"))
    if layers == 0 or set(arrays) != {f"{p}{i}" for p in "wb" for i in range(layers)}:
        raise OfaError(f"{source}: expected the arrays w0..wN and b0..bN of an MLP, got {sorted(arrays)[:8]}")
    width, members = n_features, arrays["w0"].shape[0] if arrays["w0"].ndim == 3 else -1
    for i in range(layers):
        w, b = arrays[f"w{i}"], arrays[f"b{i}"]
        if w.ndim != 3 or w.shape[:2] != (members, width) or b.shape != (members, w.shape[2]):
            raise OfaError(f"{source}: layer {i} has weights {w.shape} and bias {b.shape}; expected "
                           f"({members}, {width}, out) and ({members}, out)")
        width = w.shape[2]
    if width != 1:
        raise OfaError(f"{source}: the last layer gives {width} outputs, expected 1")


def _predict_mlps(arrays: dict[str, np.ndarray], x: np.ndarray) -> np.ndarray:
    n_layers = sum(1 for k in arrays if k.startswith("w"))
    h = np.broadcast_to(x, (arrays["w0"].shape[0],) + x.shape)
    for i in range(n_layers):
        h = h @ arrays[f"w{i}"] + arrays[f"b{i}"][:, None, :]
        if i < n_layers - 1:
            h = np.maximum(h, 0.0)
    return 100.0 * h[..., 0].T


# -- tree ensembles from scikit-learn, stored as arrays ---------------------------------------------

def _fit_forest(x: np.ndarray, y: np.ndarray, seed: int) -> dict[str, np.ndarray]:
    from sklearn.ensemble import RandomForestRegressor

    from ofa.predictor.trees import forest_arrays

    # 100 trees of depth <= 12: as good as 200 unbounded ones on cifar10-4k labels (RMSE 1.07, tau 0.39)
    # and 4x faster to predict, which is most of a search's own time (BENCHMARKS.md)
    model = RandomForestRegressor(n_estimators=100, max_depth=12, max_features=0.3, min_samples_leaf=2,
                                  random_state=seed, n_jobs=1)
    return forest_arrays(model.fit(x, y))


def _fit_boosting(x: np.ndarray, y: np.ndarray, seed: int) -> dict[str, np.ndarray]:
    from sklearn.ensemble import GradientBoostingRegressor

    from ofa.predictor.trees import forest_arrays

    model = GradientBoostingRegressor(n_estimators=300, learning_rate=0.05, max_depth=3, subsample=0.8,
                                      random_state=seed)
    return forest_arrays(model.fit(x, y))


def _predict_forest(trees, x: np.ndarray) -> np.ndarray:
    """A forest's trees are its members: each tree alone predicts (its weight is 1 / trees)."""
    return trees.tree_outputs(x) / trees.weights + trees.bias


def _predict_boosting(trees, x: np.ndarray) -> np.ndarray:
    """Boosted trees only predict together: one member."""
    return trees.predict(x)[:, None]


MODELS: dict[str, tuple[str, Callable[[np.ndarray, np.ndarray, int], dict[str, np.ndarray]]]] = {
    "mlp": ("once-for-all's MLP: 3 x 400 ReLU, output bias starts at the mean accuracy",
            lambda x, y, seed: _fit_mlps(x, y, seed, 1, bootstrap=False)),
    "ensemble": (f"{ENSEMBLE_MEMBERS} such MLPs on bootstrap resamples; their spread is the uncertainty",
                 lambda x, y, seed: _fit_mlps(x, y, seed, ENSEMBLE_MEMBERS, bootstrap=True)),
    "trees": ("random forest of 100 trees (scikit-learn); the spread over trees is the uncertainty", _fit_forest),
    "boosting": ("gradient-boosted trees (scikit-learn), 300 x depth 3; no uncertainty", _fit_boosting),
}
_PREDICT = {"mlp": _predict_mlps, "ensemble": _predict_mlps, "trees": _predict_forest, "boosting": _predict_boosting}


def fit_model(kind: str, x: np.ndarray, y: np.ndarray, seed: int = 0) -> FittedModel:
    if kind not in MODELS:
        raise OfaError(f"unknown predictor model '{kind}'; choose one of: {', '.join(MODELS)}")
    if len(y) < 10:
        raise OfaError(f"{len(y)} measured subnets are too few to train a predictor (collect at least 10)")
    return FittedModel(kind, MODELS[kind][1](np.asarray(x, dtype=np.float32), np.asarray(y, dtype=np.float64), seed))
