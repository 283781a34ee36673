"""fastdense.torch against real PyTorch: one differential harness over a table of names,
plus a regression test for each silent difference the compat layer used to have."""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import fastdense.torch as ft
from fastdense import nn as fnn

torch = pytest.importorskip("torch")

FUZZ = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
DTYPES = {
    "float32": (np.float32, torch.float32),
    "float64": (np.float64, torch.float64),
    "int64": (np.int64, torch.int64),
    "bool": (np.bool_, torch.bool),
}
FLOATS = ("float32", "float64")

# name -> (function of (lib, *tensors), arity, dtypes it takes, differentiable)
UNARY = {
    "neg": (lambda L, a: -a, FLOATS + ("int64",), True),
    "exp": (lambda L, a: a.exp(), FLOATS, True),
    "log": (lambda L, a: a.abs().log() if a.dtype in (L.float32, L.float64) else a, FLOATS, True),
    "sqrt": (lambda L, a: (a * a + 1).sqrt(), FLOATS, True),
    "abs": (lambda L, a: a.abs(), FLOATS + ("int64",), True),
    "sigmoid": (lambda L, a: L.sigmoid(a), FLOATS, True),
    "tanh": (lambda L, a: L.tanh(a), FLOATS, True),
    "relu": (lambda L, a: L.relu(a), FLOATS, True),
    "leaky_relu": (lambda L, a: L.nn.functional.leaky_relu(a, 0.2), FLOATS, True),
    "leaky_relu_negative_slope": (lambda L, a: L.nn.LeakyReLU(-0.3)(a), FLOATS, True),
    "leaky_relu_slope_above_1": (lambda L, a: L.nn.functional.leaky_relu(a, 1.5), FLOATS, True),
    "clamp": (lambda L, a: a.clamp(-0.5, 0.5), FLOATS + ("int64",), True),
    "clamp_min": (lambda L, a: a.clamp(min=0), FLOATS, True),
    "sum": (lambda L, a: a.sum(), FLOATS + ("int64", "bool"), True),
    "sum_dim": (lambda L, a: a.sum(0), FLOATS + ("int64",), True),
    "mean": (lambda L, a: a.mean(), FLOATS, True),
    "mean_dim_keep": (lambda L, a: a.mean(-1, keepdim=True), FLOATS, True),
    "max": (lambda L, a: a.max(), FLOATS + ("int64",), True),
    "max_dim_values": (lambda L, a: a.max(0).values, FLOATS, True),
    "max_dim_indices": (lambda L, a: a.max(0).indices, FLOATS, False),
    "argmax": (lambda L, a: a.argmax(), FLOATS + ("int64",), False),
    "argmin_dim": (lambda L, a: a.argmin(0), FLOATS, False),
    "T": (lambda L, a: a.T, FLOATS, True),
    "reshape": (lambda L, a: a.reshape(-1), FLOATS, True),
    "unsqueeze": (lambda L, a: a.unsqueeze(0), FLOATS, True),
    "pow2": (lambda L, a: a**2, FLOATS + ("int64",), True),
    "rpow": (lambda L, a: 2**a, FLOATS, True),
    "gt_half": (lambda L, a: a > 0.5, FLOATS + ("int64",), False),
    "eq_self": (lambda L, a: a == a, FLOATS + ("int64", "bool"), False),
    "float": (lambda L, a: a.float(), FLOATS + ("int64", "bool"), False),
    "long": (lambda L, a: a.long(), FLOATS + ("bool",), False),
    "bool": (lambda L, a: a.bool(), FLOATS + ("int64",), False),
    "mul_py_float": (lambda L, a: a * 0.5, FLOATS + ("int64", "bool"), True),
    "add_py_int": (lambda L, a: a + 2, FLOATS + ("int64",), True),
    "div_py_int": (lambda L, a: a / 3, FLOATS + ("int64",), True),
    "rsub": (lambda L, a: 1 - a, FLOATS + ("int64",), True),
    "getitem_row": (lambda L, a: a[0], FLOATS + ("int64",), True),
    "cat": (lambda L, a: L.cat([a, a], dim=0), FLOATS + ("int64",), True),
    "stack": (lambda L, a: L.stack([a, a], dim=1), FLOATS, True),
    "where": (lambda L, a: L.where(a > 0, a, 0.0 * a), FLOATS, True),
    "std": (lambda L, a: a.std(), FLOATS, True),
}
BINARY = {
    "add": lambda L, a, b: a + b,
    "sub": lambda L, a, b: a - b,
    "mul": lambda L, a, b: a * b,
    "div": lambda L, a, b: a / b,
    "lt": lambda L, a, b: a < b,
    "ge": lambda L, a, b: a >= b,
    "eq": lambda L, a, b: a == b,
    "maximum": lambda L, a, b: L.maximum(a, b) if a.dtype == b.dtype else a + b,
}
SHAPES = st.sampled_from([(3, 4), (1, 4), (4,), (), (2, 1), (0, 4)])
BROADCAST = st.sampled_from(
    [((3, 4), (4,)), ((3, 1), (1, 4)), ((), (2, 3)), ((2, 3), ()), ((0, 4), (4,)), ((5,), (5,))]
)


def make(shape, dtype, seed, special=False):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape) * 3
    if special and x.size:
        x.reshape(-1)[0] = np.nan
    npdt = DTYPES[dtype][0]
    if npdt == np.bool_:
        return x > 0
    return x.astype(npdt) if npdt != np.int64 else np.round(x).astype(np.int64)


