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
