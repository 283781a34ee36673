"""The tensor engine (fastdense._tensor): version checks, in-place ops in a graph, dtypes,
the torch-namespace forms the porting scripts need, and the old import/pickle paths."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

import fastdense.torch as ft
from fastdense import autograd

torch = pytest.importorskip("torch")


def test_inplace_after_save_raises_as_pytorch():
    w = ft.ones(3, requires_grad=True)
    x = ft.tensor([1.0, 2.0, 3.0])
    loss = (w * x).sum()
    x.mul_(10)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        loss.backward()
    # add does not save its operands: changing one afterwards is harmless, as in PyTorch
    x2 = ft.tensor([1.0, 2.0, 3.0])
    loss2 = (w + x2).sum()
    x2.mul_(10)
    loss2.backward()
    np.testing.assert_array_equal(w.grad.numpy(), [1.0, 1.0, 1.0])


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_inplace_ops_on_graph_tensors_differentiate_as_pytorch(dtype):
    rng = np.random.default_rng(0)
    a = rng.standard_normal((3, 4)).astype(dtype)
    g = rng.standard_normal((3, 4)).astype(dtype)

    def run(lib, t):
        x = t(a, requires_grad=True)
        y = x * 2
        y.add_(x).mul_(x)  # recorded in place on a non-leaf
        y[0] = y[0] * 3
        y.clamp_(-1.0, 1.0)
        y.backward(t(g))
        return y.detach().numpy(), x.grad.numpy()

    fy, fg = run(ft, lambda v, **k: ft.tensor(v, **k))
    ty, tg = run(torch, lambda v, **k: torch.tensor(v, **k))
    np.testing.assert_allclose(fy, ty, rtol=1e-6)
    np.testing.assert_allclose(fg, tg, rtol=1e-5)


def test_leaf_inplace_still_refused_and_allowed_under_no_grad():
    p = ft.ones(2, requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf Variable"):
        p.add_(1)
    with ft.no_grad():
        p.sub_(1)
    np.testing.assert_array_equal(p.numpy(), [0.0, 0.0])


def test_the_failures_of_the_porting_scripts():
    loss = ft.tensor(0.123456789)
    assert f"{loss:.5f}" == "0.12346" and f"{ft.tensor([1.0])}" == str(ft.tensor([1.0]))
    x = ft.tensor([0.4, 1.6, -2.5])
    np.testing.assert_array_equal(x.round().numpy(), torch.tensor([0.4, 1.6, -2.5]).round())
    np.testing.assert_array_equal(ft.round(x).numpy(), [0.0, 2.0, -2.0])
    assert ft.eq(x, x).all().item() and ft.FloatTensor(np.ones(2)).dtype == ft.float32
    assert ft.LongTensor([1, 2]).dtype == ft.int64 and isinstance(ft.LongTensor([1]), ft.LongTensor)
    np.testing.assert_array_equal(ft.bincount(ft.tensor([0, 2, 2])).numpy(), [1, 0, 2])
    assert ft.randint(5, (4,)).shape == (4,) and ft.randint(2, 5, (3,)).dtype == ft.int64
    try:
        ft.set_default_dtype(ft.float64)
        assert ft.get_default_dtype() == ft.float64 and ft.tensor([1.0]).dtype == ft.float64
        assert ft.zeros(2).dtype == ft.float64 and (ft.tensor([1, 2]) * 0.5).dtype == ft.float64
    finally:
        ft.set_default_dtype(ft.float32)
    assert ft.tensor([1.0]).dtype == ft.float32
    with pytest.raises(TypeError, match="bfloat16"):
        ft.ones(2).to(ft.float32).bfloat16()
    assert ft.ones(2).half().dtype == np.float16


def test_everyday_methods_match_torch():
    rng = np.random.default_rng(1)
    a = rng.standard_normal((4, 5))
    for expr in (
        "x.permute(1, 0)",
        "x.topk(2).values",
        "x.sort(1).values",
        "x.argsort(0)",
        "x.cumsum(1)",
        "x.prod(1)",
        "x.amax(0)",
        "x.gather(1, i)",
        "x.flip(0)",
        "x.masked_fill(x > 0, 0.0)",
        "x.triu(1)",
        "x.nan_to_num()",
        "x.median(1).values",
        "x.quantile(0.3, dim=1)",
        "x.std(0, correction=0)",
        "x.norm(1, dim=1)",
        "x.log1p().isnan()",
        "x.sign() * x.neg()",
        "x.expand(2, 4, 5).repeat(1, 2, 1)",
        "x.chunk(2, 1)[1]",
        "x.index_select(0, i[:, 0])",
        "x.diag()",
        "x.sin() + x.cos()",
    ):
        f = eval(expr, {"x": ft.tensor(a), "i": ft.tensor([[0, 1], [2, 0], [1, 1], [3, 4]])})
        t = eval(expr, {"x": torch.tensor(a), "i": torch.tensor([[0, 1], [2, 0], [1, 1], [3, 4]])})
        np.testing.assert_allclose(f.numpy(), t.numpy(), rtol=1e-12, err_msg=expr)


def test_old_paths_and_pickles():
    # the names code imports from fastdense.autograd stay there
    for name in (
        "Tensor",
        "Parameter",
        "Node",
        "no_grad",
        "enable_grad",
        "tensor",
        "DeviceUnavailableError",
        "ShapeError",
        "DtypeError",
        "kernel_activation",
        "check_device",
        "_const",
        "_result",
        "_float_array",
        "_grad_mode",
        "_accumulate_leaf",
        "_tensor_or_const",
        "_to_dtype",
        "_resolve_dtype",
        "_maximum",
        "_minimum",
        "_select_backward",
        "_unbroadcast",
        "_MinMax",
    ):
        assert hasattr(autograd, name), name
    t = ft.tensor([1.0, 2.0])
    cls = type(t)
    cls.__module__, keep = "fastdense.autograd", cls.__module__  # a pickle made before the move
    try:
        old = pickle.dumps(t)
    finally:
        cls.__module__ = keep
    assert b"fastdense.autograd" in old
    np.testing.assert_array_equal(pickle.loads(old).numpy(), [1.0, 2.0])
    p = pickle.loads(pickle.dumps(autograd.Parameter(np.ones(2, np.float32))))
    assert isinstance(p, autograd.Parameter) and p.requires_grad


def test_excluded_attribute_names_the_family():
    with pytest.raises(NotImplementedError, match="complex numbers"):
        ft.ones(2).view_as_complex()