def both(fn, arrays, grad, mask=None, weighted=False):
    """Run fn under both libraries; ((fd value, torch value), (fd grads, torch grads)) or errors.

    ``mask`` says which float arrays require grad (default: all); ``weighted``
    back-propagates ``sum(out * c)`` with distinct coefficients ``c`` instead of ``sum(out)``.
    """
    mask = [True] * len(arrays) if mask is None else mask
    res = []
    for L in (ft, torch):
        ins = [
            L.tensor(a, requires_grad=bool(grad and m and a.dtype.kind == "f"))
            for a, m in zip(arrays, mask)
        ]
        try:
            out = fn(L, *ins)
        except Exception as exc:  # the same kind of error is part of the contract
            res.append((exc, None))
            continue
        grads = None
        if grad and out.dtype in (L.float32, L.float64) and out.requires_grad:
            root = out
            if weighted:
                c = 1 + np.arange(out.numel()).reshape(tuple(out.shape)) % 7
                root = out * L.tensor(c.astype(np.asarray(out.detach()).dtype))
            root.sum().backward()
            grads = [
                None if t.grad is None else np.asarray(t.grad.detach() if L is torch else t.grad)
                for t in ins
            ]
        res.append((out, grads))
    return res


def check_same(res):
    (f, fg), (t, tg) = res
    if isinstance(t, Exception) or isinstance(f, Exception):
        assert isinstance(f, Exception) and isinstance(t, Exception), (f, t)
        assert isinstance(f, type(t)) or type(t).__name__ in {
            c.__name__ for c in type(f).__mro__
        }, (f, t)
        return
    fv = np.asarray(f)
    tv = t.detach().numpy()
    assert str(fv.dtype) == str(tv.dtype).replace("torch.", ""), (fv.dtype, tv.dtype)
    assert fv.shape == tv.shape
    rtol = 1e-6 if fv.dtype == np.float32 else 1e-12
    if fv.dtype.kind == "f":
        # (float32 sums are ordered differently: allow eps * size on cancelling sums)
        atol = 1e-5 if fv.dtype == np.float32 else 1e-12
        np.testing.assert_allclose(fv, tv, rtol=rtol, atol=atol, equal_nan=True)
    else:
        np.testing.assert_array_equal(fv, tv)
    if tg is not None:
        assert fg is not None
        for a, b in zip(fg, tg):
            if b is None:
                continue
            np.testing.assert_allclose(a, b, rtol=rtol * 10, atol=rtol * 10, equal_nan=True)


@pytest.mark.parametrize("name", sorted(UNARY))
@FUZZ
@given(
    shape=SHAPES,
    dtype=st.sampled_from(list(DTYPES)),
    seed=st.integers(0, 2**16),
    special=st.booleans(),
)
def test_unary_matches_torch(name, shape, dtype, seed, special):
    fn, dtypes, grad = UNARY[name]
    if dtype not in dtypes:
        return
    x = make(
        shape,
        dtype,
        seed,
        special
        and dtype in FLOATS
        and name not in ("max_dim_indices", "argmax", "argmin_dim", "max", "max_dim_values"),
    )
    check_same(both(fn, [x], grad))


@pytest.mark.parametrize("name", sorted(BINARY))
@FUZZ
@given(
    shapes=BROADCAST,
    da=st.sampled_from(list(DTYPES)),
    db=st.sampled_from(list(DTYPES)),
    seed=st.integers(0, 2**16),
)
def test_binary_promotion_and_broadcasting_match_torch(name, shapes, da, db, seed):
    a, b = make(shapes[0], da, seed), make(shapes[1], db, seed + 1)
    check_same(both(BINARY[name], [a, b], grad=True))


@pytest.mark.parametrize("scalar", [2, 0.5, True])
@pytest.mark.parametrize("dtype", list(DTYPES))
def test_python_scalars_promote_as_in_torch(scalar, dtype):
    x = make((3,), dtype, 0)
    for op in (
        lambda a: a * scalar,
        lambda a: a + scalar,
        lambda a: scalar * a,
        lambda a: a / scalar if scalar is not True else a,
    ):
        check_same(both(lambda L, a: op(a), [x], grad=False))


# -------------------------------------------------- modules, losses, optimizers


def _copy_module(tm, fm):
    fm.load_state_dict({k: v.detach().numpy() for k, v in tm.state_dict().items()})


MODULES = {  # name -> function of (lib, input width); the output width is 3 where it changes
    "BatchNorm1d": lambda L, w: L.nn.BatchNorm1d(w),
    "BatchNorm1d_no_affine_cumulative": lambda L, w: L.nn.BatchNorm1d(
        w, affine=False, momentum=None
    ),
    "LayerNorm": lambda L, w: L.nn.LayerNorm(w),
    "GELU": lambda L, w: L.nn.GELU(),
    "GELU_tanh": lambda L, w: L.nn.GELU(approximate="tanh"),
    "SiLU": lambda L, w: L.nn.SiLU(),
    "ELU": lambda L, w: L.nn.ELU(0.7),
    "Softplus": lambda L, w: L.nn.Softplus(beta=2.0),
    "Flatten": lambda L, w: L.nn.Flatten(),
    "Identity": lambda L, w: L.nn.Identity(),
    "Dropout_p0": lambda L, w: L.nn.Dropout(0.0),
    "Linear": lambda L, w: L.nn.Linear(w, 3),
    "Linear_no_bias": lambda L, w: L.nn.Linear(w, 3, bias=False),
    "Seq_Linear_ReLU": lambda L, w: L.nn.Sequential(L.nn.Linear(w, 3), L.nn.ReLU()),
    "Seq_Linear_Sigmoid": lambda L, w: L.nn.Sequential(L.nn.Linear(w, 3), L.nn.Sigmoid()),
    "Seq_Linear_Tanh_Linear_LeakyReLU": lambda L, w: L.nn.Sequential(
        L.nn.Linear(w, 5), L.nn.Tanh(), L.nn.Linear(5, 3), L.nn.LeakyReLU(0.1)
    ),
    "Seq_MLP_BatchNorm_Dropout_eval": lambda L, w: L.nn.Sequential(
        L.nn.Linear(w, 4), L.nn.BatchNorm1d(4), L.nn.ReLU(), L.nn.Linear(4, 1)
    ),
    "Seq_Linear_LogSoftmax": lambda L, w: L.nn.Sequential(
        L.nn.Linear(w, 3), L.nn.LogSoftmax(dim=1)
    ),
}
LOSSES = {
    "MSELoss": lambda L: L.nn.MSELoss(),
    "MSELoss_none": lambda L: L.nn.MSELoss(reduction="none"),
    "L1Loss": lambda L: L.nn.L1Loss(reduction="sum"),
    "SmoothL1Loss": lambda L: L.nn.SmoothL1Loss(beta=0.5),
    "HuberLoss": lambda L: L.nn.HuberLoss(delta=0.7),
    "BCEWithLogitsLoss": lambda L: L.nn.BCEWithLogitsLoss(),
    "BCEWithLogitsLoss_sum": lambda L: L.nn.BCEWithLogitsLoss(reduction="sum"),
    "BCELoss": lambda L: L.nn.BCELoss(),
}


