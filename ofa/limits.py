"""The one place whole numbers from users are checked: every command-line option and every file
field that takes a count or a size names its kind here, so each has a range (a typo of 1e21 images
or -5 classes is one line, not a hang, a traceback or a silently wrong result), and the next option
gets its range by naming a kind."""

from __future__ import annotations

from typing import Any

from ofa.errors import OfaError, shown

LIMITS: dict[str, tuple[int, int]] = {
    "subnets": (1, 1_000_000),           # subnets to sample, measure or collect
    "classes": (1, 100_000),
    "resolution": (8, 4096),             # input pixels per side
    "channels": (1, 65_536),
    "depth": (1, 64),
    "kernel": (1, 31),
    "stride": (1, 2),
    "batch_size": (1, 65_536),
    "images": (1, 100_000_000),          # images for BN re-calibration
    "epochs": (0, 100_000),
    "steps": (0, 1_000_000_000),         # "every N steps" settings; 0 turns them off
    "subnets_per_step": (0, 64),
    "workers": (0, 256),
    "threads": (1, 1024),
    "runs": (0, 1_000_000),              # warm-up and timed runs of a measurement
    "generations": (1, 1_000_000),
    "rounds": (0, 100),                  # search's refine rounds
    "population": (2, 100_000),
    "seed": (0, 2**63 - 1),
    "count": (0, 10**15),                # MACs, parameters, row indices recorded in files
}


def check(value: Any, kind: str, where: str, low: int | None = None) -> int:
    """`value` as an int if it is a whole number in the range of `kind` (from `low` if given),
    else a one-line OfaError naming `where`."""
    lo, hi = LIMITS[kind]
    lo = lo if low is None else low
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        raise OfaError(f"{where}: expected a whole number from {lo:,} to {hi:,}, got {shown(value)}")
    return value
