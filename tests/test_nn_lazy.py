"""nn.LazyLinear and UninitializedParameter against PyTorch: what a lazy module is before
its first forward, what the forward does to it, state dicts and optimizers around it."""

from __future__ import annotations

import copy
import pickle

import numpy as np
import pytest

import fastdense.nn as nn
import fastdense.optim as optim
from fastdense.autograd import tensor

torch = pytest.importorskip("torch")


def _both(out_features=3, **kw):
    return nn.LazyLinear(out_features, **kw), torch.nn.LazyLinear(out_features, **kw)


def test_before_the_first_forward_as_torch():
    f, t = _both(bias=False)
    assert repr(f) == repr(t) and f.in_features == t.in_features == 0
    assert repr(f.weight) == repr(t.weight) == "<UninitializedParameter>"
    assert f.has_uninitialized_params() and t.has_uninitialized_params()
    f, t = _both()
    assert list(f.state_dict()) == list(t.state_dict())
    assert all(isinstance(v, nn.UninitializedParameter) for v in f.state_dict().values())
    for fn in (lambda w: w.shape, lambda w: w + 1):
        errs = []
        for w in (f.weight, t.weight):
            with pytest.raises((RuntimeError, ValueError)) as info:
                fn(w)
            errs.append(info.type)
        assert errs[0] is errs[1]
    assert isinstance(copy.deepcopy(f).weight, nn.UninitializedParameter)
    assert isinstance(pickle.loads(pickle.dumps(f)).weight, nn.UninitializedParameter)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("shape", [(5, 4), (2, 3, 4), (4,)])
def test_first_forward_infers_in_features_and_becomes_linear(dtype, shape):
    f, t = _both(dtype=getattr(torch, dtype))
    f_opt = optim.SGD(f.parameters(), lr=0.1)  # built before the forward, as PyTorch allows
    t_opt = torch.optim.SGD(t.parameters(), lr=0.1)
    x = np.random.default_rng(0).standard_normal(shape).astype(dtype)
    xt = torch.tensor(x)
    t(xt)  # torch's first forward draws its weights; then copy them over fastdense's
    f(tensor(x))
    assert type(f) is nn.Linear and type(t) is torch.nn.Linear
    assert (f.in_features, tuple(f.weight.shape)) == (t.in_features, tuple(t.weight.shape))
    assert f.weight.dtype == np.dtype(dtype) and isinstance(f.weight, nn.Parameter)
    f.load_state_dict({k: v.detach().numpy() for k, v in t.state_dict().items()})
    fo, to = f(tensor(x)), t(xt)
    np.testing.assert_allclose(fo.detach().numpy(), to.detach().numpy(), rtol=1e-6, atol=1e-6)
    fo.sum().backward()
    to.sum().backward()
    f_opt.step()
    t_opt.step()
    for (k, fv), tv in zip(f.state_dict().items(), t.state_dict().values()):
        np.testing.assert_allclose(fv.numpy(), tv.numpy(), rtol=1e-6, atol=1e-6, err_msg=k)


def test_load_state_dict_into_a_lazy_module_as_torch():
    src = torch.nn.Linear(4, 3).double()
    sd = src.state_dict()
    f, t = _both(dtype=torch.float64)
    f.load_state_dict({k: v.numpy() for k, v in sd.items()})
    t.load_state_dict(sd)
    assert type(f).__name__ == type(t).__name__ == "LazyLinear"
    assert f.in_features == t.in_features == 0  # (PyTorch leaves it at 0)
    assert tuple(f.weight.shape) == tuple(t.weight.shape)
    x = torch.randn(2, 4, dtype=torch.float64)
    np.testing.assert_allclose(f(x.numpy()).detach().numpy(), t(x).detach().numpy())
    assert type(f) is nn.Linear and type(t) is torch.nn.Linear
    # an uninitialized value into an initialized module: PyTorch's shape error
    with pytest.raises(RuntimeError, match="uninitialized parameter"):
        nn.Linear(4, 3).load_state_dict(nn.LazyLinear(3).state_dict())
    with pytest.raises(RuntimeError, match="uninitialized parameter"):
        torch.nn.Linear(4, 3).load_state_dict(torch.nn.LazyLinear(3).state_dict())


def test_dtype_cast_before_the_forward_and_sequential():
    f = nn.LazyLinear(2).double()
    f(np.ones((1, 3)))
    assert f.weight.dtype == np.float64
    seq = nn.Sequential(nn.LazyLinear(5), nn.ReLU(), nn.LazyLinear(1))
    assert seq(np.ones((3, 7), np.float32)).shape == (3, 1)
    assert [type(m) for m in seq] == [nn.Linear, nn.ReLU, nn.Linear]
    assert seq[0].in_features == 7 and seq[2].in_features == 5
    with pytest.raises(RuntimeError, match="at least 1 dimension"):
        nn.LazyLinear(2)(np.float32(1.0))