@pytest.mark.parametrize("name", sorted(MODULES))
@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    batch=st.sampled_from([0, 1, 2, 5]),
    width=st.sampled_from([1, 4, 7]),
    dtype=st.sampled_from(FLOATS),
    train=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_module_matches_torch(name, batch, width, dtype, train, seed):
    """Outputs, input and parameter gradients, state after the step, or the error kind."""
    npdt, tdt = DTYPES[dtype]
    tm = MODULES[name](torch, width).to(tdt)
    fm = MODULES[name](ft, width).to(npdt)
    _copy_module(tm, fm)
    tm.train(train), fm.train(train)
    x = np.random.default_rng(seed).standard_normal((batch, width)).astype(npdt)
    tx = torch.tensor(x, requires_grad=True)
    fx = ft.tensor(x, requires_grad=True)
    try:
        to = tm(tx)
    except Exception as exc:  # e.g. BatchNorm1d training on one row
        with pytest.raises(type(exc)):
            fm(fx)
        return
    fo = fm(fx)
    rtol = 1e-5 if dtype == "float32" else 1e-12
    assert fo.dtype == npdt and fo.shape == tuple(to.shape)
    np.testing.assert_allclose(np.asarray(fo), to.detach().numpy(), rtol=rtol, atol=rtol)
    (to * to).sum().backward()
    (fo * fo).sum().backward()
    np.testing.assert_allclose(np.asarray(fx.grad), tx.grad.numpy(), rtol=rtol * 10, atol=rtol * 10)
    for (k, tp), fp in zip(tm.named_parameters(), fm.parameters()):
        np.testing.assert_allclose(
            np.asarray(fp.grad), tp.grad.numpy(), rtol=rtol * 10, atol=rtol * 10, err_msg=k
        )
    for k, v in tm.state_dict().items():
        np.testing.assert_allclose(np.asarray(fm.state_dict()[k]), v.numpy(), rtol=rtol, err_msg=k)


@pytest.mark.parametrize("name", sorted(LOSSES))
@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    batch=st.sampled_from([0, 1, 6]),
    width=st.sampled_from([1, 3]),
    dtype=st.sampled_from(FLOATS),
    seed=st.integers(0, 2**16),
)
def test_loss_matches_torch(name, batch, width, dtype, seed):
    """Values (NaN for the mean of nothing), dtypes and gradients on generated shapes."""
    npdt, _ = DTYPES[dtype]
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((batch, width)).astype(npdt)
    if name == "BCELoss":
        x = 1 / (1 + np.exp(-x))
    y = (
        (rng.random((batch, width)) > 0.5).astype(npdt)
        if "BCE" in name
        else rng.standard_normal((batch, width)).astype(npdt)
    )
    check_same(
        both(
            lambda L, a, b: LOSSES[name](L)(a, b),
            [x, y],
            grad=True,
            mask=[True, False],
            weighted=True,
        )
    )


OPTIMIZERS = {
    "RMSprop": lambda L, p: L.optim.RMSprop(p, lr=1e-2),
    "RMSprop_centered_momentum": lambda L, p: L.optim.RMSprop(
        p, lr=1e-2, centered=True, momentum=0.9, weight_decay=0.1
    ),
    "RMSprop_maximize_small_alpha": lambda L, p: L.optim.RMSprop(
        p, lr=1e-2, alpha=0.3, centered=True, maximize=True, eps=1e-6
    ),
    "Adagrad": lambda L, p: L.optim.Adagrad(p, lr=0.1, lr_decay=0.01, weight_decay=0.1),
    "Adagrad_maximize_initial": lambda L, p: L.optim.Adagrad(
        p, lr=0.05, initial_accumulator_value=0.5, eps=1e-6, maximize=True
    ),
    "SGD": lambda L, p: L.optim.SGD(p, lr=0.1, momentum=0.9, nesterov=True),
    "AdamW": lambda L, p: L.optim.AdamW(p, lr=1e-2),
}
SCHEDULERS = {
    "MultiStepLR": lambda L, o: L.optim.lr_scheduler.MultiStepLR(o, [2, 4, 4], gamma=0.5),
    "LambdaLR": lambda L, o: L.optim.lr_scheduler.LambdaLR(o, lambda e: 0.9**e),
    "StepLR": lambda L, o: L.optim.lr_scheduler.StepLR(o, 2, gamma=0.3),
}


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
@pytest.mark.parametrize("dtype", FLOATS)
def test_optimizer_matches_torch(name, dtype):
    npdt, tdt = DTYPES[dtype]
    rng = np.random.default_rng(3)
    w0 = rng.standard_normal((3, 4)).astype(npdt)
    tp, fp = torch.nn.Parameter(torch.tensor(w0)), fnn.Parameter(w0.copy())
    to, fo = OPTIMIZERS[name](torch, [tp]), OPTIMIZERS[name](ft, [fp])
    for step in range(5):
        g = rng.standard_normal((3, 4)).astype(npdt)
        tp.grad, fp.grad = torch.tensor(g), g
        to.step(), fo.step()
    rtol = 1e-5 if dtype == "float32" else 1e-12
    np.testing.assert_allclose(np.asarray(fp), tp.detach().numpy(), rtol=rtol, atol=rtol)


