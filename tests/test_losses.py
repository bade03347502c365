"""Losses: the alpha-divergence's logged value is the true divergence, its gradient the true one."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from ofa.train.losses import (
    alpha_divergence,
    alpha_divergence_per_sample,
    importance_weights,
    kl_divergence,
    label_smoothing_ce,
)


def _logits(seed, batch=6, classes=5, scale=1.0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(batch, classes, generator=g) * scale


def _d_alpha_numpy(student, teacher, alpha):
    """D_alpha(p || q) per sample straight from the definition, float64."""
    s, t = student.double().numpy(), teacher.double().numpy()
    q = np.exp(s - s.max(1, keepdims=True)); q /= q.sum(1, keepdims=True)
    p = np.exp(t - t.max(1, keepdims=True)); p /= p.sum(1, keepdims=True)
    return ((p**alpha * q ** (1 - alpha)).sum(1) - 1) / (alpha * (alpha - 1))


def _d_alpha_torch(student, teacher, alpha):
    """Differentiable D_alpha from the definition (float64, no clipping), per sample."""
    log_q = F.log_softmax(student, dim=1)
    log_p = F.log_softmax(teacher, dim=1)
    return (torch.exp(alpha * log_p + (1 - alpha) * log_q).sum(1) - 1) / (alpha * (alpha - 1))


def _kl(log_a, log_b):
    return (log_a.exp() * (log_a - log_b)).sum(1)


def test_value_is_the_divergence_from_the_formula():
    s, t = _logits(0), _logits(1)
    for alpha in (-1.0, -0.5, 0.3, 0.7, 1.5, 2.0):
        got = alpha_divergence_per_sample(s, t, alpha).numpy()
        np.testing.assert_allclose(got, _d_alpha_numpy(s, t, alpha), rtol=1e-6, atol=1e-9)
    want = np.maximum(_d_alpha_numpy(s, t, -1.0), _d_alpha_numpy(s, t, 1.0 - 1e-7)).mean()
    assert alpha_divergence(s, t).item() == pytest.approx(want, rel=1e-5)


def test_nonnegative_and_zero_when_equal():
    for seed, scale in ((2, 1.0), (3, 4.0), (4, 10.0)):
        s, t = _logits(seed, 16, 10, scale), _logits(seed + 100, 16, 10, scale)
        assert alpha_divergence(s, t).item() > 0
        for alpha in (-2.0, -1.0, 0.0, 0.5, 1.0, 3.0):
            assert (alpha_divergence_per_sample(s, t, alpha) >= 0).all()
    s = _logits(5, 8, 10, 3.0).requires_grad_()
    loss = alpha_divergence(s, s.detach().clone())
    assert loss.item() == pytest.approx(0.0, abs=1e-12)
    loss.backward()
    assert s.grad.abs().max().item() < 1e-6
    assert kl_divergence(s, s).item() == pytest.approx(0.0, abs=1e-7)


def test_kl_limits():
    s, t = _logits(6), _logits(7)
    log_q, log_p = F.log_softmax(s.double(), 1), F.log_softmax(t.double(), 1)
    kl_pq, kl_qp = _kl(log_p, log_q), _kl(log_q, log_p)
    torch.testing.assert_close(alpha_divergence_per_sample(s, t, 1.0), kl_pq)
    torch.testing.assert_close(alpha_divergence_per_sample(s, t, 0.0), kl_qp)
    torch.testing.assert_close(alpha_divergence_per_sample(s, t, 1.0 - 1e-6), kl_pq, rtol=1e-4, atol=1e-8)
    torch.testing.assert_close(alpha_divergence_per_sample(s, t, 1.0 + 1e-6), kl_pq, rtol=1e-4, atol=1e-8)
    torch.testing.assert_close(alpha_divergence_per_sample(s, t, 1e-6), kl_qp, rtol=1e-4, atol=1e-8)
    torch.testing.assert_close(alpha_divergence_per_sample(s, t, -1e-6), kl_qp, rtol=1e-4, atol=1e-8)
    # a single alpha of 1 is the plain KL, also through the public loss
    assert alpha_divergence(s, t, 1.0, 1.0).item() == pytest.approx(kl_divergence(s, t).item(), rel=1e-5)


def test_gradient_equals_the_true_divergence_gradient():
    # small logits keep (q/p)^alpha below the clip, where the surrogate is exact
    s, t = _logits(8, 12, 7, 0.4), _logits(9, 12, 7, 0.4)
    assert importance_weights(s, t, -1.0).max() < 5.0
    ref = s.double().requires_grad_()
    d_lo, d_hi = _d_alpha_torch(ref, t.double(), -1.0), _d_alpha_torch(ref, t.double(), 0.999999)
    assert (d_lo > d_hi).any() and (d_lo < d_hi).any()  # both branches are exercised
    torch.maximum(d_lo, d_hi).mean().backward()

    student = s.clone().requires_grad_()
    teacher = t.clone().requires_grad_()
    loss = alpha_divergence(student, teacher, -1.0, 0.999999)
    loss.backward()
    torch.testing.assert_close(student.grad.double(), ref.grad, rtol=1e-4, atol=1e-7)
    assert teacher.grad is None
    # and a small step against it lowers the divergence
    assert alpha_divergence(s - 0.5 * student.grad, t).item() < alpha_divergence(s, t).item()


@pytest.mark.parametrize("alpha", [0.0, 1.0, 0.5, 2.0])
def test_gradient_single_alpha(alpha):
    s, t = _logits(10, 5, 6, 0.5), _logits(11, 5, 6, 0.5)
    ref = s.double().requires_grad_()
    log_q, log_p = F.log_softmax(ref, 1), F.log_softmax(t.double(), 1)
    if alpha == 0.0:
        d = _kl(log_q, log_p)
    elif alpha == 1.0:
        d = _kl(log_p, log_q)
    else:
        d = _d_alpha_torch(ref, t.double(), alpha)
    d.mean().backward()
    student = s.clone().requires_grad_()
    alpha_divergence(student, t, alpha, alpha, clip=float("inf")).backward()  # exact without clip
    torch.testing.assert_close(student.grad.double(), ref.grad, rtol=1e-4, atol=1e-7)


def test_clip_bounds_the_weights():
    # the teacher all but rules out class 0, which the student favours: (p/q)^-1 explodes
    s = torch.tensor([[4.0, 0.0, 0.0, 0.0]])
    t = torch.tensor([[-8.0, 1.0, 0.0, 0.0]])
    raw = importance_weights(s, t, -1.0, clip=float("inf"))
    assert raw.max() > 1000
    for clip in (5.0, 2.0):
        assert importance_weights(s, t, -1.0, clip=clip).max().item() == pytest.approx(clip)
    student = s.clone().requires_grad_()
    loss = alpha_divergence(student, t, clip=5.0)
    loss.backward()
    assert torch.isfinite(student.grad).all()
    assert student.grad.abs().max() <= 5.0  # |dD/dz_j| <= q_j * clip / |alpha|
    # the logged value is still the unclipped divergence
    assert loss.item() == pytest.approx(float(_d_alpha_numpy(s, t, -1.0)[0]), rel=1e-5)
    # within [0, 1] the weights are never clipped (the terms q * w^a are bounded there)
    assert importance_weights(s, t, 1.0, clip=2.0).max() > 2.0


def test_kl_divergence_matches_torch():
    s, t = _logits(12), _logits(13)
    want = F.kl_div(F.log_softmax(s, 1), F.log_softmax(t, 1), log_target=True, reduction="batchmean")
    assert kl_divergence(s, t).item() == pytest.approx(want.item(), rel=1e-5)
    want_t = F.kl_div(F.log_softmax(s / 3, 1), F.log_softmax(t / 3, 1), log_target=True, reduction="batchmean")
    assert kl_divergence(s, t, temperature=3.0).item() == pytest.approx(9 * want_t.item(), rel=1e-5)
    teacher = t.clone().requires_grad_()
    kl_divergence(s.requires_grad_(), teacher).backward()
    assert teacher.grad is None


def test_label_smoothing_ce_matches_torch():
    logits, targets = _logits(14, 8, 10), torch.randint(0, 10, (8,), generator=torch.Generator().manual_seed(0))
    for eps in (0.0, 0.1, 0.3):
        want = F.cross_entropy(logits, targets, label_smoothing=eps)
        assert label_smoothing_ce(logits, targets, eps).item() == pytest.approx(want.item(), rel=1e-6)
        soft = F.one_hot(targets, 10).float()
        assert label_smoothing_ce(logits, soft, eps).item() == pytest.approx(want.item(), rel=1e-6)
    with pytest.raises(ValueError):
        label_smoothing_ce(logits, targets, 1.0)


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_cuda_matches_cpu():
    s, t = _logits(15, 8, 10, 2.0), _logits(16, 8, 10, 2.0)
    cpu = s.clone().requires_grad_()
    gpu = s.cuda().requires_grad_()
    want, got = alpha_divergence(cpu, t), alpha_divergence(gpu, t.cuda())
    want.backward(), got.backward()
    assert got.item() == pytest.approx(want.item(), rel=1e-5)
    torch.testing.assert_close(gpu.grad.cpu(), cpu.grad, rtol=1e-4, atol=1e-6)
