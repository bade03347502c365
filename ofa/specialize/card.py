"""The model card: what was chosen, what was predicted and what was measured, with the versions
that produced it, as card.json (for scripts) and card.md (for people), plus the Pareto plot."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import numpy as np

from ofa.files import save_figure, write_atomic, write_json
from ofa.search.columns import latency_column

CARD_FORMAT = "ofa-model-card/1"


def versions() -> dict[str, str]:
    """Versions of everything that shaped the exported files."""
    from ofa import __version__

    out = {"ofa": __version__}
    for name in ("torch", "onnx", "onnxruntime", "tensorrt"):
        if importlib.util.find_spec(name) is None:
            out[name] = "not installed"
        else:
            out[name] = getattr(__import__(name), "__version__", "unknown")
    return out


def plot_choice(values: dict[str, np.ndarray], front: np.ndarray, cloud: dict[str, np.ndarray], card: dict,
                path: Path) -> Path:
    """Predicted accuracy against latency on the card's device: random subnets, the front within
    reach, the budget, the chosen subnet, and its measured latency where measured."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    device, lat = card["device"], card["latency"]
    column = latency_column(device)
    fig, ax = plt.subplots(figsize=(6, 4.4), dpi=120)
    ax.scatter(cloud[column], cloud["acc"], s=6, color="0.78", label=f"{len(cloud['acc'])} random subnets")
    ax.plot(values[column][front], values["acc"][front], "-o", ms=3, lw=1, color="tab:blue",
            label=f"front ({len(front)} subnets)")
    ax.axvline(card["budget_ms"], color="tab:red", lw=0.8, ls="--", label=f"budget {card['budget_ms']:g} ms")
    acc = card["accuracy"]["predicted"]
    ax.scatter([lat["predicted_ms"]], [acc], marker="*", s=160, color="tab:red", zorder=5,
               label="chosen (predicted)")
    if lat.get("measured_ms") is not None:
        ax.scatter([lat["measured_ms"]], [acc], marker="x", s=50, color="tab:orange", zorder=6,
                   label=f"chosen, measured {lat['measured_ms']:.3g} ms")
    ax.set_xlabel(f"{device} latency (ms)")
    ax.set_ylabel("predicted top-1 (%)")
    ax.set_title(f"{card['subnet']}", fontsize=7)
    ax.legend(fontsize=7, loc="lower right")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    save_figure(fig, path)
    plt.close(fig)
    return path


def _acc(row: dict | None) -> str:
    return "—" if not row else f"{row['top1']:.2f}% top-1, {row['top5']:.2f}% top-5 ({row['images']} images)"


def budget_text(budget_ms: float, batch_size: int) -> str:
    """A budget as what it bounds: one image, or a whole batch (throughput serving)."""
    if batch_size == 1:
        return f"{budget_ms:g} ms per image (batch 1)"
    return f"{budget_ms:g} ms per batch of {batch_size} images, {budget_ms / batch_size:.3g} ms per image"


def card_markdown(card: dict[str, Any]) -> str:
    a, lat, ex = card["accuracy"], card["latency"], card["export"]
    err = lat.get("table_error")
    table_err = (f"MAPE {err['mape']:.1f}%, {err['within_10pct']:.0f}% within ±10% ({err['subnets']} subnets)"
                 if err else "no validation report")
    measured = (f"{lat['measured_ms']:.3f} ms ({lat['measured_how']})" if lat.get("measured_ms") is not None
                else f"not measured: {lat['why_not_measured']}")
    rows = [
        ("device", f"{card['device']} (budget {budget_text(card['budget_ms'], card.get('batch_size', 1))})"),
        ("subnet", f"`{card['subnet']}`"),
        ("resolution", f"{card['resolution']} px"),
        ("MACs / params", f"{card['macs'] / 1e6:.2f} M / {card['params'] / 1e6:.3f} M"),
        ("predicted accuracy", f"{a['predicted']:.2f}% ± {a['predicted_std']:.2f} (predictor spread)"),
        ("measured, BN re-calibrated", _acc(a["bn_calibrated"]) if a["bn_calibrated"] else
         "not measured: no labelled data was given (--data), so the accuracy above is predicted only"),
        ("BatchNorm statistics", a.get("bn_calibration", "—")),
        (f"measured, fine-tuned {a['finetune_epochs']} epochs", _acc(a.get("finetuned"))),
        ("predicted latency", f"{lat['predicted_ms']:.3f} ms (table error: {table_err})"),
        ("latency table", lat.get("table_source", "—")),
        ("measured latency", measured),
        ("ONNX check", f"max |ONNX Runtime - PyTorch| = {ex['onnx']['verification']['max_abs_diff']:.2e} "
                       f"(allowed {ex['onnx']['verification']['atol']} + {ex['onnx']['verification']['rtol']} x |logit|)"),
        ("TensorRT", "engine built here (model.engine)" if ex["tensorrt"]["engine_built_here"]
         else "run build_engine.sh on the target"),
        ("versions", ", ".join(f"{k} {v}" for k, v in card["versions"].items())),
    ]
    lines = [f"# {card['label']}", "", "| | |", "| --- | --- |"]
    lines += [f"| {k} | {v} |" for k, v in rows if not (k.startswith("measured, fine") and not a["finetune_epochs"])]
    if len(lat.get("attempts", [])) > 1:
        lines += ["", ("Closed loop: subnets measured here, most accurate first until one fitted (and, where that one "
                  "left a tenth of the budget unused, one more accurate subnet the measurement said might fit):"), ""]
        lines += [f"- `{t['subnet']}`: predicted {t['predicted_ms']:.3f} ms, measured {t['measured_ms']:.3f} ms"
                  for t in lat["attempts"]]
    lines += ["", "![Pareto front and chosen subnet](pareto.png)", "",
              f"Files: {', '.join(sorted(ex['files'].values()))}. Supernet: {card['supernet']['run']}."]
    return "\n".join(lines) + "\n"


def write_card(folder: Path, card: dict[str, Any]) -> list[Path]:
    write_json(folder / "card.json", {"format": CARD_FORMAT, **card})
    write_atomic(folder / "card.md", card_markdown(card))
    return [folder / "card.json", folder / "card.md"]
