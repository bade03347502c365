"""The front drawn over a cloud of random subnets: one panel per device (or per cost)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ofa.files import save_figure
from ofa.search.columns import column_device


def plot_front(result, cloud: tuple[np.ndarray, dict[str, np.ndarray]], path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    _, cloud_values = cloud
    costs = [c for c in result.problem.columns if c != "acc"]
    fig, axes = plt.subplots(1, len(costs), figsize=(5.2 * len(costs), 4.2), dpi=120, squeeze=False)
    best = result.best()
    for ax, cost in zip(axes[0], costs):
        scale, unit = (1e6, "M") if cost in ("macs", "params") else (1.0, "ms")
        ax.scatter(cloud_values[cost] / scale, cloud_values["acc"], s=6, color="0.75",
                   label=f"{len(cloud_values['acc'])} random subnets")
        order = np.argsort(result.values[cost]) if len(result.genes) else []
        x, y = result.values.get(cost, np.zeros(0))[order] / scale, result.values.get("acc", np.zeros(0))[order]
        ax.errorbar(x, y, yerr=result.values["acc_std"][order] if len(order) and result.values["acc_std"].max() > 0
                    else None, fmt="-o", ms=3, lw=1, color="tab:blue", ecolor=(0.12, 0.47, 0.71, 0.25),
                    label=f"front ({len(x)} subnets, ± predictor spread)")
        device = column_device(cost)
        if cost in result.problem.budgets:
            limit = result.problem.budgets[cost]
            ax.axvline(limit if device else limit / scale, color="tab:red", lw=0.8, ls="--",
                       label=f"budget {limit:g} ms" if device else f"budget {limit / 1e6:g}M {cost}")
        checked = result.info.get("check", {}).get("points", [])
        if checked:
            where = {p["subnet"]: p for p in result.front()}
            cx = [where[c["subnet"]]["latency_ms"][device] if device else where[c["subnet"]][cost] / scale
                  for c in checked]
            ax.scatter(cx, [c["measured"] for c in checked], marker="x", s=30, color="tab:orange", zorder=4,
                       label=f"measured (--check {len(checked)})")
        if best is not None:
            bx = best["latency_ms"][device] if device else best[cost] / scale
            ax.scatter([bx], [best["accuracy"]], marker="*", s=140, color="tab:red", zorder=5, label="best within budget")
        ax.set_xlabel(f"{device} latency (ms)" if device else f"{cost} ({unit})")
        ax.set_ylabel("predicted top-1 (%)")
        ax.legend(fontsize=7, loc="lower right")
        ax.grid(alpha=0.3)
    fig.suptitle(f"{result.info.get('strategy', '')}: hypervolume {result.hypervolume:.4f}", fontsize=9)
    fig.tight_layout()
    save_figure(fig, path)
    plt.close(fig)
    return path
