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
    net = _train.NetSpec(_train.Layout([X.shape[1], Y.shape[1]]), 0, 0.01,
                         _train.OUTPUT_CODES[output])
    dtype = X.dtype
    grads = np.empty(net.layout.n_params, dtype=dtype)
    plan = _train.EpochPlan(net, X, np.zeros(0, dtype), np.zeros(0, np.intp),
                            np.zeros(0, np.intp), Y, sw, 0.0, X.shape[0], False)
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
    ref_loss, dZ = _reference.sklearn_output_loss(X @ W + b, Y, output,
                                                  sw if weighted else None)
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
        scale = 1.0                             # mean over rows of -log softmax
    elif output == "logistic":
        t_loss = F.binary_cross_entropy_with_logits(Z, Yt) * k  # summed over labels
        scale = 1.0
    elif output == "identity":
        t_loss = F.mse_loss(Z, Yt) * k / 2      # scikit-learn differentiates the sum
        scale = 1.0 / k                         # ... but reports the mean over outputs
    else:
        t_loss = F.poisson_nll_loss(Z, Yt, log_input=True) * k
        scale = None                            # the deviance adds y log y - y: a constant
    t_loss.backward()
    tol = 2e-5 if dtype == np.float32 else 1e-10
    np.testing.assert_allclose(dW, W.grad.numpy(), rtol=tol, atol=tol)
    np.testing.assert_allclose(db, b.grad.numpy(), rtol=tol, atol=tol)
    if scale is not None:
        np.testing.assert_allclose(loss, t_loss.item() * scale, rtol=tol)
