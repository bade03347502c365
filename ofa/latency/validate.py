"""How well a table predicts: measure random subnets end to end and compare."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from ofa.devices import DeviceProfile
from ofa.latency.build import Progress, check_same_measurement
from ofa.latency.measure import measure_subnets
from ofa.latency.predict import LatencyPredictor
from ofa.latency.table import LatencyTable
from ofa.spaces import Space, sample_subnet
from ofa.files import save_figure


def kendall_tau(a: np.ndarray, b: np.ndarray) -> float:
    """Kendall's tau-b: the share of pairs that both orderings agree on, ties accounted for."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    i, j = np.triu_indices(len(a), k=1)
    da, db = np.sign(a[i] - a[j]), np.sign(b[i] - b[j])
    pairs_a, pairs_b = np.count_nonzero(da), np.count_nonzero(db)
    if pairs_a == 0 or pairs_b == 0:
        return float("nan")
    return float((da * db).sum() / np.sqrt(pairs_a * pairs_b))


@dataclass(frozen=True)
class Accuracy:
    mape: float  # mean absolute percentage error, %
    within_10pct: float  # share of subnets predicted within +-10%, %
    kendall_tau: float

    @classmethod
    def of(cls, predicted: np.ndarray, measured: np.ndarray) -> "Accuracy":
        rel = np.abs(predicted - measured) / measured
        return cls(float(100 * rel.mean()), float(100 * (rel <= 0.10).mean()), kendall_tau(predicted, measured))


@dataclass
class Validation:
    subnets: list[str]
    measured_ms: list[float]
    summed_ms: list[float]
    calibrated_ms: list[float]
    before: Accuracy
    after: Accuracy | None

    def to_dict(self) -> dict:
        d = asdict(self)
        return d


def validate(table: LatencyTable, space: Space, profile: DeviceProfile, n: int, seed: int = 0,
             progress: Progress | None = None) -> Validation:
    """Measure `n` random subnets (at the table's resolutions) end to end, the same way the
    table's parts were measured."""
    check_same_measurement(table, profile, "the latency table", "rebuild it with --force")
    predictor = LatencyPredictor(table, space)
    rng = np.random.default_rng(seed)
    sub_space = space.restrict(resolutions=table.complete_resolutions)
    subnets = [sample_subnet(sub_space, "uniform", rng) for _ in range(n)]
    measured = measure_subnets(space, subnets, profile, table.num_classes, progress=progress)
    measured_arr = np.asarray(measured)
    summed = predictor.predict(subnets, calibrated=False)
    calibrated = predictor.predict(subnets, calibrated=True)
    return Validation(
        [str(s) for s in subnets], measured, summed.tolist(), calibrated.tolist(),
        Accuracy.of(summed, measured_arr),
        Accuracy.of(calibrated, measured_arr) if table.calibration is not None else None,
    )


def plot_validation(v: Validation, title: str, path: Path) -> Path:
    """Predicted against measured, before and after calibration, with the +-10% band."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    measured = np.asarray(v.measured_ms)
    fig, ax = plt.subplots(figsize=(5.5, 5), dpi=120)
    lo, hi = measured.min() * 0.8, measured.max() * 1.2
    xs = np.linspace(lo, hi, 2)
    ax.plot(xs, xs, "k-", lw=0.8, label="exact")
    ax.fill_between(xs, xs * 0.9, xs * 1.1, color="0.9", label="±10%")
    ax.scatter(measured, v.summed_ms, s=10, alpha=0.6,
               label=f"sum of parts (MAPE {v.before.mape:.1f}%, τ {v.before.kendall_tau:.3f})")
    if v.after is not None:
        ax.scatter(measured, v.calibrated_ms, s=10, alpha=0.6,
                   label=f"calibrated (MAPE {v.after.mape:.1f}%, τ {v.after.kendall_tau:.3f})")
    ax.set_xlabel("measured latency (ms)")
    ax.set_ylabel("predicted latency (ms)")
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=7, loc="upper left")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    save_figure(fig, path)
    plt.close(fig)
    return path
