"""In-place operations against PyTorch: where autograd raises "modified by an inplace
operation" (an op that saved its result, an input saved by the next op) and where it gives
gradients, those gradients; and the inplace=True activations and dropouts, which modify
their input tensor as PyTorch's do."""

from __future__ import annotations

import numpy as np
import pytest

import fastdense.torch as ft

torch = pytest.importorskip("torch")

# name -> f(lib, x): a graph built from x with an in-place op somewhere
SAVED_CASES = {
    "sigmoid then relu_": lambda lib, x: (x.sigmoid() - 0.6).sigmoid().relu_(),
    "exp then mul_": lambda lib, x: x.exp().mul_(2),
    "sqrt then add_": lambda lib, x: (x * x + 1).sqrt().add_(1),
    "reciprocal then add_": lambda lib, x: (x + 3).reciprocal().add_(1),
    "tanh then mul_": lambda lib, x: x.tanh().mul_(2),
    "relu then add_": lambda lib, x: (x * 1).relu().add_(1),
    "leaky_relu then add_": lambda lib, x: lib.nn.functional.leaky_relu(x * 1, 0.1).add_(1),
    "mul then relu_": lambda lib, x: (x * 2).relu_(),
    "softmax then mul_": lambda lib, x: lib.softmax(x, 0).mul_(2),
    "log_softmax then mul_": lambda lib, x: lib.log_softmax(x, 0).mul_(2),
    "elu then mul_": lambda lib, x: lib.nn.functional.elu(x).mul_(2),
    "sinc then mul_": lambda lib, x: (x * 1).sinc().mul_(2),
    "erfinv then mul_": lambda lib, x: (x * 0.3).erfinv().mul_(2),
    "input of mul modified": lambda lib, x: _mul_then_modify(x),
}


def _mul_then_modify(x):
    y = x * 1
    z = y * y
    y.add_(1)
    return z


def _run(lib, f, x0):
    x = lib.tensor(x0, requires_grad=True)
    try:
        f(lib, x).sum().backward()
    except RuntimeError as exc:
        assert "modified by an inplace operation" in str(exc)
        return "raises"
    return np.asarray(x.grad.tolist())


@pytest.mark.parametrize("name", list(SAVED_CASES))
def test_inplace_after_save_raises_exactly_where_torch_does(name):
    x0 = np.array([-1.0, 0.5, 2.0])
    f_res, t_res = _run(ft, SAVED_CASES[name], x0), _run(torch, SAVED_CASES[name], x0)
    if isinstance(t_res, str):
        assert isinstance(f_res, str), f"torch raises, fastdense gave {f_res}"
    else:
        assert not isinstance(f_res, str), "fastdense raises where torch does not"
        np.testing.assert_allclose(f_res, t_res, rtol=1e-12)


def _f(lib):
    return lib.nn.functional


INPLACE_FUNCS = {
    "relu": lambda F, y: F.relu(y, inplace=True),
    "leaky_relu": lambda F, y: F.leaky_relu(y, 0.1, inplace=True),
    "leaky_relu negative slope": lambda F, y: F.leaky_relu(y, -0.2, True),
    "elu": lambda F, y: F.elu(y, 0.7, inplace=True),
    "celu": lambda F, y: F.celu(y, 0.7, inplace=True),
    "selu": lambda F, y: F.selu(y, inplace=True),
    "hardtanh": lambda F, y: F.hardtanh(y, -0.5, 0.6, inplace=True),
    "relu6": lambda F, y: F.relu6(y, inplace=True),
    "threshold": lambda F, y: F.threshold(y, 0.1, 2.0, inplace=True),
    "rrelu (eval)": lambda F, y: F.rrelu(y, inplace=True),
    "silu": lambda F, y: F.silu(y, inplace=True),
    "mish": lambda F, y: F.mish(y, inplace=True),
    "hardswish": lambda F, y: F.hardswish(y, inplace=True),
    "hardsigmoid": lambda F, y: F.hardsigmoid(y, inplace=True),
    "dropout p=0": lambda F, y: F.dropout(y, 0.0, True, inplace=True),
    "dropout p=1": lambda F, y: F.dropout(y, 1.0, True, inplace=True),
    "dropout eval": lambda F, y: F.dropout(y, 0.5, False, inplace=True),
}
MODULES = {
    "ReLU": lambda nn: nn.ReLU(inplace=True),
    "LeakyReLU": lambda nn: nn.LeakyReLU(0.05, inplace=True),
    "ReLU6": lambda nn: nn.ReLU6(inplace=True),
    "Hardtanh": lambda nn: nn.Hardtanh(inplace=True),
    "ELU": lambda nn: nn.ELU(inplace=True),
    "CELU": lambda nn: nn.CELU(inplace=True),
    "SELU": lambda nn: nn.SELU(inplace=True),
    "SiLU": lambda nn: nn.SiLU(inplace=True),
    "Mish": lambda nn: nn.Mish(inplace=True),
    "Hardswish": lambda nn: nn.Hardswish(inplace=True),
    "Hardsigmoid": lambda nn: nn.Hardsigmoid(inplace=True),
    "Threshold": lambda nn: nn.Threshold(0.2, -1.0, inplace=True),
    "RReLU (eval)": lambda nn: nn.RReLU(inplace=True).eval(),
    "Dropout (eval)": lambda nn: nn.Dropout(inplace=True).eval(),
}
X0 = np.array([[-1.5, 0.5, 2.0], [-0.3, 0.1, 4.0]])


