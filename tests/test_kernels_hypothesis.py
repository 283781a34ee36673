"""Property tests: random shapes, dtypes and layouts through the validated kernels.

Every call either returns the reference's answer or raises a clear
ValueError/TypeError; never a crash.
"""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose

from fastdense import _reference as ref
from fastdense import kernels

DTYPES = [np.float32, np.float64, np.float16, np.int32, np.int64, np.uint8, np.bool_]
dims = st.integers(min_value=0, max_value=9)


def _array(rng, shape, dtype, fortran):
    a = rng.standard_normal(shape) * 3
    a = a.astype(dtype) if dtype != np.bool_ else a > 0
    return np.asfortranarray(a) if fortran else a


@settings(max_examples=150, deadline=None)
@given(
    m=dims,
    n_in=dims,
    n_out=dims,
    dtypes=st.lists(st.sampled_from(DTYPES), min_size=3, max_size=3),
    fortran=st.booleans(),
    activation=st.sampled_from(["relu", "leaky_relu", "tanh", "sigmoid", "identity"]),
    seed=st.integers(0, 2**16),
)
def test_random_layers_match_reference(m, n_in, n_out, dtypes, fortran, activation, seed):
    rng = np.random.default_rng(seed)
    X = _array(rng, (m, n_in), dtypes[0], fortran)
    W = _array(rng, (n_out, n_in), dtypes[1], fortran)
    b = _array(rng, (n_out,), dtypes[2], False)
    A = kernels.dense_forward(X, W, b, activation)
    expected_dtype = np.float32 if all(d == np.float32 for d in dtypes) else np.float64
    assert A.dtype == expected_dtype
    tol = dict(rtol=1e-4, atol=1e-4) if expected_dtype == np.float32 else dict(rtol=1e-9, atol=1e-9)
    X64, W64, b64 = (np.asarray(a, dtype=np.float64) for a in (X, W, b))
    assert_allclose(A, ref.dense_forward(X64, W64, b64, activation), **tol)
    dA = rng.standard_normal((m, n_out))
    got = kernels.dense_backward(dA, X, W, A, activation)
    want = ref.dense_backward(dA, X64, W64, A.astype(np.float64), activation)
    for g, w in zip(got, want):
        assert_allclose(g, w, **tol)


@settings(max_examples=100, deadline=None)
@given(
    shapes=st.lists(st.tuples(dims, dims), min_size=3, max_size=3),
    activation=st.sampled_from(["relu", "tanh"]),
)
def test_mismatched_shapes_raise_value_error(shapes, activation):
    (m, n_in), (n_out, k), (dm, dn) = shapes
    X, W = np.zeros((m, n_in)), np.zeros((n_out, k))
    if k != n_in:
        with pytest.raises(ValueError, match="W must have shape"):
            kernels.dense_forward(X, W, None, activation)
        return
    A = kernels.dense_forward(X, W, None, activation)
    dA = np.zeros((dm, dn))
    if (dm, dn) != (m, n_out):
        with pytest.raises(ValueError, match="dA must have shape"):
            kernels.dense_backward(dA, X, W, A, activation)


@settings(max_examples=100, deadline=None)
@given(
    m=st.integers(1, 40),
    scale=st.sampled_from([1e-30, 1e-3, 1.0, 30.0, 1e4, 1e30]),
    dtype=st.sampled_from([np.float32, np.float64]),
    seed=st.integers(0, 2**16),
)
def test_loss_is_finite_for_any_finite_logits(m, scale, dtype, seed):
    rng = np.random.default_rng(seed)
    Z = (rng.standard_normal(m) * scale).astype(dtype)
    y = (rng.random(m) > 0.5).astype(dtype)
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        loss, dZ = kernels.bce_with_logits(Z, y)
    assert np.isfinite(loss) and np.all(np.isfinite(dZ))
    assert np.all(np.abs(dZ) <= 1.0 / m + 1e-6)
    loss_ref, dZ_ref = ref.bce_with_logits(Z.astype(np.float64), y.astype(np.float64))
    rtol = 1e-4 if dtype == np.float32 else 1e-10
    assert_allclose(loss, loss_ref, rtol=rtol, atol=1e-30)
    assert_allclose(dZ, dZ_ref, rtol=rtol, atol=1e-6 if dtype == np.float32 else 1e-15)
