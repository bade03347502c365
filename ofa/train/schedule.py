"""Learning rate within a phase: linear warm-up, then cosine decay to zero. A pure function of
the step, so a resumed run needs no scheduler state."""

from __future__ import annotations

import math


def phase_lr(peak: float, step: int, total_steps: int, warmup_steps: int) -> float:
    if warmup_steps and step < warmup_steps:
        return peak * (step + 1) / warmup_steps
    span = max(1, total_steps - warmup_steps)
    progress = min(1.0, (step - warmup_steps) / span)
    return 0.5 * peak * (1 + math.cos(math.pi * progress))
