"""Distances (F.pairwise_distance, pdist, cosine_similarity, normalize, their modules,
TripletMarginWithDistanceLoss) and the BCE losses' gradients with respect to the target,
against PyTorch: float32 and float64, values and gradients."""

from __future__ import annotations

import numpy as np
import pytest

import fastdense.nn as fnn
import fastdense.nn.functional as FF
import fastdense.torch as ft

torch = pytest.importorskip("torch")
TF = torch.nn.functional

DTYPES = [(np.float32, torch.float32, 1e-5), (np.float64, torch.float64, 1e-12)]


def _pair(a, dtype, tdtype):
    f = ft.tensor(a.astype(dtype), requires_grad=True)
    t = torch.tensor(a, dtype=tdtype, requires_grad=True)
    return f, t


def _check(f_out, t_out, f_in, t_in, tol, seed=0):
    np.testing.assert_allclose(f_out.detach().numpy(), t_out.detach().numpy(), rtol=tol, atol=tol)
    g = np.random.default_rng(seed).standard_normal(tuple(t_out.shape))
    t_grads = torch.autograd.grad(t_out, t_in, torch.tensor(g, dtype=t_out.dtype))
    (f_out * ft.tensor(g.astype(f_out.numpy().dtype))).sum().backward()
    for f, tg in zip(f_in, t_grads):
        np.testing.assert_allclose(f.grad.numpy(), tg.numpy(), rtol=10 * tol, atol=10 * tol)


@pytest.mark.parametrize("dtype,tdtype,tol", DTYPES)
@pytest.mark.parametrize("swap", [False, True])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_triplet_with_distance_module_and_custom_distance(dtype, tdtype, tol, swap, reduction):
    rng = np.random.default_rng(1)
    arrs = [rng.standard_normal((6, 4)) for _ in range(3)]
    fs, ts = zip(*(_pair(a, dtype, tdtype) for a in arrs))
    for f_dist, t_dist in (
        (None, None),
        (fnn.PairwiseDistance(p=1.0), torch.nn.PairwiseDistance(p=1.0)),
        (
            lambda x, y: 1 - FF.cosine_similarity(x, y),
            lambda x, y: 1 - TF.cosine_similarity(x, y),
        ),
    ):
        for f in fs:
            f.grad = None
        f_loss = fnn.TripletMarginWithDistanceLoss(
            distance_function=f_dist, margin=0.7, swap=swap, reduction=reduction
        )(*fs)
        t_loss = torch.nn.TripletMarginWithDistanceLoss(
            distance_function=t_dist, margin=0.7, swap=swap, reduction=reduction
        )(*ts)
        _check(f_loss, t_loss, fs, ts, tol)


def test_triplet_with_distance_errors():
    with pytest.raises(ValueError, match="margin to be greater than 0"):
        fnn.TripletMarginWithDistanceLoss(margin=0)
    with pytest.raises(RuntimeError, match="same number of dimensions"):
        FF.triplet_margin_with_distance_loss(ft.ones(2, 3), ft.ones(2, 3), ft.ones(3))


@pytest.mark.parametrize("dtype,tdtype,tol", DTYPES)
def test_distance_modules_broadcast_and_eps(dtype, tdtype, tol):
    rng = np.random.default_rng(2)
    a, b = rng.standard_normal((5, 1, 3)) * 0.1, rng.standard_normal((4, 3)) * 0.1
    (fa, ta), (fb, tb) = _pair(a, dtype, tdtype), _pair(b, dtype, tdtype)
    _check(
        fnn.CosineSimilarity(dim=-1, eps=0.2)(fa, fb),
        torch.nn.CosineSimilarity(dim=-1, eps=0.2)(ta, tb),
        (fa, fb),
        (ta, tb),
        tol,
    )
    fa.grad = fb.grad = None
    _check(
        fnn.PairwiseDistance(p=3.0, eps=0.01, keepdim=True)(fa, fb),
        torch.nn.PairwiseDistance(p=3.0, eps=0.01, keepdim=True)(ta, tb),
        (fa, fb),
        (ta, tb),
        tol,
    )
    assert ft.cosine_similarity is FF.cosine_similarity and ft.pdist is FF.pdist


@pytest.mark.parametrize("dtype,tdtype,tol", DTYPES)
def test_pdist_with_equal_rows_and_normalize_out(dtype, tdtype, tol):
    a = np.array([[1.0, 2.0], [1.0, 2.0], [0.0, -1.0], [3.0, 0.5]])
    for p in (0.0, 1.0, 2.0, 1.5, np.inf):
        fa, ta = _pair(a, dtype, tdtype)
        _check(FF.pdist(fa, p), TF.pdist(ta, p), (fa,), (ta,), tol)
    with pytest.raises(RuntimeError, match="2D"):
        FF.pdist(ft.ones(3))
    with pytest.raises(RuntimeError, match="non-negative"):
        FF.pdist(ft.ones(3, 2), -1.0)
    out = ft.zeros(4, 2, dtype=ft.tensor(a.astype(dtype)).dtype)
    res = FF.normalize(ft.tensor(a.astype(dtype)), p=1.0, dim=0, out=out)
    assert res is out
    np.testing.assert_allclose(out.numpy(), TF.normalize(torch.tensor(a), p=1.0, dim=0), rtol=tol)


@pytest.mark.parametrize("dtype,tdtype,tol", DTYPES)
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("logits", [True, False])
def test_bce_target_gradient_with_weight_and_pos_weight(dtype, tdtype, tol, reduction, logits):
    rng = np.random.default_rng(3)
    z = rng.standard_normal((5, 3))
    x = z if logits else 1 / (1 + np.exp(-z))
    y, w, pw = rng.uniform(size=(5, 3)), rng.uniform(0.5, 2, size=(1, 3)), rng.uniform(1, 3, 3)
    (fx, tx), (fy, ty) = _pair(x, dtype, tdtype), _pair(y, dtype, tdtype)
    fw, tw = ft.tensor(w.astype(dtype)), torch.tensor(w, dtype=tdtype)
    if logits:
        f_out = FF.binary_cross_entropy_with_logits(
            fx, fy, fw, reduction=reduction, pos_weight=ft.tensor(pw.astype(dtype))
        )
        t_out = TF.binary_cross_entropy_with_logits(
            tx, ty, tw, reduction=reduction, pos_weight=torch.tensor(pw, dtype=tdtype)
        )
    else:
        f_out = FF.binary_cross_entropy(fx, fy, fw, reduction=reduction)
        t_out = TF.binary_cross_entropy(tx, ty, tw, reduction=reduction)
    _check(f_out, t_out, (fx, fy), (tx, ty), 10 * tol)


def test_slice_copy_values_grad_and_step_error():
    a = np.arange(24.0).reshape(2, 3, 4)
    fa, ta = _pair(a, np.float64, torch.float64)
    _check(
        ft.slice_copy(fa, 2, -3, None, 2),
        torch.slice_copy(ta, 2, -3, None, 2),
        (fa,),
        (ta,),
        1e-12,
    )
    with pytest.raises(RuntimeError, match="step must be positive"):
        ft.slice_copy(fa, 0, 0, 1, 0)
