"""`ofa predictor train`: fit a model on a run's accuracy data, report its quality on held-out
subnets, then refit on all of them and save it bound to the run's supernet."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ofa.errors import OfaError
from ofa.outputs import check_writable_file
from ofa.predictor.accuracy_data import AccuracyData, check_supernet, supernet_fingerprint
from ofa.predictor.features import features
from ofa.predictor.metrics import plot_predictions, report
from ofa.predictor.models import fit_model
from ofa.predictor.store import (AccuracyPredictor, check_predictor_out, default_predictor_path, predictor_file,
                                 save_predictor)
from ofa.spaces import Space, encode, get_space, to_subnet

HOLDOUT = 0.2


def design(space: Space, rows: list[dict[str, Any]]) -> tuple[np.ndarray, np.ndarray]:
    """Gene vectors and measured top-1 of the rows (each subnet once: the latest row wins)."""
    latest = {r["subnet"]: r for r in rows}
    if not latest:
        raise OfaError("the accuracy data holds no measured subnets; measure some with `ofa predictor collect`")
    genes = np.stack([encode(space, to_subnet(space, s)) for s in latest])
    return genes, np.array([float(r["top1"]) for r in latest.values()])


def holdout_split(n: int, seed: int, share: float = HOLDOUT) -> tuple[np.ndarray, np.ndarray]:
    order = np.random.default_rng(seed).permutation(n)
    cut = max(1, int(round(n * share)))
    return np.sort(order[cut:]), np.sort(order[:cut])


def evaluate_model(kind: str, space: Space, genes: np.ndarray, top1: np.ndarray, by: np.ndarray,
                   by_name: str, train_idx: np.ndarray, test_idx: np.ndarray, seed: int = 0):
    """Fit on train_idx, report on test_idx: (report, predicted, spread)."""
    x = features(space, genes)
    model = fit_model(kind, x[train_idx], top1[train_idx], seed)
    mean, spread = model.predict(x[test_idx])
    return report(top1[test_idx], mean, spread, by[test_idx], by_name), mean, spread


def latency_of(space: Space, genes: np.ndarray, device: str | None, num_classes: int):
    """Latency on `device` (bins of similar latency), else MACs as the stand-in."""
    if device is None:
        from ofa.families.parts import CostTable

        return CostTable(space, num_classes).macs_params(genes)[:, 0], "macs"
    from ofa.latency.recalibrate import open_device_table

    latency, _, profile = open_device_table(device, space, auto_calibrate=False)  # bins need ratios only
    return latency.predict_genes(genes), f"latency on {profile.name}"


def train_predictor(run: Path, data: AccuracyData, kind: str = "trees", out: Path | None = None,
                    device: str | None = None, seed: int = 0) -> tuple[Path, dict[str, Any]]:
    path = predictor_file(out or default_predictor_path(run))
    check_predictor_out(out or path, force=True)  # before any work; only a predictor is replaced
    check_writable_file(path.with_suffix(".png"), "--out")
    fingerprint = supernet_fingerprint(run)
    check_supernet(data.supernet, fingerprint, str(data.path))
    space = get_space(fingerprint["space"])
    genes, top1 = design(space, data.rows)
    if len(top1) < 10:
        raise OfaError(f"{data.path} holds {len(top1)} measured subnets; collect at least 10 to train a predictor")
    from ofa.train.run_folder import RunFolder

    num_classes = int(RunFolder(Path(run)).read_info()["num_classes"])
    by, by_name = latency_of(space, genes, device, num_classes)
    train_idx, test_idx = holdout_split(len(top1), seed)
    quality, mean, spread = evaluate_model(kind, space, genes, top1, by, by_name, train_idx, test_idx, seed)
    final = fit_model(kind, features(space, genes), top1, seed)
    meta = {"report": quality, "seed": seed,
            "trained_on": {"file": str(data.path), "subnets": int(len(top1)), "settings": data.settings,
                           "holdout": f"{len(test_idx)} subnets ({HOLDOUT:.0%}), seed {seed}; the saved model "
                                      f"is refit on all {len(top1)}"}}
    saved = save_predictor(AccuracyPredictor(space, final, fingerprint, meta), path)
    plot_predictions(top1[test_idx], mean, spread, saved.with_suffix(".png"),
                     f"{kind} on {len(train_idx)} subnets, {len(test_idx)} held out: RMSE {quality['rmse']:.2f}, "
                     f"tau {quality['kendall_tau']:.3f}")
    return saved, meta