@pytest.mark.parametrize("name", sorted(SCHEDULERS))
def test_scheduler_matches_torch(name):
    tp, fp = torch.nn.Parameter(torch.zeros(1)), fnn.Parameter(np.zeros(1, np.float32))
    to, fo = torch.optim.SGD([tp], lr=0.1), ft.optim.SGD([fp], lr=0.1)
    ts, fs = SCHEDULERS[name](torch, to), SCHEDULERS[name](ft, fo)
    for _ in range(7):
        to.step(), fo.step()
        ts.step(), fs.step()
        assert fs.get_last_lr() == pytest.approx(ts.get_last_lr(), rel=1e-15)


def test_reduce_lr_on_plateau_matches_torch():
    tp, fp = torch.nn.Parameter(torch.zeros(1)), fnn.Parameter(np.zeros(1, np.float32))
    to, fo = torch.optim.SGD([tp], lr=1.0), ft.optim.SGD([fp], lr=1.0)
    kw = dict(factor=0.5, patience=1, cooldown=1, threshold=0.01, min_lr=0.05)
    ts = torch.optim.lr_scheduler.ReduceLROnPlateau(to, **kw)
    fs = ft.optim.lr_scheduler.ReduceLROnPlateau(fo, **kw)
    for metric in [1.0, 0.9, 0.9, 0.95, 0.899, 0.9, 0.9, 0.9, 0.9, 0.9, 0.1, 0.2, 0.3, 0.4]:
        ts.step(metric), fs.step(metric)
        assert fo.param_groups[0]["lr"] == to.param_groups[0]["lr"]


def test_clip_grad_norm_and_value_match_torch():
    rng = np.random.default_rng(4)
    gs = [rng.standard_normal(s).astype(np.float32) for s in ((3, 4), (4,))]
    tps = [torch.nn.Parameter(torch.zeros(g.shape)) for g in gs]
    fps = [fnn.Parameter(np.zeros(g.shape, np.float32)) for g in gs]
    for t, f, g in zip(tps, fps, gs):
        t.grad, f.grad = torch.tensor(g), g.copy()
    tn = torch.nn.utils.clip_grad_norm_(tps, 0.5)
    fn_ = fnn.utils.clip_grad_norm_(fps, 0.5)
    np.testing.assert_allclose(fn_.item(), tn.item(), rtol=1e-6)
    for t, f in zip(tps, fps):
        np.testing.assert_allclose(np.asarray(f.grad), t.grad.numpy(), rtol=1e-6)
    torch.nn.utils.clip_grad_value_(tps, 0.05)
    fnn.utils.clip_grad_value_(fps, 0.05)
    for t, f in zip(tps, fps):
        np.testing.assert_allclose(np.asarray(f.grad), t.grad.numpy(), rtol=1e-6)


# ------------------------------------------- regressions: the silent differences


@pytest.mark.parametrize("device", ["cuda", "cuda:0", ft.device("cuda")])
def test_model_to_cuda_raises_like_torch_without_cuda(device):
    model = fnn.Linear(2, 2)
    with pytest.raises(AssertionError, match="CPU only"):
        model.to(device)
    with pytest.raises(RuntimeError):
        ft.zeros(2, device=device)
    assert model.weight.dtype == np.float32  # untouched
    with pytest.raises(AssertionError):
        torch.nn.Linear(2, 2).to("cuda")


def test_unknown_device_string_raises_runtime_error_like_torch():
    for lib in (torch, ft):
        with pytest.raises(RuntimeError, match="device type at start of device string"):
            lib.nn.Linear(2, 2).to("foo")
    assert fnn.Linear(2, 2).to("cpu").to(ft.device("cpu")).weight.dtype == np.float32


def test_inplace_update_under_no_grad_updates_the_parameter():
    lin = fnn.Linear(3, 1)
    lin(np.ones((2, 3), np.float32)).sum().backward()
    before = lin.weight.numpy().copy()
    with ft.no_grad():
        for p in lin.parameters():
            p -= 0.1 * p.grad
    np.testing.assert_allclose(lin.weight.numpy(), before - 0.1 * lin.weight.grad.numpy())
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        lin.weight -= 1.0


def test_comparisons_return_bool_tensors_and_accuracy_line_works():
    out = ft.tensor([[2.0], [-1.0], [0.3]])
    y = ft.tensor([[1.0], [0.0], [0.0]])
    a, b = ft.tensor([1.0, 2.0]), ft.tensor([1.0, 2.0])
    assert (a == b).dtype == np.bool_ and bool((a == b).all())
    assert (a > 0.5).tolist() == [True, True]
    acc = ((ft.sigmoid(out) > 0.5).float() == y).float().mean()
    assert acc.dtype == np.float32 and acc.item() == pytest.approx(2 / 3)


def test_values_are_eager_after_step_and_weight_edit():
    lin = fnn.Linear(2, 1)
    z = lin(ft.ones(3, 2))
    held = z.detach().numpy().copy()
    opt = ft.optim.SGD(lin.parameters(), lr=1.0)
    z.sum().backward()
    opt.step()
    with ft.no_grad():
        lin.weight.fill_(7.0)
    np.testing.assert_array_equal(z.detach().numpy(), held)