def _inplace_run(lib, apply, dtype, then_modify):
    """(value of the input after the op, is the result the input, version bumped, grad or
    "raises") for apply(y) on a non-leaf y = x * 1."""
    x = lib.tensor(X0.astype(dtype), requires_grad=True)
    y = x * 1
    v0 = y._version
    out = apply(y)
    same = out is y
    bumped = y._version > v0
    value = np.asarray(y.detach().tolist())
    if then_modify:
        y.mul_(2)
    g = lib.tensor(np.linspace(-1, 1, 6).reshape(2, 3).astype(dtype))
    try:
        (y * g).sum().backward()
    except RuntimeError as exc:
        return value, same, bumped, f"raises: {str(exc)[:40]}"
    return value, same, bumped, np.asarray(x.grad.tolist())


def _compare(f_res, t_res, tol):
    np.testing.assert_allclose(f_res[0], t_res[0], rtol=tol, atol=tol)
    assert f_res[1:3] == t_res[1:3]
    if isinstance(t_res[3], str):
        assert f_res[3] == t_res[3], "torch raises, fastdense does not (or another error)"
    else:
        assert not isinstance(f_res[3], str), "fastdense raises where torch does not"
        np.testing.assert_allclose(f_res[3], t_res[3], rtol=tol, atol=tol)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("then_modify", [False, True])
@pytest.mark.parametrize("name", list(INPLACE_FUNCS))
def test_inplace_functional_modifies_its_input_as_torch(name, dtype, then_modify):
    tol = 1e-6 if dtype == "float32" else 1e-7  # (torch rounds some constants to float32)
    f_res = _inplace_run(ft, lambda y: INPLACE_FUNCS[name](_f(ft), y), dtype, then_modify)
    t_res = _inplace_run(torch, lambda y: INPLACE_FUNCS[name](_f(torch), y), dtype, then_modify)
    _compare(f_res, t_res, tol)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name", list(MODULES))
def test_inplace_modules_modify_their_input_as_torch(name, dtype):
    import fastdense.nn as fnn

    tol = 1e-6 if dtype == "float32" else 1e-7
    f_res = _inplace_run(ft, MODULES[name](fnn), dtype, False)
    t_res = _inplace_run(torch, MODULES[name](torch.nn), dtype, False)
    _compare(f_res, t_res, tol)
    assert repr(MODULES[name](fnn)) == repr(MODULES[name](torch.nn))


def test_inplace_on_a_leaf_that_requires_grad_raises_as_torch():
    import fastdense.nn as fnn

    for lib, nn in ((ft, fnn), (torch, torch.nn)):
        x = lib.tensor(X0, requires_grad=True)
        with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
            nn.ReLU(inplace=True)(x)
        with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
            nn.functional.elu(x, inplace=True)
        with lib.no_grad():
            out = nn.ReLU(inplace=True)(x)
        assert out is x and float(x.detach().min()) == 0.0


@pytest.mark.filterwarnings("ignore:dropout2d. Received a 3D")
@pytest.mark.parametrize("name", ["dropout", "alpha_dropout", "dropout1d", "dropout2d"])
def test_inplace_dropout_in_training_modifies_the_input(name):
    import fastdense.nn.functional as FF

    x = ft.tensor(np.random.default_rng(0).uniform(1, 2, size=(40, 10, 3)), requires_grad=True)
    y = x * 1
    before = y.detach().numpy().copy()
    out = getattr(FF, name)(y, 0.5, True, True)
    assert out is y and not np.array_equal(y.detach().numpy(), before)
    (y * 3).sum().backward()
    # the gradient is the mask and scale that the values show (x * mask * scale (+ shift))
    kept = ~np.isclose(y.detach().numpy(), y.detach().numpy().min()) if "alpha" in name else None
    if kept is None:
        np.testing.assert_allclose(x.grad.numpy(), 3 * y.detach().numpy() / before, rtol=1e-12)
