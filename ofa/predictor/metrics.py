"""How good a predictor is for search: error, global ranking, ranking of the best, and ranking
among subnets of similar latency (what a budgeted search must get right)."""

from __future__ import annotations

from ofa.files import save_figure

import numpy as np
from scipy import stats


def kendall_tau(a: np.ndarray, b: np.ndarray) -> float:
    if len(a) < 2 or np.ptp(a) == 0 or np.ptp(b) == 0:
        return float("nan")
    return float(stats.kendalltau(a, b).statistic)


def top_precision(measured: np.ndarray, predicted: np.ndarray, share: float = 0.1) -> float:
    """Of the predicted top `share`, the fraction that is in the measured top `share`."""
    k = max(1, int(round(len(measured) * share)))
    return len(set(np.argsort(-predicted)[:k]) & set(np.argsort(-measured)[:k])) / k


def tau_in_bins(measured: np.ndarray, predicted: np.ndarray, by: np.ndarray, bins: int = 5) -> float:
    """Kendall tau inside equal-count bins of `by` (latency or MACs), weighted by bin size."""
    order = np.argsort(by, kind="stable")
    taus, weights = [], []
    for chunk in np.array_split(order, bins):
        tau = kendall_tau(measured[chunk], predicted[chunk])
        if len(chunk) >= 3 and not np.isnan(tau):
            taus.append(tau)
            weights.append(len(chunk))
    return float(np.average(taus, weights=weights)) if taus else float("nan")


def report(measured, predicted, spread, by, by_name: str) -> dict[str, float | int | str]:
    measured, predicted, spread, by = (np.asarray(v, dtype=np.float64) for v in (measured, predicted, spread, by))
    err = predicted - measured
    out: dict[str, float | int | str] = {
        "n": int(len(measured)),
        "rmse": float(np.sqrt(np.mean(err ** 2))),
        "mae": float(np.mean(np.abs(err))),
        "kendall_tau": kendall_tau(measured, predicted),
        "spearman": float(stats.spearmanr(measured, predicted).statistic) if len(measured) > 2 else float("nan"),
        "top10_precision": top_precision(measured, predicted),
        "tau_in_bins": tau_in_bins(measured, predicted, by),
        "bins_by": by_name,
    }
    if spread.max(initial=0.0) > 0:  # is the stated uncertainty honest? ~68% within 1 sd if it is
        out["mean_spread"] = float(spread.mean())
        out["within_1_spread"] = float(np.mean(np.abs(err) <= spread))
    return out


def plot_predictions(measured, predicted, spread, path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(4.8, 4.5), dpi=120)
    lo, hi = min(np.min(measured), np.min(predicted)) - 1, max(np.max(measured), np.max(predicted)) + 1
    ax.plot([lo, hi], [lo, hi], color="0.6", lw=0.8, ls="--", label="predicted = measured")
    ax.errorbar(measured, predicted, yerr=spread if np.max(spread, initial=0) > 0 else None, fmt="o", ms=3,
                alpha=0.7, elinewidth=0.6, label="held-out subnets")
    ax.set_xlabel("measured top-1 (%)")
    ax.set_ylabel("predicted top-1 (%)")
    ax.set_title(title, fontsize=8)
    ax.legend(fontsize=7)
    fig.tight_layout()
    save_figure(fig, path)
    plt.close(fig)