def test_missing_names_exist_and_unknown_ones_name_the_feature():
    for name in (
        "tensor",
        "from_numpy",
        "float32",
        "sigmoid",
        "cat",
        "allclose",
        "set_grad_enabled",
    ):
        assert hasattr(ft, name), name
    from fastdense.torch.utils.data import DataLoader, TensorDataset  # noqa: F401

    for name in ("ModuleList", "BatchNorm1d", "init", "utils"):
        assert hasattr(fnn, name)
    assert hasattr(fnn.utils, "clip_grad_norm_") and hasattr(ft.optim, "RMSprop")
    with pytest.raises(AttributeError, match="fastdense does not implement torch.frobnicate"):
        ft.frobnicate  # noqa: B018
    # an excluded family names the op and points to the published list
    with pytest.raises(NotImplementedError, match="torch.fft .*excluded family 'fft'"):
        ft.fft  # noqa: B018
    with pytest.raises(NotImplementedError, match="Tensor.svd .*docs/pytorch_api.md"):
        ft.ones(2, 2).svd()


def test_set_grad_enabled_and_int_tensor_times_float():
    with ft.set_grad_enabled(False):
        assert not ft.is_grad_enabled()
    assert ft.is_grad_enabled()
    assert (ft.tensor([1, 2]) * 0.5).dtype == np.float32
    assert (ft.tensor([1.0], dtype=ft.float32) + 1e300).dtype == np.float32
    assert ft.tensor([1, 2]).dtype == np.int64 and ft.tensor([1.5]).dtype == np.float32


def test_linear_rejects_a_tensor_of_another_dtype_like_torch():
    with pytest.raises(RuntimeError):
        torch.nn.Linear(2, 1)(torch.ones(3, 2, dtype=torch.float64))
    with pytest.raises(RuntimeError, match="same dtype"):
        fnn.Linear(2, 1)(ft.ones(3, 2, dtype=ft.float64))


def test_dataloader_batches_drop_last_and_shuffle_generator():
    X = ft.arange(10).reshape(10, 1).float()
    ds = ft.utils.data.TensorDataset(X, X * 2)
    dl = ft.utils.data.DataLoader(ds, batch_size=4, drop_last=True)
    batches = list(dl)
    assert len(dl) == len(batches) == 2 and batches[0][0].shape == (4, 1)
    g1 = ft.Generator().manual_seed(0)
    g2 = ft.Generator().manual_seed(0)
    a = [b[0].tolist() for b in ft.utils.data.DataLoader(ds, 3, shuffle=True, generator=g1)]
    b = [b[0].tolist() for b in ft.utils.data.DataLoader(ds, 3, shuffle=True, generator=g2)]
    assert a == b and sorted(sum(a, [])) == X.tolist()
    with pytest.raises(ValueError, match="num_workers"):
        ft.utils.data.DataLoader(ds, num_workers=2)


def test_save_load_round_trip_without_pickle(tmp_path):
    model = fnn.Sequential(fnn.Linear(3, 2), fnn.BatchNorm1d(2))
    opt = ft.optim.Adam(model.parameters())
    model(ft.randn(4, 3)).sum().backward()
    opt.step()
    path = tmp_path / "ck.pt"
    ft.save({"epoch": 2, "model": model.state_dict(), "opt": opt.state_dict()}, path)
    assert path.read_bytes()[8:9] == b"{"  # a safetensors header, not a pickle
    ck = ft.load(path)
    assert ck["epoch"] == 2
    for k, v in model.state_dict().items():
        assert type(ck["model"][k]) is ft.Tensor  # tensors come back as tensors, as in torch
        np.testing.assert_array_equal(ck["model"][k], v)
    model.load_state_dict(ck["model"])
    opt.load_state_dict(ck["opt"])
    ft.save({"a": np.arange(3)}, tmp_path / "arr.pt")
    assert type(ft.load(tmp_path / "arr.pt")["a"]) is np.ndarray  # and arrays as arrays
    with pytest.raises(TypeError, match="pickle"):
        ft.save({"f": object()}, tmp_path / "bad.pt")


# ------------------------------------------------ softmax and the multi-class losses


def _ce(**kw):
    return lambda L, x, y, w: L.nn.functional.cross_entropy(
        x, y, **{k: (w if v == "w" else v) for k, v in kw.items()}
    )


