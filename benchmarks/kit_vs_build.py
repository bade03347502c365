"""A measuring kit against `ofa latency build` on one machine: the kit is written, its runner times
it in a process where ofa and torch cannot be imported, and the results are imported; the same
table is built in-process. Both then predict the same random subnets, measured end to end.

    taskset -c 0 python benchmarks/kit_vs_build.py --work /tmp/kit-bench --out bench-kit.json
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from ofa.devices import get_device
from ofa.latency.build import build_table, resolutions_for
from ofa.latency.importers import import_table
from ofa.latency.kit import write_kit
from ofa.latency.measure import measure_subnets
from ofa.latency.predict import LatencyPredictor
from ofa.latency.validate import Accuracy
from ofa.spaces import get_space, sample_subnet


def probe(space, profile) -> float:
    """The largest subnet's time now: this VM's speed jumps between regimes for minutes at a time,
    so each phase records the regime it ran in."""
    return measure_subnets(space, [sample_subnet(space, "max")], profile, 1000)[0]


def timed(f):
    start = time.perf_counter()
    out = f()
    return out, time.perf_counter() - start


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--work", type=Path, required=True)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--space", default="mbv3-w1.0")
    ap.add_argument("-n", type=int, default=60, help="validation subnets")
    args = ap.parse_args()
    profile, space = get_device(args.device), get_space(args.space)
    resolutions = resolutions_for(space, profile, None)
    args.work.mkdir(parents=True, exist_ok=True)
    kit = args.work / "kit"
    probes = {"start": probe(space, profile)}
    doc, kit_s = timed(lambda: write_kit(kit, profile, space, resolutions, 1000, force=True))
    shipped = sum(f.stat().st_size for f in kit.rglob("*") if f.is_file()) / 1e6  # before the runner adds weights
    blocked = ("import sys, runpy; sys.modules['ofa'] = None; sys.modules['torch'] = None; "
               f"sys.argv = ['run_kit.py', '--quiet']; runpy.run_path({str(kit / 'run_kit.py')!r}, run_name='__main__')")
    run, run_s = timed(lambda: subprocess.run([sys.executable, "-c", blocked], capture_output=True, text=True))
    if run.returncode:
        sys.exit(f"runner failed: {run.stderr.strip()}")
    probes["after the kit ran"] = probe(space, profile)
    imported, import_s = timed(lambda: import_table("kit", [kit / "results.json"], profile, space))
    (built, _), build_s = timed(lambda: build_table(args.work / "built.json", profile, space, force=True))
    probes["after the build"] = probe(space, profile)
    rng = np.random.default_rng(7)
    sub = space.restrict(resolutions=resolutions)
    subnets = [sample_subnet(sub, "uniform", rng) for _ in range(args.n)]
    measured, measure_s = timed(lambda: np.asarray(measure_subnets(space, subnets, profile, 1000)))
    probes["after validation"] = probe(space, profile)
    kit_ms = LatencyPredictor(imported, space).predict(subnets)
    built_ms = LatencyPredictor(built, space).predict(subnets)
    report = {
        "device": profile.name, "space": space.name, "resolutions": resolutions, "models": len(doc["models"]),
        "kit_mb": shipped, "weights_made_on_the_device_mb": sum(m.get("weights", {}).get("bytes", 0)
                                                                 for m in doc["models"]) / 1e6,
        "seconds": {"write kit": kit_s, "run kit": run_s, "import": import_s, "build in-process": build_s,
                    "validation": measure_s},
        "largest subnet, ms, measured between phases": probes,
        "kit vs measured": Accuracy.of(kit_ms, measured).__dict__,
        "build vs measured": Accuracy.of(built_ms, measured).__dict__,
        "kit vs build": Accuracy.of(kit_ms, built_ms).__dict__,
        "kit vs build, sums of parts (no calibration)": Accuracy.of(
            LatencyPredictor(imported, space).predict(subnets, calibrated=False),
            LatencyPredictor(built, space).predict(subnets, calibrated=False)).__dict__,
    }
    args.out.write_text(json.dumps(report, indent=1))
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
