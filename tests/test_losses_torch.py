"""Loss gradients and argument forms against PyTorch: ``BCEWithLogitsLoss``'s ``pos_weight``
broadcast to the input as PyTorch broadcasts it, and ``MultiLabelSoftMarginLoss``'s gradient
with respect to a target that requires one."""

import numpy as np
import pytest

import fastdense.torch as ft

torch = pytest.importorskip("torch")

DTYPES = ["float32", "float64"]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(
    "pw_shape", [(3,), (1,), (), (4, 3), (4, 1), (1, 3), (2, 1, 3), (2, 4, 3), (2,), (4,)]
)
@pytest.mark.parametrize("reduction", ["mean", "none"])
def test_bce_with_logits_pos_weight_broadcasts_as_pytorch(pw_shape, dtype, reduction):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 4, 3)).astype(dtype)
    y = rng.random((2, 4, 3)).astype(dtype)
    pw = (rng.random(pw_shape) + 0.5).astype(dtype)

    def run(lib, F):
        xi, yi = lib.tensor(x, requires_grad=True), lib.tensor(y, requires_grad=True)
        try:
            out = F.binary_cross_entropy_with_logits(
                xi, yi, pos_weight=lib.tensor(pw), reduction=reduction
            )
        except RuntimeError:
            return None
        out.sum().backward()
        return out.detach().numpy(), xi.grad.numpy(), yi.grad.numpy()

    theirs = run(torch, torch.nn.functional)
    ours = run(ft, ft.nn.functional)
    if theirs is None:
        assert ours is None, "fastdense accepted a pos_weight PyTorch rejects"
        return
    assert ours is not None, "fastdense rejected a pos_weight PyTorch accepts"
    tol = 1e-5 if dtype == "float32" else 1e-10
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a, b, rtol=tol, atol=tol)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_multilabel_soft_margin_target_gradient_matches_pytorch(dtype, weighted, reduction):
    rng = np.random.default_rng(1)
    x = rng.standard_normal((4, 3)).astype(dtype)
    y = rng.random((4, 3)).astype(dtype)
    w = (rng.random(3) + 0.5).astype(dtype)

    def run(lib, nn):
        xi, yi = lib.tensor(x, requires_grad=True), lib.tensor(y, requires_grad=True)
        loss = nn.MultiLabelSoftMarginLoss(
            weight=lib.tensor(w) if weighted else None, reduction=reduction
        )
        out = loss(xi, yi)
        out.sum().backward()
        return out.detach().numpy(), xi.grad.numpy(), yi.grad.numpy()

    tol = 1e-5 if dtype == "float32" else 1e-10
    for a, b in zip(run(ft, ft.nn), run(torch, torch.nn)):
        np.testing.assert_allclose(a, b, rtol=tol, atol=tol)