# name -> (function of (lib, logits, target, class weight), target kind)
MULTICLASS = {
    "cross_entropy": (_ce(), "index"),
    "cross_entropy_sum": (_ce(reduction="sum"), "index"),
    "cross_entropy_none": (_ce(reduction="none"), "index"),
    "cross_entropy_weight": (_ce(weight="w"), "index"),
    "cross_entropy_ignore": (_ce(ignore_index=1), "index"),
    "cross_entropy_smoothing": (_ce(label_smoothing=0.15), "index"),
    "cross_entropy_all_none": (
        _ce(weight="w", ignore_index=0, label_smoothing=0.3, reduction="none"),
        "index",
    ),
    "cross_entropy_all_mean": (_ce(weight="w", ignore_index=2, label_smoothing=0.3), "index"),
    "cross_entropy_probs": (_ce(), "probs"),
    "cross_entropy_probs_all": (_ce(weight="w", label_smoothing=0.2), "probs"),
    "cross_entropy_probs_none": (_ce(reduction="none", label_smoothing=0.1), "probs"),
    "CrossEntropyLoss": (
        lambda L, x, y, w: L.nn.CrossEntropyLoss(weight=w, label_smoothing=0.05, reduction="sum")(
            x, y
        ),
        "index",
    ),
    "nll_loss": (
        lambda L, x, y, w: L.nn.functional.nll_loss(L.nn.functional.log_softmax(x, 1), y),
        "index",
    ),
    "NLLLoss_weight_ignore": (
        lambda L, x, y, w: L.nn.NLLLoss(w, ignore_index=0)(L.nn.LogSoftmax(dim=1)(x), y),
        "index",
    ),
    "softmax_dim1": (lambda L, x, y, w: L.nn.functional.softmax(x, dim=1), "none"),
    "softmax_dim0_method": (lambda L, x, y, w: x.softmax(0), "none"),
    "Softmax_module_last": (lambda L, x, y, w: L.nn.Softmax(dim=-1)(x), "none"),
    "log_softmax_dim1": (lambda L, x, y, w: L.log_softmax(x, 1), "none"),
    "LogSoftmax_module_0": (lambda L, x, y, w: L.nn.LogSoftmax(0)(x), "none"),
    "one_hot": (lambda L, x, y, w: L.nn.functional.one_hot(y.clamp(min=0), x.shape[1]), "index"),
    "one_hot_inferred": (lambda L, x, y, w: L.nn.functional.one_hot(y.clamp(min=0)), "index"),
    # the errors PyTorch raises, of the same kind
    "err_int32_target": (
        lambda L, x, y, w: L.nn.functional.cross_entropy(x, y.to(L.int32)),
        "index",
    ),
    "err_float_index_target": (
        lambda L, x, y, w: L.nn.functional.cross_entropy(x, y.double()),
        "index",
    ),
    "err_out_of_bounds": (
        lambda L, x, y, w: L.nn.functional.cross_entropy(x, y + x.shape[1]),
        "index",
    ),
    "err_weight_shape": (
        lambda L, x, y, w: L.nn.functional.cross_entropy(
            x, y, weight=L.ones(x.shape[1] + 1, dtype=x.dtype)
        ),
        "index",
    ),
    "err_smoothing_above_1": (_ce(label_smoothing=1.5), "index"),
    "err_probs_ignore_index": (_ce(ignore_index=0), "probs"),
    "err_long_probs": (lambda L, x, y, w: L.nn.functional.cross_entropy(x, y.long()), "probs"),
    "err_batch_size": (lambda L, x, y, w: L.nn.functional.cross_entropy(x, L.cat([y, y])), "index"),
    "err_softmax_dim": (lambda L, x, y, w: L.softmax(x, 5), "none"),
    "err_bad_reduction": (_ce(reduction="average"), "index"),
    "err_one_hot": (lambda L, x, y, w: L.nn.functional.one_hot(y - 200, 3), "index"),
    "err_one_hot_too_big": (
        lambda L, x, y, w: (
            L.nn.functional.one_hot(y.clamp(min=0), 1)
            if x.shape[1] > 1
            else L.nn.functional.one_hot(y.int(), 3)
        ),
        "index",
    ),
}


@pytest.mark.parametrize("name", sorted(MULTICLASS))
@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    n=st.sampled_from([0, 1, 2, 5]),
    c=st.integers(1, 5),
    extra=st.sampled_from([(), (3,)]),
    dtype=st.sampled_from(FLOATS),
    seed=st.integers(0, 2**16),
    special=st.sampled_from([None, np.nan, np.inf, -np.inf, 60.0]),
)
def test_multiclass_matches_torch(name, n, c, extra, dtype, seed, special):
    """softmax, log_softmax, cross_entropy, nll_loss: values, dtypes, gradients, errors."""
    fn, kind = MULTICLASS[name]
    npdt = DTYPES[dtype][0]
    rng = np.random.default_rng(seed)
    shape = (n, c) + extra
    x = (rng.standard_normal(shape) * 3).astype(npdt)
    if special is not None and x.size:
        x.reshape(-1)[rng.integers(x.size)] = special
    w = rng.random(c).astype(npdt) + 0.1
    if kind == "probs":
        p = rng.random(shape)
        y = (p / p.sum(1, keepdims=True)).astype(npdt)
    else:
        y = rng.integers(0, c, (n,) + extra).astype(np.int64)
        if y.size > 1:
            y.reshape(-1)[0] = {"cross_entropy_ignore": 1}.get(name, -100)
    res = both(
        lambda L, a, b, ww: fn(L, a, b, ww),
        [x, y, w],
        grad=True,
        mask=[True, False, False],
        weighted=True,
    )
    check_same(res)


def test_cross_entropy_one_dim_input_and_implicit_softmax_dim():
    x = np.array([0.5, -1.0, 2.0], np.float32)
    for L in (ft, torch):
        xt = L.tensor(x, requires_grad=True)
        loss = L.nn.functional.cross_entropy(xt, L.tensor(2))
        loss.backward()
        if L is ft:
            fl, fg = loss.item(), xt.grad.numpy()
        else:
            np.testing.assert_allclose(fl, loss.item(), rtol=1e-6)
            np.testing.assert_allclose(fg, xt.grad.numpy(), rtol=1e-6, atol=1e-7)
    with pytest.warns(UserWarning, match="Implicit dimension choice for softmax"):
        out = fnn.Softmax()(ft.tensor(np.ones((2, 3), np.float32)))
    np.testing.assert_allclose(out.numpy(), np.full((2, 3), 1 / 3, np.float32), rtol=1e-6)
    assert "weight" in fnn.CrossEntropyLoss(weight=np.ones(3, np.float32)).state_dict()


