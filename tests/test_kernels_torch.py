"""The kernels against PyTorch autograd and torch.optim (skipped without PyTorch)."""

import numpy as np
import pytest
from numpy.testing import assert_allclose

from fastdense import kernels

torch = pytest.importorskip("torch")

TORCH_ACTIVATIONS = {
    "relu": torch.relu,
    "leaky_relu": lambda z: torch.nn.functional.leaky_relu(z, 0.1),
    "tanh": torch.tanh,
    "sigmoid": torch.sigmoid,
    "identity": lambda z: z,
}
DTYPES = [np.float32, np.float64]
SHAPES = [(1, 1, 1), (1, 5, 2), (13, 1, 6), (40, 23, 1), (128, 300, 64)]


def assert_close(actual, desired, dtype):
    """Relative to the array's scale, so entries that cancel to ~0 don't fail."""
    desired = np.asarray(desired, dtype=np.float64)
    rtol = 1e-4 if dtype == np.float32 else 1e-10
    assert_allclose(actual, desired, rtol=rtol, atol=rtol * np.max(np.abs(desired), initial=1.0))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("activation", list(TORCH_ACTIVATIONS))
@pytest.mark.parametrize("shape", SHAPES)
def test_dense_layer_matches_autograd(shape, activation, dtype):
    m, n_in, n_out = shape
    rng = np.random.default_rng(0)
    X, W, b, dA = (
        rng.standard_normal(s).astype(dtype)
        for s in ((m, n_in), (n_out, n_in), (n_out,), (m, n_out))
    )
    Xt, Wt, bt = (torch.tensor(a, requires_grad=True) for a in (X, W, b))
    At = TORCH_ACTIVATIONS[activation](torch.nn.functional.linear(Xt, Wt, bt))
    At.backward(torch.tensor(dA))

    A = kernels.dense_forward(X, W, b, activation, negative_slope=0.1)
    dX, dW, db = kernels.dense_backward(dA, X, W, A, activation, negative_slope=0.1)
    assert_close(A, At.detach().numpy(), dtype)
    assert_close(dX, Xt.grad.numpy(), dtype)
    assert_close(dW, Wt.grad.numpy(), dtype)
    assert_close(db, bt.grad.numpy(), dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("pos_weight", [None, 0.3, 4.0])
def test_bce_with_logits_matches_torch(dtype, reduction, pos_weight):
    rng = np.random.default_rng(1)
    Z = (rng.standard_normal((50, 1)) * 6).astype(dtype)
    y = (rng.random((50, 1)) < 0.5).astype(dtype)
    Zt = torch.tensor(Z, requires_grad=True)
    pw = None if pos_weight is None else torch.tensor([pos_weight], dtype=Zt.dtype)
    lt = torch.nn.functional.binary_cross_entropy_with_logits(
        Zt, torch.tensor(y), pos_weight=pw, reduction=reduction
    )
    lt.sum().backward()
    loss, dZ = kernels.bce_with_logits(Z, y, pos_weight=pos_weight, reduction=reduction)
    assert_close(loss, lt.detach().numpy(), dtype)
    assert_close(dZ, Zt.grad.numpy(), dtype)


def test_bce_weight_sum_reduction_matches_torch_weight():
    """PyTorch's `weight` with reduction="sum" is our sample_weight with "sum"."""
    rng = np.random.default_rng(2)
    Z, y, w = rng.standard_normal(30), (rng.random(30) > 0.5) * 1.0, rng.random(30)
    Zt = torch.tensor(Z, requires_grad=True)
    lt = torch.nn.functional.binary_cross_entropy_with_logits(
        Zt, torch.tensor(y), weight=torch.tensor(w), reduction="sum"
    )
    lt.backward()
    loss, dZ = kernels.bce_with_logits(Z, y, sample_weight=w, reduction="sum")
    assert_allclose(loss, lt.item(), rtol=1e-12)
    assert_allclose(dZ, Zt.grad.numpy(), rtol=1e-12)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(
    "config",
    [
        dict(),
        dict(momentum=0.9),
        dict(momentum=0.9, nesterov=True),
        dict(momentum=0.7, dampening=0.2, weight_decay=0.05),
        dict(momentum=0.9, maximize=True),
    ],
)
def test_torch_sgd_step_matches_torch_optim(dtype, config):
    rng = np.random.default_rng(3)
    p = rng.standard_normal(31).astype(dtype)
    pt = torch.nn.Parameter(torch.tensor(p.copy()))
    opt = torch.optim.SGD([pt], lr=0.05, **config)
    buf = np.zeros_like(p)
    for step in range(25):
        g = rng.standard_normal(31).astype(dtype)
        pt.grad = torch.tensor(g)
        opt.step()
        kernels.torch_sgd_step(p, g, buf, lr=0.05, first_step=step == 0, **config)
    assert_close(p, pt.detach().numpy(), dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(
    "config",
    [
        dict(),
        dict(weight_decay=0.1),
        dict(amsgrad=True),
        dict(maximize=True),
        dict(weight_decay=0.1, decoupled_weight_decay=True),
    ],
)
def test_torch_adam_step_matches_torch_optim(dtype, config):
    rng = np.random.default_rng(4)
    p = rng.standard_normal(29).astype(dtype)
    pt = torch.nn.Parameter(torch.tensor(p.copy()))
    torch_config = dict(config)
    opt_cls = (
        torch.optim.AdamW if torch_config.pop("decoupled_weight_decay", False) else torch.optim.Adam
    )
    if opt_cls is torch.optim.AdamW:
        torch_config.setdefault("weight_decay", 0.1)
    opt = opt_cls([pt], lr=0.01, betas=(0.8, 0.95), eps=1e-7, **torch_config)
    state = [np.zeros_like(p) for _ in range(3)]
    for step in range(1, 26):
        g = rng.standard_normal(29).astype(dtype)
        pt.grad = torch.tensor(g)
        opt.step()
        kernels.torch_adam_step(
            p, g, *state, step=step, lr=0.01, beta1=0.8, beta2=0.95, eps=1e-7, **config
        )
    assert_close(p, pt.detach().numpy(), dtype)
