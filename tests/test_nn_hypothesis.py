"""Property tests for fastdense.nn: random shapes (0 and 1 included), dtypes, layouts
(Fortran, strided, read-only, memmap) and values (NaN, inf, huge, tiny) through Linear,
the activations and the losses, forward and backward.

Each call returns the reference answer (NumPy float64 math, or PyTorch for the
losses) or raises a clear TypeError/ValueError; never a crash.
"""

import os
import tempfile

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.special import expit

import fastdense as fd
from fastdense import nn
from fastdense.nn import functional as F

torch = pytest.importorskip("torch")

REAL = [np.float32, np.float64, np.float16, np.int8, np.int32, np.int64, np.uint8, np.bool_]
BAD = [np.complex64, np.complex128]
LAYOUTS = ["C", "F", "strided", "readonly", "memmap"]
VALUES = ["normal", "huge", "tiny", "special"]
_MEMMAP_DIR = tempfile.mkdtemp(prefix="fastdense-fuzz-")
_counter = iter(range(10**9))
FUZZ = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def values(rng, shape, kind):
    a = rng.standard_normal(shape)
    if kind == "huge":
        a *= 1e15
    elif kind == "tiny":
        a *= 1e-30
    elif kind == "special" and a.size:
        flat = a.reshape(-1)
        picks = rng.integers(0, flat.size, size=max(1, flat.size // 3))
        flat[picks] = rng.choice([np.nan, np.inf, -np.inf], size=picks.size)
    return a


def laid_out(a, layout):
    """The same values in another memory layout."""
    if layout == "F":
        return np.asfortranarray(a)
    if layout == "strided":
        big = np.zeros((a.shape[0] * 2,) + a.shape[1:], dtype=a.dtype) if a.ndim else a
        if a.ndim:
            big[::2] = a
            return big[::2]
        return a
    if layout == "readonly":
        a = a.copy()
        a.flags.writeable = False
        return a
    if layout == "memmap":
        path = os.path.join(_MEMMAP_DIR, f"{next(_counter)}.dat")
        if a.size == 0:
            return a
        mm = np.memmap(path, dtype=a.dtype, mode="w+", shape=a.shape)
        mm[...] = a
        mm.flush()
        return np.memmap(path, dtype=a.dtype, mode="r", shape=a.shape)
    return a


def as_dtype(a, dtype):
    if dtype == np.bool_:
        return a > 0
    if np.dtype(dtype).kind in "iu":
        with np.errstate(invalid="ignore"):
            return np.nan_to_num(np.clip(a, -100, 100)).astype(dtype)
    with np.errstate(over="ignore"):
        return a.astype(dtype)


def bound(x, W, b, eps):
    """A rounding bound for x @ W.T + b computed in another order."""
    n = max(W.shape[1], 1)
    with np.errstate(all="ignore"):
        mag = np.abs(x) @ np.abs(W).T + (0 if b is None else np.abs(b))
    return (mag * eps * (n + 2)) + np.finfo(W.dtype).tiny * 4


ACTS = {
    None: (lambda z: z, lambda z, a: np.ones_like(z)),
    "relu": (lambda z: np.where(z < 0, 0, z), lambda z, a: (a > 0).astype(z.dtype)),
    "tanh": (np.tanh, lambda z, a: 1 - a * a),
    "sigmoid": (expit, lambda z, a: a * (1 - a)),
}


@FUZZ
@given(
    m=st.integers(0, 5),
    n_in=st.integers(0, 5),
    n_out=st.integers(0, 4),
    in_dtype=st.sampled_from(REAL + BAD + [object]),
    w_dtype=st.sampled_from([np.float32, np.float64]),
    layout=st.sampled_from(LAYOUTS),
    kind=st.sampled_from(VALUES),
    act=st.sampled_from(list(ACTS)),
    bias=st.booleans(),
    one_d=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_linear_and_activation_forward_backward(
    m, n_in, n_out, in_dtype, w_dtype, layout, kind, act, bias, one_d, seed
):
    rng = np.random.default_rng(seed)
    fd.manual_seed(seed)
    lin = nn.Linear(n_in, n_out, bias=bias, dtype=w_dtype)
    raw = values(rng, (n_in,) if one_d else (m, n_in), kind)
    if in_dtype in BAD:
        x = laid_out(raw.astype(in_dtype), layout)
        with pytest.raises(TypeError, match="real numeric|numeric"):
            lin(x)
        return
    if in_dtype is object:
        x = raw.astype(object)
        xv = raw
    else:
        x = laid_out(as_dtype(raw, in_dtype), layout)
        xv = np.asarray(x)
    z_out = lin(x)
    out = z_out if act is None else getattr(F, act)(z_out)
    got = out.numpy()

    W = lin.weight.numpy()
    b = None if lin.bias is None else lin.bias.numpy()
    x2 = (
        np.atleast_2d(np.asarray(xv).astype(w_dtype))
        if not one_d
        else np.asarray(xv).astype(w_dtype).reshape(1, -1)
    )
    with np.errstate(all="ignore"):
        z = x2.astype(np.float64) @ W.T.astype(np.float64) + (0 if b is None else b)
        want = ACTS[act][0](z)
    assert got.dtype == w_dtype
    assert got.shape == ((n_out,) if one_d else (m, n_out))
    got2 = got.reshape(want.shape)
    eps = np.finfo(w_dtype).eps
    tol = bound(x2.astype(np.float64), W.astype(np.float64), b, eps) + 4 * eps * np.abs(want)
    finite = np.isfinite(want) & np.isfinite(tol)
    assert np.array_equal(np.isnan(got2[~finite]), np.isnan(want[~finite])) or kind == "special"
    with np.errstate(invalid="ignore"):
        assert np.all(np.abs(got2[finite] - want[finite]) <= tol[finite]), (got2, want)

    # backward: gradients of sum(out * g) for a random g
    g = rng.standard_normal(got.shape).astype(w_dtype)
    (out * g).sum().backward()
    assert lin.weight.grad.shape == W.shape and lin.weight.grad.dtype == w_dtype
    if kind in ("normal", "tiny") and np.all(np.isfinite(z)):
        # g' from the forward's own output (checked above): near saturation 1 - a^2
        # magnifies a's rounding, which is the forward's error, not the backward's
        a = got2.astype(np.float64)
        dz = g.reshape(a.shape) * ACTS[act][1](z, a)
        dW = dz.T @ x2.astype(np.float64)
        tolW = (np.abs(dz).T @ np.abs(x2.astype(np.float64))) * eps * (m + 4) + 1e-30
        assert np.all(np.abs(lin.weight.grad - dW) <= tolW + 1e-5 * (w_dtype == np.float32))
        if b is not None:
            np.testing.assert_allclose(
                lin.bias.grad,
                dz.sum(axis=0),
                rtol=1e-4 if w_dtype == np.float32 else 1e-10,
                atol=1e-5 if w_dtype == np.float32 else 1e-12,
            )


@FUZZ
@given(
    shape=st.lists(st.integers(0, 4), min_size=0, max_size=3).map(tuple),
    dtype=st.sampled_from(REAL + BAD),
    layout=st.sampled_from(LAYOUTS),
    kind=st.sampled_from(VALUES),
    name=st.sampled_from(["relu", "leaky_relu", "tanh", "sigmoid"]),
    seed=st.integers(0, 2**16),
)
def test_elementwise_activations_match_torch(shape, dtype, layout, kind, name, seed):
    rng = np.random.default_rng(seed)
    raw = values(rng, shape, kind)
    if dtype in BAD:
        with pytest.raises(TypeError):
            getattr(F, name)(raw.astype(dtype))
        return
    x = laid_out(as_dtype(raw, dtype), layout) if shape else as_dtype(raw, dtype)
    t = fd.Tensor(np.asarray(x), requires_grad=False)
    out = getattr(F, name)(t).numpy()
    xf = np.asarray(x)
    expect_dtype = xf.dtype if xf.dtype in (np.float32, np.float64) else np.float32
    assert out.dtype == expect_dtype and out.shape == xf.shape
    tx = torch.from_numpy(np.array(xf, dtype=expect_dtype, order="C", copy=True))
    ref = getattr(torch.nn.functional, name)(tx).numpy()
    np.testing.assert_allclose(
        out, ref, rtol=2e-6 if expect_dtype == np.float32 else 1e-14, atol=1e-37, equal_nan=True
    )
    if expect_dtype in (np.float32, np.float64) and xf.dtype == expect_dtype:
        tg = fd.Tensor(np.array(xf, order="C", copy=True), requires_grad=True)
        getattr(F, name)(tg).sum().backward()
        tt = tx.clone().requires_grad_(True)
        getattr(torch.nn.functional, name)(tt).sum().backward()
        ours, theirs = tg.grad, tt.grad.numpy()
        if name in ("relu", "leaky_relu"):
            # g' at exactly 0 is a convention; and at a NaN input relu's gradient is 0
            # here (g' from the output: NaN > 0 is false), PyTorch passes it through
            keep = (xf != 0) & ~np.isnan(xf)
            ours, theirs = ours[keep], theirs[keep]
        np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-30, equal_nan=True)


@FUZZ
@given(
    m=st.integers(0, 5),
    k=st.integers(0, 3),
    x_dtype=st.sampled_from([np.float32, np.float64, np.float16, np.int32]),
    y_dtype=st.sampled_from([np.float32, np.float64, np.bool_, np.int64, np.uint8, np.complex128]),
    layout=st.sampled_from(LAYOUTS),
    kind=st.sampled_from(VALUES),
    reduction=st.sampled_from(["mean", "sum", "none"]),
    weighted=st.booleans(),
    pos_weighted=st.booleans(),
    mismatch=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_bce_with_logits_matches_torch(
    m, k, x_dtype, y_dtype, layout, kind, reduction, weighted, pos_weighted, mismatch, seed
):
    rng = np.random.default_rng(seed)
    z = laid_out(as_dtype(values(rng, (m, k), kind), x_dtype), layout)
    y01 = rng.random((m, k)) < 0.5
    y = y01 if y_dtype == np.bool_ else y01.astype(y_dtype)
    if y_dtype == np.complex128:
        with pytest.raises(TypeError, match="real numeric"):
            F.binary_cross_entropy_with_logits(z, y)
        return
    if mismatch:
        with pytest.raises(ValueError, match="same as input size"):
            F.binary_cross_entropy_with_logits(z, y.reshape(-1)[: max(m * k - 1, 0)])
        return
    w = rng.random((k,)) + 0.5 if weighted else None
    pw = rng.random((k,)) * 3 if pos_weighted else None
    fz = np.asarray(z)
    dtype = fz.dtype if fz.dtype in (np.float32, np.float64) else np.float32
    t = fd.Tensor(np.ascontiguousarray(fz, dtype=dtype), requires_grad=True)
    loss = F.binary_cross_entropy_with_logits(t, y, weight=w, pos_weight=pw, reduction=reduction)
    tt = torch.from_numpy(np.array(fz, dtype=dtype, order="C", copy=True)).requires_grad_(True)
    to_t = lambda a: None if a is None else torch.from_numpy(np.asarray(a, dtype=dtype))
    ref = torch.nn.functional.binary_cross_entropy_with_logits(
        tt, to_t(y.astype(np.float64)), weight=to_t(w), pos_weight=to_t(pw), reduction=reduction
    )
    rtol = 2e-5 if dtype == np.float32 else 1e-10
    ours, theirs = loss.numpy(), ref.detach().numpy().copy()
    # at z = -inf with y > 0 PyTorch's formula gives nan; the limit, ours, is +inf
    theirs[np.isnan(theirs) & np.isposinf(ours)] = np.inf
    np.testing.assert_allclose(
        ours, theirs, rtol=rtol, atol=1e-6 if dtype == np.float32 else 1e-12, equal_nan=True
    )
    (loss.sum() if reduction == "none" else loss).backward()
    (ref.sum() if reduction == "none" else ref).backward()
    np.testing.assert_allclose(
        t.grad,
        tt.grad.numpy(),
        rtol=rtol,
        atol=1e-6 if dtype == np.float32 else 1e-12,
        equal_nan=True,
    )
