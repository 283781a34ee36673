"""The activation registry and every consumer of it; the new activations' kernels against
the NumPy reference, PyTorch and finite differences, in float32 and float64."""

import numpy as np
import pytest
from numpy.testing import assert_allclose

from fastdense import _activations, _kernels, _reference, _train, kernels, nn
from fastdense.estimators._params import CONSTRAINTS

NEW = ("gelu", "silu", "elu", "softplus")
DTYPES = (np.float32, np.float64)


def _rtol(dtype):
    return 2e-5 if dtype == np.float32 else 1e-12


# ------------------------------------------------------------- the registry


def test_registry_codes_are_the_kernels_enum():
    assert {a.name: a.code for a in _activations.REGISTRY} == _kernels.ENUM_CODES
    assert _kernels.ACTIVATION_CODES == _activations.KERNEL_CODES
    assert _kernels.ACTIVATION_CODES["logistic"] == _kernels.ENUM_CODES["sigmoid"]


def test_every_consumer_reads_the_registry():
    names = set(_activations.ESTIMATOR_ACTIVATIONS)
    assert names == {"identity", "logistic", "tanh", "relu", "leaky_relu", *NEW}
    assert CONSTRAINTS["activation"][0].options == names
    assert set(kernels.ACTIVATIONS) == set(_activations.KERNEL_CODES)
    # the reference knows each one, and its derivative in the registry's form
    for a in _activations.REGISTRY:
        assert a.name in _reference._FORWARD
        table = _reference._FROM_INPUT if a.derivative == "input" else _reference._FROM_OUTPUT
        assert a.name in table
        assert isinstance(getattr(nn, a.module)(), nn.Module)
    from fastdense.onnx import _graph

    assert set(_graph.ACTIVATIONS) == {a.onnx for a in _activations.REGISTRY}
    from fastdense import cli

    parser = cli._parser() if hasattr(cli, "_parser") else None
    if parser is not None:  # pragma: no cover - depends on the CLI's layout
        assert "gelu" in parser.format_help()


def test_one_default_leaky_slope():
    from fastdense.estimators import _base
    from fastdense.estimators._params import DEFAULTS
    from fastdense.onnx import _graph

    assert _base._LEAKY_RELU_SLOPE == DEFAULTS["leaky_relu_slope"] == _graph.LEAKY_RELU_SLOPE


def test_registry_glorot_factor_is_scikit_learns():
    # MLPClassifier._init_coef: factor 2 for the logistic function, 6 otherwise
    assert _activations.get("logistic").glorot_factor == 2.0
    assert all(a.glorot_factor == 6.0 for a in _activations.REGISTRY if a.name != "sigmoid")


def test_registry_modules_exist_in_torch():
    torch = pytest.importorskip("torch")
    for a in _activations.REGISTRY:
        module = getattr(torch.nn, a.module)()
        for arg in a.module_args:
            assert hasattr(module, arg)
        if a.torch_gain is not None:
            name = {"sigmoid": "sigmoid", "identity": "linear"}.get(a.name, a.name)
            assert torch.nn.init.calculate_gain(name) == pytest.approx(a.torch_gain)


def test_unknown_activation_is_a_value_error():
    with pytest.raises(ValueError, match="activation='swish'"):
        _activations.get("swish")
    with pytest.raises(ValueError, match="activation"):
        _activations.get(["relu"])


# ------------------------------------------------------------ the kernels


def _layer(dtype, m=37, n_in=9, n_out=11, scale=3.0):
    rng = np.random.default_rng(1)
    X = rng.standard_normal((m, n_in)).astype(dtype)
    W = (scale * rng.standard_normal((n_out, n_in)) / np.sqrt(n_in)).astype(dtype)
    b = rng.standard_normal(n_out).astype(dtype)
    dA = rng.standard_normal((m, n_out)).astype(dtype)
    return X, W, b, dA


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("activation", NEW)
def test_new_activations_match_the_reference(activation, dtype):
    X, W, b, dA = _layer(dtype)
    A = kernels.dense_forward(X, W, b, activation)
    Z64 = X.astype(np.float64) @ W.T.astype(np.float64) + b
    A_ref = _reference.activate(Z64, activation)
    assert A.dtype == dtype
    assert_allclose(A, A_ref, rtol=_rtol(dtype) * 10, atol=_rtol(dtype) * 10)
    Z = kernels.dense_forward(X, W, b, "identity")
    dA_prev, dW, db = kernels.dense_backward(dA, X, W, A, activation, Z=Z)
    ref = _reference.dense_backward(
        dA.astype(np.float64), X.astype(np.float64), W.astype(np.float64), A_ref, activation, Z=Z64
    )
    for got, want in zip((dA_prev, dW, db), ref):
        scale = np.max(np.abs(want))
        assert_allclose(got, want, rtol=_rtol(dtype) * 10, atol=_rtol(dtype) * 10 * scale)