@pytest.mark.parametrize("act", [(), (-0.2,), (0.05,)], ids=["ReLU", "Leaky-0.2", "Leaky0.05"])
@pytest.mark.parametrize("dtype", FLOATS)
def test_nan_through_fused_linear_activation_matches_torch(act, dtype):
    """NaN in, NaN out and PyTorch's gradient at NaN, on the fused Sequential path too
    (a negative LeakyReLU slope runs unfused, from the input)."""
    npdt, tdt = DTYPES[dtype]
    name = "LeakyReLU" if act else "ReLU"
    tm = torch.nn.Sequential(
        torch.nn.Linear(3, 4),
        getattr(torch.nn, name)(*act),
        torch.nn.Linear(4, 2),
        getattr(torch.nn, name)(*act),
    ).to(tdt)
    fm = fnn.Sequential(
        fnn.Linear(3, 4), getattr(fnn, name)(*act), fnn.Linear(4, 2), getattr(fnn, name)(*act)
    ).to(npdt)
    _copy_module(tm, fm)
    x = np.random.default_rng(5).standard_normal((4, 3)).astype(npdt)
    x[0, 1] = np.nan
    tx, fx = torch.tensor(x, requires_grad=True), ft.tensor(x, requires_grad=True)
    to, fo = tm(tx), fm(fx)
    np.testing.assert_allclose(fo.numpy(), to.detach().numpy(), rtol=1e-5, equal_nan=True)
    to.sum().backward(), fo.sum().backward()
    np.testing.assert_allclose(
        fx.grad.numpy(), tx.grad.numpy(), rtol=1e-5, atol=1e-6, equal_nan=True
    )
    for (k, tp), fp in zip(tm.named_parameters(), fm.parameters()):
        np.testing.assert_allclose(
            fp.grad.numpy(), tp.grad.numpy(), rtol=1e-5, atol=1e-6, equal_nan=True, err_msg=k
        )


ONE_CYCLE = {  # name -> (optimizer, OneCycleLR keyword arguments)
    "cos_sgd": (lambda L, p: L.optim.SGD(p, lr=0.1, momentum=0.9), dict(max_lr=1.0)),
    "linear_adam": (
        lambda L, p: L.optim.Adam(p, lr=1e-3),
        dict(max_lr=0.01, anneal_strategy="linear", pct_start=0.4),
    ),
    "three_phase_adamw": (
        lambda L, p: L.optim.AdamW(p),
        dict(
            max_lr=[0.02, 0.05],
            three_phase=True,
            div_factor=10.0,
            final_div_factor=100.0,
            base_momentum=[0.8, 0.7],
            max_momentum=0.9,
        ),
    ),
    "no_momentum_cycle_sgd": (
        lambda L, p: L.optim.SGD(p, lr=0.1),
        dict(max_lr=0.5, cycle_momentum=False, pct_start=0.25),
    ),
    "rmsprop_epochs": (
        lambda L, p: L.optim.RMSprop(p, momentum=0.5),
        dict(max_lr=0.1, anneal_strategy="linear", three_phase=True),
    ),
    "sgd_zero_momentum_cycled": (lambda L, p: L.optim.SGD(p, lr=0.1), dict(max_lr=0.3)),
}


@pytest.mark.parametrize("name", sorted(ONE_CYCLE))
def test_one_cycle_lr_sequence_matches_torch(name):
    """lr and momentum (or beta1) at every step, bit for bit, then PyTorch's overrun error."""
    make_opt, kw = ONE_CYCLE[name]
    runs = []
    for L in (torch, ft):
        p = [L.nn.Parameter(L.zeros(2)), L.nn.Parameter(L.zeros(3))]
        opt = make_opt(L, [{"params": [p[0]]}, {"params": [p[1]]}])
        steps = (
            dict(epochs=3, steps_per_epoch=4) if name == "rmsprop_epochs" else dict(total_steps=11)
        )
        sched = L.optim.lr_scheduler.OneCycleLR(opt, **steps, **kw)
        seq = []
        for _ in range(11 if "total_steps" in steps else 12):
            for q in p:
                q.grad = L.ones(q.shape)
            opt.step()
            seq.append([(g["lr"], g.get("momentum"), g.get("betas")) for g in opt.param_groups])
            sched.step()
        with pytest.raises(ValueError, match="Tried to step"):
            sched.step()
        runs.append((seq, sched.get_last_lr(), [q.detach().numpy().copy() for q in p]))
    (ts, tl, tp), (fs, fl, fp) = runs
    assert fs == ts and fl == tl
    for a, b in zip(fp, tp):
        np.testing.assert_allclose(a, b, rtol=1e-6)


def test_one_cycle_lr_errors_match_torch():
    for L in (torch, ft):
        p = [L.nn.Parameter(L.zeros(2))]
        for kw in (
            dict(max_lr=0.1),
            dict(max_lr=0.1, total_steps=0),
            dict(max_lr=0.1, total_steps=5, pct_start=1),
            dict(max_lr=0.1, total_steps=5, anneal_strategy="step"),
            dict(max_lr=[0.1, 0.2], total_steps=5),
        ):
            with pytest.raises(ValueError):
                L.optim.lr_scheduler.OneCycleLR(L.optim.SGD(p, lr=0.1), **kw)
        with pytest.raises(ValueError, match="momentum or beta1"):
            L.optim.lr_scheduler.OneCycleLR(L.optim.Adagrad(p), 0.1, total_steps=5)


# ------------------------------------------------------------------ forward hooks


def _np(v):
    return v.detach().numpy().copy() if hasattr(v, "detach") else v


def _record(log, tag):
    return lambda m, args, out: log.append((tag, _np(args[0]), _np(out)))


