"""One training step by the sandwich rule with in-place distillation: the largest subnet of the
phase learns from the labels, the smallest (where the phase says so) and N random subnets learn
from its detached output (or an external teacher's). Every rank draws the same subnets from a
generator seeded by (seed, step), so no communication is needed for it."""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

from ofa.errors import OfaError
from ofa.spaces import Space, sample_subnet
from ofa.layers.residual import set_drop_connect
from ofa.train.bn_calibration import resize
from ofa.train.losses import distill_loss, label_smoothing_ce
from ofa.train.recipe import Phase, Recipe


def regularize(model: nn.Module, recipe: Recipe, on: bool) -> None:
    """The space's dropout and the recipe's drop-connect, on or off."""
    model.head.dropout.p = model.space.dropout if on else 0.0
    set_drop_connect(model, recipe.drop_connect if on else 0.0)


def sandwich_step(recipe: Recipe, model: nn.Module, net: nn.Module, teacher: nn.Module | None, phase: Phase,
                  phase_space: Space, x: torch.Tensor, y: torch.Tensor,
                  optimizer: torch.optim.Optimizer, autocast, global_step: int) -> dict[str, float]:
    """One optimizer step; returns the losses: `loss_max`, `loss_min` (the smallest subnet's, only
    where the phase trains it), `loss_subnets` (the mean over every student)."""
    rng = np.random.default_rng([recipe.seed, global_step])
    optimizer.zero_grad(set_to_none=True)
    regularize(model, recipe, True)
    largest = model.set_active(sample_subnet(phase_space, "max"))
    with autocast:
        logits = net(resize(x, largest.resolution)).float()
    loss = label_smoothing_ce(logits, y, recipe.label_smoothing)
    loss.backward()
    out = {"loss_max": loss.item()}
    if teacher is not None:
        with torch.no_grad(), autocast:
            soft = teacher(resize(x, teacher.config.resolution)).float()
    else:
        soft = logits.detach()
    smallest = sample_subnet(phase_space, "min")
    with_smallest = phase.with_smallest and smallest != largest
    students = [smallest] if with_smallest else []
    students += [sample_subnet(phase_space, "uniform", rng) for _ in range(phase.subnets_per_step)]
    if students and recipe.regularize == "largest":
        regularize(model, recipe, False)
    scale = 1.0 if recipe.student_weight is None else recipe.student_weight / max(1, len(students))
    divergences = []
    for subnet in students:
        model.set_active(subnet)
        with autocast:
            logits = net(resize(x, subnet.resolution)).float()
        loss = distill_loss(recipe, logits, soft, y)
        (loss * scale).backward()
        divergences.append(loss.item())
    if recipe.grad_clip > 0:
        torch.nn.utils.clip_grad_value_(model.parameters(), recipe.grad_clip)
    optimizer.step()
    model.set_active(largest)
    if with_smallest:  # a random student that happens to be the smallest is not logged as it
        out["loss_min"] = divergences[0]
    if divergences:
        out["loss_subnets"] = float(np.mean(divergences))
    if not all(math.isfinite(v) for v in out.values()):
        raise OfaError(f"training diverged at step {global_step + 1} (loss {out}); lower the learning rate")
    return out
