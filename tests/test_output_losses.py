"""The estimators' output layers and losses (``_losses.sklearn_output_loss``), both dtypes:
against the NumPy reference (``_reference.sklearn_output_loss``) and against
PyTorch autograd (cross_entropy, binary_cross_entropy_with_logits, mse_loss,
poisson_nll_loss), through a one-layer network so that dW = X.T @ dZ / S."""

import numpy as np
import pytest

from fastdense import _reference, _train

OUTPUTS = ["logistic", "softmax", "identity", "exp"]


def _problem(output, dtype, k=3, n=17, seed=0):
    rng = np.random.RandomState(seed)
    X = rng.standard_normal((n, 4)).astype(dtype)
    if output == "softmax":
        Y = np.eye(k)[rng.randint(0, k, n)]
    elif output == "logistic":
        Y = (rng.uniform(size=(n, k)) > 0.5) * 1.0
    elif output == "exp":
        Y = rng.poisson(1.5, (n, k)) * 1.0
    else:
        Y = rng.standard_normal((n, k))
    return X, np.ascontiguousarray(Y, dtype=dtype), rng.uniform(0.5, 2, n).astype(dtype)


def _kernel(X, Y, sw, output, params):
    """(loss, grads) of the one-layer network X @ W + b by the compiled loop."""
    net = _train.NetSpec(
        _train.Layout([X.shape[1], Y.shape[1]]), 0, 0.01, _train.OUTPUT_CODES[output]
    )
    dtype = X.dtype
    grads = np.empty(net.layout.n_params, dtype=dtype)
    plan = _train.EpochPlan(
        net,
        X,
        np.zeros(0, dtype),
        np.zeros(0, np.intp),
        np.zeros(0, np.intp),
        Y,
        sw,
        0.0,
        X.shape[0],
        False,
    )
    loss = _train.loss_grad(plan, np.ascontiguousarray(params, dtype=dtype), grads)
    k = Y.shape[1]
    return loss, grads[:-k].reshape(X.shape[1], k), grads[-k:]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("output", OUTPUTS)
@pytest.mark.parametrize("weighted", [False, True])
def test_against_reference(output, dtype, weighted):
    X, Y, sw = _problem(output, dtype)
    params = np.random.RandomState(1).uniform(-1, 1, 4 * 3 + 3)
    sw_k = sw if weighted else np.zeros(0, dtype)
    loss, dW, db = _kernel(X, Y, sw_k, output, params)
    W, b = params[:12].reshape(4, 3).astype(dtype), params[12:].astype(dtype)
    ref_loss, dZ = _reference.sklearn_output_loss(X @ W + b, Y, output, sw if weighted else None)
    S = sw.sum() if weighted else X.shape[0]
    tol = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(loss, ref_loss, rtol=tol)
    np.testing.assert_allclose(dW, X.T @ dZ / S, rtol=tol * 10, atol=tol)
    np.testing.assert_allclose(db, dZ.sum(axis=0) / S, rtol=tol * 10, atol=tol)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("output", OUTPUTS)
def test_against_torch_autograd(output, dtype):
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    X, Y, _ = _problem(output, dtype)
    params = np.random.RandomState(2).uniform(-1, 1, 4 * 3 + 3)
    loss, dW, db = _kernel(X, Y, np.zeros(0, dtype), output, params)
    W = torch.tensor(params[:12].reshape(4, 3), dtype=torch.float64, requires_grad=True)
    b = torch.tensor(params[12:], dtype=torch.float64, requires_grad=True)
    Z = torch.tensor(X, dtype=torch.float64) @ W + b
    Yt = torch.tensor(Y, dtype=torch.float64)
    k = Y.shape[1]
    if output == "softmax":
        t_loss = F.cross_entropy(Z, Yt.argmax(1))
        scale = 1.0  # mean over rows of -log softmax
    elif output == "logistic":
        t_loss = F.binary_cross_entropy_with_logits(Z, Yt) * k  # summed over labels
        scale = 1.0
    elif output == "identity":
        t_loss = F.mse_loss(Z, Yt) * k / 2  # scikit-learn differentiates the sum
        scale = 1.0 / k  # ... but reports the mean over outputs
    else:
        t_loss = F.poisson_nll_loss(Z, Yt, log_input=True) * k
        scale = None  # the deviance adds y log y - y: a constant
    t_loss.backward()
    tol = 2e-5 if dtype == np.float32 else 1e-10
    np.testing.assert_allclose(dW, W.grad.numpy(), rtol=tol, atol=tol)
    np.testing.assert_allclose(db, b.grad.numpy(), rtol=tol, atol=tol)
    if scale is not None:
        np.testing.assert_allclose(loss, t_loss.item() * scale, rtol=tol)


