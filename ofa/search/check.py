"""`ofa search --check K`: measure real accuracy along the front and set it beside the prediction."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ofa.predictor.accuracy_data import check_supernet, default_data_path, read_accuracy_data, supernet_fingerprint
from ofa.predictor.metrics import kendall_tau
from ofa.search.result import SearchResult
from ofa.spaces import decode


def spread_along(n: int, k: int) -> np.ndarray:
    """k indices evenly spaced over a front of n points (fewer when the front is smaller)."""
    return np.unique(np.linspace(0, n - 1, min(k, n)).round().astype(int)) if n else np.zeros(0, dtype=int)


def check_front(run: Path, result: SearchResult, k: int, data_path: Path | None = None,
                progress=None) -> dict[str, Any]:
    """K front subnets not yet in the predictor's data, measured with the same split and calibration
    as its labels; the rows are appended to the data (source 'check'), so `--refine` can learn
    from them."""
    from ofa.predictor.collect import measure_rows, open_meter

    data = read_accuracy_data(Path(data_path or default_data_path(run)))
    check_supernet(data.supernet, supernet_fingerprint(run), str(data.path))
    s = data.settings
    meter = open_meter(run, s.get("data"), s.get("split", "val"), s.get("calib_images"), calib_data=s.get("calib_data"))
    # only subnets the predictor has not learned from: a measured label it was fitted on says nothing
    space = result.problem.evaluator.space
    seen = data.measured()
    fresh = np.array([i for i, g in enumerate(result.genes) if str(decode(space, g)) not in seen], dtype=int)
    idx = fresh[spread_along(len(fresh), k)]
    subnets = [decode(space, result.genes[i]) for i in idx]
    next_index = 1 + max((int(r.get("index", -1)) for r in data.rows if r.get("source") == "check"), default=-1)
    rows = measure_rows(meter, result.problem.evaluator.costs, subnets, "check", data, next_index, progress)
    predicted = result.values["acc"][idx]
    measured = np.array([r["top1"] for r in rows])
    return {"k": len(rows), "mae": float(np.mean(np.abs(predicted - measured))) if len(rows) else float("nan"),
            "kendall_tau": kendall_tau(measured, predicted),
            "points": [{"subnet": r["subnet"], "predicted": round(float(p), 3),
                        "predicted_std": round(float(result.values["acc_std"][i]), 3), "measured": r["top1"]}
                       for r, p, i in zip(rows, predicted, idx)]}