HOOKS = {  # name -> function (lib, model, log) registering hooks; the model is
    # Sequential(Linear(4, 3), ReLU(), Linear(3, 2), Tanh())
    "on_fused_linear": lambda L, m, log: m[0].register_forward_hook(_record(log, "fc")),
    "on_fused_activation": lambda L, m, log: m[3].register_forward_hook(_record(log, "tanh")),
    "replace_output": lambda L, m, log: m[1].register_forward_hook(lambda mod, a, o: o * 2),
    "replace_input": lambda L, m, log: m[2].register_forward_pre_hook(lambda mod, a: a[0] + 1),
    "pre_hook_tuple_and_kwargs": lambda L, m, log: (
        m[0].register_forward_pre_hook(lambda mod, a, kw: ((a[0] * 0.5,), kw), with_kwargs=True),
        m[0].register_forward_hook(
            lambda mod, a, kw, o: log.append(("kw", _np(o))), with_kwargs=True
        ),
    ),
    "order_and_prepend": lambda L, m, log: (
        m[0].register_forward_hook(lambda *a: log.append("first")),
        m[0].register_forward_hook(lambda *a: log.append("prepended"), prepend=True),
        m.register_forward_hook(lambda *a: log.append("sequential")),
        m.register_forward_pre_hook(lambda *a: log.append("sequential pre")),
    ),
    "removed": lambda L, m, log: (
        m[0].register_forward_hook(_record(log, "kept")),
        m[0].register_forward_hook(_record(log, "gone")).remove(),
        m[1].register_forward_hook(lambda mod, a, o: o * 0).remove(),
    ),
    "context_manager": lambda L, m, log: (
        m[2].register_forward_hook(_record(log, "in")).__exit__(None, None, None)
    ),
}


@pytest.mark.parametrize("name", sorted(HOOKS))
@pytest.mark.parametrize("dtype", FLOATS)
def test_forward_hooks_match_torch(name, dtype):
    """Hooks see (and may replace) each module's own inputs and outputs, fused or not."""
    npdt, tdt = DTYPES[dtype]
    x = np.random.default_rng(6).standard_normal((5, 4)).astype(npdt)
    runs = []
    for L in (torch, ft):
        m = L.nn.Sequential(L.nn.Linear(4, 3), L.nn.ReLU(), L.nn.Linear(3, 2), L.nn.Tanh())
        m = m.to(tdt if L is torch else npdt)
        if L is ft:
            _copy_module(runs[0][3], m)
        log: list = []
        HOOKS[name](L, m, log)
        xt = L.tensor(x, requires_grad=True)
        out = m(xt)
        out.sum().backward()
        runs.append((log, _np(out), _np(xt.grad), m))
    (tlog, tout, tgrad, _), (flog, fout, fgrad, _) = runs
    rtol = 1e-5 if dtype == "float32" else 1e-12
    assert len(flog) == len(tlog)
    for a, b in zip(flog, tlog):
        if isinstance(b, str):
            assert a == b
            continue
        assert a[0] == b[0]
        for u, v in zip(a[1:], b[1:]):
            np.testing.assert_allclose(u, v, rtol=rtol, atol=rtol)
    np.testing.assert_allclose(fout, tout, rtol=rtol, atol=rtol)
    np.testing.assert_allclose(fgrad, tgrad, rtol=rtol * 10, atol=rtol * 10)


def test_forward_hook_always_call_and_backward_hooks_named():
    for L in (torch, ft):
        lin, seen = L.nn.Linear(2, 1), []
        lin.register_forward_hook(lambda m, a, o: seen.append(o), always_call=True)
        with pytest.raises(RuntimeError):
            lin(L.ones(3, 5))
        assert seen == [None]
    with pytest.raises(NotImplementedError, match="backward hooks"):
        fnn.Linear(2, 1).register_full_backward_hook(lambda *a: None)


def test_rmsprop_momentum_turned_on_late_raises_like_torch():
    for L in (torch, ft):
        p = L.nn.Parameter(L.ones(3))
        opt = L.optim.RMSprop([p])
        p.grad = L.ones(3)
        opt.step()
        opt.param_groups[0]["momentum"] = 0.9
        with pytest.raises(KeyError):
            opt.step()


@pytest.mark.parametrize(
    "call",
    [
        lambda L, x: x.to(L.float32),
        lambda L, x: x.to(L.float32, copy=True),
        lambda L, x: x.to(L.float32, False, True),
        lambda L, x: x.to(dtype=L.float64, copy=True, non_blocking=True),
        lambda L, x: x.to("cpu", L.float32, copy=True),
        lambda L, x: x.to(x, copy=True),
        lambda L, x: x.to(L.float32, memory_format=torch.preserve_format),
        lambda L, x: x.to(L.float64, False, False),
    ],
)
def test_tensor_to_copy_and_flags_like_torch(call):
    """Tensor.to's copy / non_blocking / memory_format (once silently ignored)."""
    outs = []
    for L in (torch, ft):
        x = L.tensor([[1.0, -2.0], [3.0, 4.0]], requires_grad=True)
        y = call(L, x)
        (y * y).sum().backward()
        name = "" if y is x else y.grad_fn.name  # torch: a method; fastdense: a str
        outs.append(
            (
                y is x,
                y.requires_grad,
                name() if callable(name) else name,
                str(y.dtype).replace("torch.", ""),
                np.asarray(x.grad).tolist(),
            )
        )
    assert outs[0] == outs[1]


def test_tensor_to_refuses_what_it_cannot_do():
    x = ft.tensor([1.0, 2.0])
    with pytest.raises(TypeError, match="unexpected keyword"):
        x.to(ft.float32, pin_memory=True)
    # memory formats change strides only, which fastdense tensors do not expose
    assert x.to(ft.float32, memory_format=ft.channels_last) is x
    assert x.contiguous(memory_format=ft.contiguous_format) is x
    with pytest.raises(TypeError, match="memory_format"):
        x.to(ft.float32, memory_format="rows first")