@pytest.mark.parametrize("activation", ("gelu", "silu"))
def test_input_derivative_needs_z(activation):
    X, W, b, dA = _layer(np.float64)
    A = kernels.dense_forward(X, W, b, activation)
    with pytest.raises(ValueError, match="pass Z="):
        kernels.dense_backward(dA, X, W, A, activation)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("activation", NEW)
def test_new_activations_match_torch(activation, dtype):
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    fn = {"gelu": F.gelu, "silu": F.silu, "elu": F.elu, "softplus": F.softplus}[activation]
    X, W, b, dA = _layer(dtype, scale=8.0)  # wide range: softplus's threshold, elu's tail
    Xt, Wt, bt = (torch.tensor(a, requires_grad=True) for a in (X, W, b))
    Zt = F.linear(Xt, Wt, bt)
    At = fn(Zt)
    At.backward(torch.tensor(dA))
    A = kernels.dense_forward(X, W, b, activation)
    Z = kernels.dense_forward(X, W, b, "identity")
    dA_prev, dW, db = kernels.dense_backward(dA, X, W, A, activation, Z=Z)
    tol = 1e-5 if dtype == np.float32 else 1e-12
    for got, want in ((A, At), (dA_prev, Xt.grad), (dW, Wt.grad), (db, bt.grad)):
        want = want.detach().numpy()
        assert_allclose(got, want, rtol=tol, atol=tol * np.max(np.abs(want)))


@pytest.mark.parametrize("activation", NEW)
def test_elementwise_derivative_by_central_differences(activation):
    # (not at softplus's threshold 20 itself, where PyTorch's softplus jumps by 2e-9)
    z = np.concatenate([np.linspace(-30, 30, 600), [-1e-3, 1e-3, 19.999, 20.001]])
    kernel_name = activation
    h = 1e-6
    numeric = (
        _reference.activate(z + h, kernel_name) - _reference.activate(z - h, kernel_name)
    ) / (2 * h)
    a = np.empty_like(z)
    _kernels.activation_forward(z, a, _kernels.ACTIVATION_CODES[activation], 0.0)
    saved = z if _activations.needs_input(activation) else a
    g = np.empty_like(z)
    _kernels.activation_backward(
        np.ones_like(z), saved, g, _kernels.ACTIVATION_CODES[activation], 0.0
    )
    assert_allclose(g, numeric, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("activation", ("relu", "tanh", "logistic", *NEW))
def test_epoch_gradient_by_central_differences(activation):
    """The fused epoch's full-batch gradient (loss_grad), the z buffer included."""
    from fastdense import DenseRegressor

    rng = np.random.default_rng(0)
    X = rng.standard_normal((30, 4))
    y = rng.standard_normal(30)  # one output: scikit-learn reports the loss per element
    est = DenseRegressor(
        hidden_layer_sizes=(5, 3),
        activation=activation,
        solver="lbfgs",
        max_iter=1,
        random_state=0,
        alpha=1e-3,
    )
    with pytest.warns(Warning):
        est.fit(X, y)
    plan = est._epoch_plan(X, y, None, X.shape[0], False)
    params = est._params.copy()
    grad = np.empty_like(params)
    _train.loss_grad(plan, params, grad)
    numeric = np.empty_like(params)
    scratch = np.empty_like(params)
    h = 1e-6
    for i in range(params.shape[0]):
        p = params.copy()
        p[i] += h
        up = _train.loss_grad(plan, p, scratch)
        p[i] -= 2 * h
        down = _train.loss_grad(plan, p, scratch)
        numeric[i] = (up - down) / (2 * h)
    assert_allclose(grad, numeric, rtol=1e-5, atol=1e-8)
