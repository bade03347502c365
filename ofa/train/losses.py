"""Distillation and classification losses for supernet training.

The alpha-divergence follows AlphaNet (Wang et al., ICML 2021). With p the teacher's and q the
student's class probabilities and w_i = p_i / q_i:

    D_a(p || q) = (sum_i q_i w_i^a - 1) / (a (a - 1))
                = sum_i q_i f_a(w_i),   f_a(w) = (w^a - 1 - a (w - 1)) / (a (a - 1))

The second form adds sum_i q_i (w_i - 1) = 0, so that every term is >= 0 (f_a is convex with
f_a(1) = f_a'(1) = 0). a -> 1 gives KL(p || q) (f = w log w - w + 1), a -> 0 gives KL(q || p)
(f = -log w + w - 1). A negative a punishes a student that is surer than the teacher, a positive
one a student that is less sure; AlphaNet takes, per sample, the larger of D at a_min < 0 and at
a_max > 0.

Gradient wrt the student's logits z (d log q_i / dz = e_i - q):

    dD/dz = -(1/a) sum_i q_i w_i^a (e_i - q)

which is the gradient of the surrogate  -sum_i stop_grad(q_i (w_i^a - 1) / a) log q_i  (the -1
changes nothing, since sum_i q_i (e_i - q) = 0, but gives the smooth a -> 0 limit q_i log w_i).
The weights w^a are clipped at `clip` where they are unbounded: q_i w_i^a = p_i^a q_i^(1-a) is at
most 1 for 0 <= a <= 1, but blows up for a < 0 (teacher near 0) and a > 1 (student near 0).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F
from torch import Tensor

if TYPE_CHECKING:
    from ofa.train.recipe import Recipe

_LIMIT_TOL = 1e-9  # |a| or |a - 1| below this: use the KL limit instead of dividing by ~0


def _value_dtype(t: Tensor) -> torch.dtype:
    """float64 for the logged value where the device has it (MPS has not)."""
    return torch.float32 if t.device.type == "mps" else torch.float64


def _log_probs(student_logits: Tensor, teacher_logits: Tensor, dtype: torch.dtype) -> tuple[Tensor, Tensor]:
    if student_logits.shape != teacher_logits.shape or student_logits.dim() != 2:
        raise ValueError(
            f"expected (batch, classes) logits of equal shape, got {tuple(student_logits.shape)} "
            f"and {tuple(teacher_logits.shape)}"
        )
    log_q = F.log_softmax(student_logits.detach().to(dtype), dim=1)
    log_p = F.log_softmax(teacher_logits.detach().to(dtype), dim=1)
    return log_q, log_p


def alpha_divergence_per_sample(student_logits: Tensor, teacher_logits: Tensor, alpha: float) -> Tensor:
    """True D_alpha(teacher || student) of every sample (no clipping, no gradient), in float64."""
    log_q, log_p = _log_probs(student_logits, teacher_logits, _value_dtype(student_logits))
    q = log_q.exp()
    t = log_p - log_q  # log w
    if abs(alpha - 1.0) < _LIMIT_TOL:
        terms = q * (t.exp() * t - torch.expm1(t))  # KL(p || q): p log w - (p - q)
    elif abs(alpha) < _LIMIT_TOL:
        terms = q * (torch.expm1(t) - t)  # KL(q || p)
    else:
        terms = q * (torch.expm1(alpha * t) - alpha * torch.expm1(t)) / (alpha * (alpha - 1.0))
    return terms.sum(dim=1)


def importance_weights(student_logits: Tensor, teacher_logits: Tensor, alpha: float, clip: float = 5.0) -> Tensor:
    """(p/q)^alpha as used in the gradient: clipped at `clip` for alpha < 0 or alpha > 1."""
    log_q, log_p = _log_probs(student_logits, teacher_logits, torch.float32)
    w_alpha = torch.exp(alpha * (log_p - log_q))
    if alpha < 0 or alpha > 1:
        w_alpha = w_alpha.clamp(max=clip)
    return w_alpha


def _surrogate_per_sample(student_logits: Tensor, teacher_logits: Tensor, alpha: float, clip: float) -> Tensor:
    """Per-sample loss whose gradient wrt the student logits is that of D_alpha (weights clipped)."""
    log_q_grad = F.log_softmax(student_logits.float(), dim=1)
    log_q, log_p = _log_probs(student_logits, teacher_logits, torch.float32)
    if abs(alpha) < _LIMIT_TOL:
        g = log_p - log_q  # lim (w^a - 1) / a = log w
    else:
        g = (importance_weights(student_logits, teacher_logits, alpha, clip) - 1.0) / alpha
    coef = (log_q.exp() * g).detach()
    return -(coef * log_q_grad).sum(dim=1)


def alpha_divergence(
    student_logits: Tensor,
    teacher_logits: Tensor,
    alpha_min: float = -1.0,
    alpha_max: float = 1.0,
    clip: float = 5.0,
) -> Tensor:
    """AlphaNet's adaptive alpha-divergence, batch mean of max(D_alpha_min, D_alpha_max) per sample.

    The returned scalar's value is the true divergence (>= 0, zero when student == teacher: log
    it as is); its gradient is the clipped surrogate's, so `loss.backward()` trains the student.
    The teacher is detached.
    """
    if clip <= 0:
        raise ValueError(f"clip must be positive, got {clip}")
    if alpha_min > alpha_max:
        raise ValueError(f"alpha_min ({alpha_min}) must not exceed alpha_max ({alpha_max})")
    teacher_logits = teacher_logits.detach()
    d_min = alpha_divergence_per_sample(student_logits, teacher_logits, alpha_min)
    d_max = alpha_divergence_per_sample(student_logits, teacher_logits, alpha_max)
    use_min = d_min >= d_max
    value = torch.where(use_min, d_min, d_max).mean()
    s_min = _surrogate_per_sample(student_logits, teacher_logits, alpha_min, clip)
    s_max = _surrogate_per_sample(student_logits, teacher_logits, alpha_max, clip)
    surrogate = torch.where(use_min, s_min, s_max).mean()
    # value of `value`, gradient of `surrogate` (x - x is exactly 0 for finite x)
    return value.to(surrogate.dtype) + (surrogate - surrogate.detach())


def kl_divergence(student_logits: Tensor, teacher_logits: Tensor, temperature: float = 1.0) -> Tensor:
    """KL(p_teacher || q_student) of the tempered distributions, batch mean, times T^2.

    The T^2 factor (Hinton et al., 2015) keeps gradient sizes independent of the temperature;
    at the default T = 1 this is the plain KL. The teacher is detached.
    """
    if temperature <= 0:
        raise ValueError(f"temperature must be positive, got {temperature}")
    log_q = F.log_softmax(student_logits.float() / temperature, dim=1)
    log_p = F.log_softmax(teacher_logits.detach().float() / temperature, dim=1)
    kl = (log_p.exp() * (log_p - log_q)).sum(dim=1).mean()
    return kl * temperature**2


def label_smoothing_ce(logits: Tensor, targets: Tensor, smoothing: float = 0.1) -> Tensor:
    """Cross-entropy against (1 - eps) * one-hot + eps / classes, batch mean.

    `targets` holds class indices, or class probabilities of the logits' shape (e.g. mixup).
    """
    if not 0.0 <= smoothing < 1.0:
        raise ValueError(f"smoothing must be in [0, 1), got {smoothing}")
    log_q = F.log_softmax(logits.float(), dim=1)
    if targets.dtype.is_floating_point:
        if targets.shape != logits.shape:
            raise ValueError(f"soft targets need shape {tuple(logits.shape)}, got {tuple(targets.shape)}")
        soft = targets.float() * (1.0 - smoothing) + smoothing / logits.shape[1]
        return -(soft * log_q).sum(dim=1).mean()
    nll = -log_q.gather(1, targets.long().unsqueeze(1)).squeeze(1)
    uniform = -log_q.mean(dim=1)
    return ((1.0 - smoothing) * nll + smoothing * uniform).mean()


def distill_loss(recipe: "Recipe", logits: torch.Tensor, soft: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """A student's loss as the recipe's `distill` says: alpha-divergence or KL to the teacher's soft
    output, or (kind none) the labels with the recipe's label smoothing."""
    d = recipe.distill
    if d.kind == "alpha":
        return alpha_divergence(logits, soft, d.alpha_min, d.alpha_max, d.clip)
    if d.kind == "kl":
        return kl_divergence(logits, soft, d.temperature)
    return label_smoothing_ce(logits, labels, recipe.label_smoothing)
