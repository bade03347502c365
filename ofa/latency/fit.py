"""A few-shot device model: a latency table for a device ofa cannot run on, fitted from K whole
subnets measured there (a phone's benchmark tool, `trtexec`, a kit's runner).

The model is linear in features that add up over a subnet's parts (ofa.latency.features: another
device's table, MACs, weights, activations, layers, parts), fitted to relative error with no
part's time below 0, so each part's fitted time is its features times the weights and the fitted
model *is* a lookup table: search, specialize, validate and the model card take it as they take a
measured one. Which features to use is chosen by leave-one-out error over a few nested sets, kept
small enough for K; numpy's least squares, else scipy's `nnls`, does each fit.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field
from typing import Sequence

import numpy as np

from ofa import __version__
from ofa.devices import DeviceProfile
from ofa.errors import OfaError
from ofa.latency.features import PRIOR, UNITS, FeatureLayout, feature_layout
from ofa.latency.host import is_local, this_host
from ofa.latency.table import Calibration, LatencyTable
from ofa.spaces import Space, Subnet

MIN_MEASUREMENTS = 4  # the smallest model (one feature and an offset) left out one at a time needs 4
# Feature sets tried, smallest first; a set is tried when K leaves two measurements per coefficient
# less one (its weights and the offset).
WITH_PRIOR = (("prior_ms",), ("prior_ms", "parts"), ("prior_ms", "mmacs"), ("prior_ms", "mmacs", "dw_mmacs"),
              ("prior_ms", "mmacs", "dw_mmacs", "layers"), ("prior_ms", "mmacs", "dw_mmacs", "mactivations", "layers"),
              ("prior_ms", "mmacs", "dw_mmacs", "mparams", "mactivations", "layers", "parts"))
ANALYTIC_ONLY = (("mmacs",), ("mmacs", "parts"), ("mmacs", "layers"), ("mmacs", "dw_mmacs", "layers"),
                 ("mmacs", "dw_mmacs", "mactivations", "layers"), ("mmacs", "dw_mmacs", "mactivations", "layers", "parts"),
                 ("mmacs", "dw_mmacs", "mparams", "mactivations", "layers", "parts"))
BASELINE = ("mmacs", "parts")  # the plain linear fit every report compares with: MACs and block count


@dataclass(frozen=True)
class Errors:
    """How far predictions fall from measurements."""

    mape: float  # %
    within_10pct: float  # % of subnets
    spearman: float

    @classmethod
    def of(cls, predicted: np.ndarray, measured: np.ndarray) -> "Errors":
        from scipy.stats import spearmanr

        rel = np.abs(predicted - measured) / measured
        if len(measured) < 3:
            rho = float("nan")
        elif np.ptp(predicted) == 0:  # one time for every subnet: no order at all
            rho = 0.0
        else:
            rho = float(spearmanr(predicted, measured).statistic)
        return cls(float(100 * rel.mean()), float(100 * (rel <= 0.10).mean()), rho)


@dataclass
class FitReport:
    features: tuple[str, ...]
    weights: dict[str, float]
    offset_ms: float
    measurements: int
    cross_validated: Errors  # leave-one-out, of the chosen feature set
    baseline: Errors  # leave-one-out, plain least squares on MACs and block count
    tried: dict[str, float] = field(default_factory=dict)  # feature set -> leave-one-out MAPE

    def to_dict(self) -> dict:
        return asdict(self)


def fit_relative(x: np.ndarray, y: np.ndarray, parts: np.ndarray | None = None) -> tuple[np.ndarray, float]:
    """Weights and an offset minimising the squared *relative* error (a 10% miss counts the same on
    a small subnet as on a large one). Weights of either sign where every part's time (`parts`, its
    features per row) stays at or above 0: a negative weight on depthwise MACs says the device runs
    them cheaper than other MACs, and at batch 32 that put 93% of held-out subnets within 10%, not
    90% (BENCHMARKS.md). Else non-negative weights (scipy's `nnls`)."""
    from scipy.optimize import nnls

    a = np.hstack([x, np.ones((len(y), 1))]) / y[:, None]
    scale = np.abs(a).max(axis=0)
    scale[scale == 0] = 1.0
    if parts is not None:
        coef = np.linalg.lstsq(a / scale, np.ones(len(y)), rcond=None)[0] / scale
        if (parts @ coef[:-1] >= 0).all():
            return coef[:-1], float(coef[-1])
    a = np.hstack([a, -a[:, -1:]])  # the offset as the difference of two non-negative numbers
    scale = np.append(scale, scale[-1])
    coef = nnls(a / scale, np.ones(len(y)), maxiter=50 * a.shape[1])[0] / scale
    return coef[:-2], float(coef[-2] - coef[-1])


def fit_plain(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, float]:
    """Ordinary least squares with an offset: the baseline."""
    coef = np.linalg.lstsq(np.hstack([x, np.ones((len(y), 1))]), y, rcond=None)[0]
    return coef[:-1], float(coef[-1])


def leave_one_out(x: np.ndarray, y: np.ndarray, fit=fit_relative, **kw) -> np.ndarray:
    """Each measurement predicted by the model fitted on all the others."""
    out = np.empty(len(y))
    for i in range(len(y)):
        keep = np.arange(len(y)) != i
        w, b = fit(x[keep], y[keep], **kw)
        out[i] = x[i] @ w + b
    return out


def choose_features(layout: FeatureLayout, x: np.ndarray, y: np.ndarray) -> tuple[tuple[str, ...], dict[str, float]]:
    """The feature set with the smallest leave-one-out MAPE (the smaller set on a tie)."""
    sets = WITH_PRIOR if PRIOR in layout.names else ANALYTIC_ONLY
    tried: dict[str, float] = {}
    best, best_mape = sets[0], np.inf
    for names in sets:
        if len(names) + 1 > len(y) - 2:
            break
        cols = layout.columns(names)
        mape = float(100 * np.mean(np.abs(leave_one_out(x[:, cols], y, parts=layout.matrix[:, cols]) - y) / y))
        tried["+".join(names)] = mape
        if mape < best_mape - 1e-9:
            best, best_mape = names, mape
    return best, tried


def check_count(n: int) -> None:
    if n < MIN_MEASUREMENTS:
        raise OfaError(f"{n} measured subnets; a device model needs at least {MIN_MEASUREMENTS} "
                       f"(20 predict within about 10%: see `ofa latency fit --help`)")


def fit_model(layout: FeatureLayout, x: np.ndarray, y: np.ndarray) -> FitReport:
    """The device model for subnets of features `x` measured `y` ms: features chosen by leave-one-out
    error, weights refitted on all of them; with the plain baseline's error beside it."""
    check_count(len(y))
    names, tried = choose_features(layout, x, y)
    cols, parts = layout.columns(names), layout.matrix[:, layout.columns(names)]
    weights, offset = fit_relative(x[:, cols], y, parts)
    base = x[:, layout.columns(BASELINE)]
    return FitReport(names, {n: float(w) for n, w in zip(names, weights)}, offset, len(y),
                     Errors.of(leave_one_out(x[:, cols], y, parts=parts), y),
                     Errors.of(leave_one_out(base, y, fit_plain), y), tried)


def predict(layout: FeatureLayout, report: FitReport, x: np.ndarray) -> np.ndarray:
    """Latency in ms of subnets of features `x` by a fitted model."""
    return x[:, layout.columns(report.features)] @ np.asarray(list(report.weights.values())) + report.offset_ms


def fit_device(space: Space, profile: DeviceProfile, subnets: Sequence[Subnet], measured_ms: Sequence[float],
               num_classes: int, resolutions: list[int], prior: LatencyTable | None = None,
               source: dict | None = None) -> tuple[LatencyTable, FitReport]:
    """A table for `profile` from whole subnets measured on it: each part's entry is its features
    times the fitted weights, the offset is its calibration."""
    y = np.asarray(measured_ms, dtype=float)
    check_count(len(y))
    layout = feature_layout(space, resolutions, num_classes, profile.batch_size, prior)
    x = layout.of(list(subnets))
    report = fit_model(layout, x, y)
    cols = layout.columns(report.features)
    weights = np.asarray(list(report.weights.values()))
    stat = f"{profile.statistic}_ms"
    entries = {key: {stat: float(max(0.0, f[cols] @ weights))} for key, f in layout.parts.items()}
    summed = x[:, cols] @ weights
    provenance = {
        "source": f"fitted from {len(y)} subnets measured on the device", "backend": "fitted",
        "profile": profile.to_dict(), "measurements": len(y), "measured": source or {},
        "prior": None if prior is None else {"device": prior.device, "space": prior.space,
                                             "batch_size": prior.batch_size},
        "fit": report.to_dict(), "units": {n: UNITS[n] for n in report.features},
        "ofa_version": __version__, "created": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        # the device's own measurements fit it: on a device that is this machine, it needs no recalibration
        "calibrated_on": this_host() if is_local(profile) else {"host": None, "cpu": None, "machine": None},
    }
    table = LatencyTable(profile.name, space.name, space.fingerprint(), num_classes, profile.batch_size,
                         sorted(resolutions), provenance, entries, statistic=profile.statistic,
                         calibration=Calibration(1.0, report.offset_ms, tuple(
                             (str(s), float(a), float(b)) for s, a, b in zip(subnets, summed, y))))
    return table, report