# ------------------------------------------- DenseRegressor's robust losses
# absolute_error and huber: the identity output with PyTorch's L1Loss / HuberLoss
# per element, scaled as squared_error (mean over rows and outputs reported, the
# sum over outputs differentiated: for one output, PyTorch's gradient exactly).

ROBUST = ["absolute_error", "huber"]


def _robust_kernel(X, Y, sw, output, params, delta):
    net = _train.NetSpec(
        _train.Layout([X.shape[1], Y.shape[1]]), 0, 0.01, _train.OUTPUT_CODES[output], delta
    )
    dtype = X.dtype
    grads = np.empty(net.layout.n_params, dtype=dtype)
    plan = _train.EpochPlan(
        net,
        X,
        np.zeros(0, dtype),
        np.zeros(0, np.intp),
        np.zeros(0, np.intp),
        Y,
        sw,
        0.0,
        X.shape[0],
        False,
    )
    loss = _train.loss_grad(plan, np.ascontiguousarray(params, dtype=dtype), grads)
    k = Y.shape[1]
    return loss, grads[:-k].reshape(X.shape[1], k), grads[-k:]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("output", ROBUST)
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("k", [1, 3])
@pytest.mark.parametrize("delta", [0.3, 1.0])
def test_robust_against_reference(output, dtype, weighted, k, delta):
    X, Y, sw = _problem("identity", dtype, k=k)
    params = np.random.RandomState(1).uniform(-1, 1, 4 * k + k)
    sw_k = sw if weighted else np.zeros(0, dtype)
    loss, dW, db = _robust_kernel(X, Y, sw_k, output, params, delta)
    W, b = params[: 4 * k].reshape(4, k).astype(dtype), params[4 * k :].astype(dtype)
    ref_loss, dZ = _reference.sklearn_output_loss(
        X @ W + b, Y, output, sw if weighted else None, huber_delta=delta
    )
    S = sw.sum() if weighted else X.shape[0]
    tol = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(loss, ref_loss, rtol=tol)
    np.testing.assert_allclose(dW, X.T @ dZ / S, rtol=tol * 10, atol=tol)
    np.testing.assert_allclose(db, dZ.sum(axis=0) / S, rtol=tol * 10, atol=tol)
    # the validation loss's entry point runs the same kernel on given logits
    z = np.ascontiguousarray(X @ W + b)
    np.testing.assert_allclose(
        _train.output_loss(_train.OUTPUT_CODES[output], z, Y, sw_k, delta), ref_loss, rtol=tol
    )


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("output", ROBUST)
@pytest.mark.parametrize("k", [1, 3])
def test_robust_against_torch(output, dtype, k):
    torch = pytest.importorskip("torch")
    X, Y, _ = _problem("identity", dtype, k=k)
    params = np.random.RandomState(2).uniform(-1, 1, 4 * k + k)
    delta = 0.7
    loss, dW, db = _robust_kernel(X, Y, np.zeros(0, dtype), output, params, delta)
    tdtype = torch.float32 if dtype == np.float32 else torch.float64
    W = torch.tensor(params[: 4 * k].reshape(4, k), dtype=tdtype, requires_grad=True)
    b = torch.tensor(params[4 * k :], dtype=tdtype, requires_grad=True)
    Z = torch.tensor(X) @ W.to(tdtype) + b
    crit = torch.nn.L1Loss() if output == "absolute_error" else torch.nn.HuberLoss(delta=delta)
    t_loss = crit(Z, torch.tensor(Y))
    (t_loss * k).backward()  # squared_error's scaling: the sum over outputs is differentiated
    tol = 2e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(loss, t_loss.item(), rtol=tol)
    np.testing.assert_allclose(dW, W.grad.numpy(), rtol=tol, atol=tol)
    np.testing.assert_allclose(db, b.grad.numpy(), rtol=tol, atol=tol)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_robust_elementwise_against_torch_at_the_kinks(dtype):
    """sign(0) = 0 for the absolute error; |r| == delta and around it for Huber."""
    torch = pytest.importorskip("torch")
    r = np.array([-2.0, -1.0, -0.5, 0.0, 0.5, 1.0, 2.0, 1e-8, -1e-8], dtype=dtype)
    z = np.ascontiguousarray(r.reshape(-1, 1))
    y = np.zeros_like(z)
    for output, crit in [
        ("absolute_error", torch.nn.L1Loss(reduction="sum")),
        ("huber", torch.nn.HuberLoss(reduction="sum", delta=1.0)),
    ]:
        zt = torch.tensor(z, requires_grad=True)
        crit(zt, torch.tensor(y)).backward()
        ref = zt.grad.numpy()
        n = len(r)
        net = _train.NetSpec(_train.Layout([1, 1]), 0, 0.01, _train.OUTPUT_CODES[output], 1.0)
        # one-layer net with W = 1, b = 0 on input z: dZ = db contributions row by row
        plan = _train.EpochPlan(
            net,
            z,
            np.zeros(0, dtype),
            np.zeros(0, np.intp),
            np.zeros(0, np.intp),
            y,
            np.zeros(0, dtype),
            0.0,
            n,
            False,
        )
        for i in range(n):  # db of the one-row problem i is dZ[i] (S = 1)
            grads = np.empty(2, dtype=dtype)
            one = _train.EpochPlan(
                net,
                z[i : i + 1],
                np.zeros(0, dtype),
                np.zeros(0, np.intp),
                np.zeros(0, np.intp),
                y[i : i + 1],
                np.zeros(0, dtype),
                0.0,
                1,
                False,
            )
            _train.loss_grad(one, np.array([1, 0], dtype=dtype), grads)
            assert grads[1] == ref[i, 0], (output, r[i])
        grads = np.empty(2, dtype=dtype)
        total = _train.loss_grad(plan, np.array([1, 0], dtype=dtype), grads)
        np.testing.assert_allclose(
            total * n, crit(torch.tensor(z), torch.tensor(y)).item(), rtol=1e-6
        )


def test_robust_finite_differences():
    """The estimator's whole-network gradient (two layers) by central differences."""
    X, Y, sw = _problem("identity", np.float64, k=1, n=23)
    for output in ROBUST:
        net = _train.NetSpec(_train.Layout([4, 5, 1]), 2, 0.01, _train.OUTPUT_CODES[output], 0.4)
        plan = _train.EpochPlan(
            net,
            X,
            np.zeros(0),
            np.zeros(0, np.intp),
            np.zeros(0, np.intp),
            Y,
            sw,
            1e-3,
            X.shape[0],
            False,
        )
        params = np.random.RandomState(3).uniform(-1, 1, net.layout.n_params)
        grads = np.empty_like(params)
        _train.loss_grad(plan, params, grads)
        h, num = 1e-6, np.empty_like(params)
        for i in range(params.size):
            p, m = params.copy(), params.copy()
            p[i] += h
            m[i] -= h
            g = np.empty_like(params)
            num[i] = (_train.loss_grad(plan, p, g) - _train.loss_grad(plan, m, g)) / (2 * h)
        # tanh hidden layer (code 2) keeps it smooth; no residual sits at a kink here
        np.testing.assert_allclose(grads, num, rtol=1e-5, atol=1e-7)
