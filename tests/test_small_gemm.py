"""The estimators' matrix product (fastdense/_small_gemm.pxd): small float32 products
in a register-tiled loop, the rest in BLAS.

The loop's contract is exact: every element of C is the float32 sum over k in
order, from 0, one rounded multiply and one rounded add per term. A NumPy loop
doing exactly that is the oracle, and the loop must match it bit for bit (so
the SIMD builds, which only change the vector width, match it too).
"""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fastdense import _kernels

SMALL_GEMM_MACS = 8192  # the limit in _small_gemm.pxd


def ordered_product(a, b):
    """float32 C = A @ B as sum_p (a[:, p] * b[p, :]), p in order, from 0."""
    acc = np.zeros((a.shape[0], b.shape[1]), np.float32)
    for p in range(a.shape[1]):
        acc = acc + a[:, p : p + 1] * b[p : p + 1, :]
    return acc


def operands(rng, m, n, k, trans_a, trans_b, dtype):
    a = rng.standard_normal((k, m) if trans_a else (m, k)).astype(dtype)
    b = rng.standard_normal((n, k) if trans_b else (k, n)).astype(dtype)
    return a, b, (a.T if trans_a else a), (b.T if trans_b else b)


def product_cases(most):
    """Hypothesis's products: sizes up to `most` (k from 0), both transposes, a seed."""
    return given(
        m=st.integers(1, most),
        n=st.integers(1, most),
        k=st.integers(0, most),
        trans_a=st.booleans(),
        trans_b=st.booleans(),
        seed=st.integers(0, 2**32 - 1),
    )


@settings(max_examples=300, deadline=None)
@product_cases(40)
def test_small_float32_products_are_the_ordered_sum(m, n, k, trans_a, trans_b, seed):
    a, b, op_a, op_b = operands(np.random.default_rng(seed), m, n, k, trans_a, trans_b, np.float32)
    c = np.full((m, n), np.nan, np.float32)
    small = _kernels.matmul(a, b, c, trans_a, trans_b)
    # not a transposed B of several columns, nor one column of C under an untransposed A
    expected = (n == 1 and trans_a) if (trans_b or n == 1) else True
    assert small == (m * n * k <= SMALL_GEMM_MACS and expected)
    if small:
        np.testing.assert_array_equal(
            c, ordered_product(np.ascontiguousarray(op_a), np.ascontiguousarray(op_b))
        )
    else:
        np.testing.assert_allclose(
            c, op_a.astype(np.float64) @ op_b, rtol=1e-4, atol=1e-4 * np.sqrt(max(k, 1))
        )


# every tile shape and edge: 6x16 / 1x16, 4x8 / 1x8, 8x1 / 1x1; one column of a
# transposed A (the row form); the largest product that still runs in the loop
@pytest.mark.parametrize(
    "m,n,k,trans_a",
    [
        (6, 16, 10, False),
        (7, 16, 10, False),
        (13, 33, 9, False),
        (5, 8, 3, True),
        (9, 7, 11, True),
        (32, 1, 16, False),
        (16, 1, 32, True),
        (1, 16, 32, False),
        (32, 16, 16, True),
        (64, 16, 8, False),
    ],
)
def test_tile_edges(m, n, k, trans_a):
    a, b, op_a, op_b = operands(
        np.random.default_rng(m * n * k), m, n, k, trans_a, False, np.float32
    )
    c = np.empty((m, n), np.float32)
    assert _kernels.matmul(a, b, c, trans_a, False) == (n > 1 or trans_a)
    _kernels.matmul(a, b, c, trans_a, False, 1)  # the loop, whatever the default path
    np.testing.assert_array_equal(c, ordered_product(np.ascontiguousarray(op_a), op_b))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("m,n,k", [(0, 3, 4), (3, 0, 4), (3, 4, 0), (1, 1, 1)])
def test_empty_and_unit_sizes(dtype, m, n, k):
    a, b, op_a, op_b = operands(np.random.default_rng(0), m, n, k, False, False, dtype)
    c = np.full((m, n), np.nan, dtype)
    _kernels.matmul(a, b, c)
    np.testing.assert_array_equal(c, (op_a @ op_b).astype(dtype) if k else 0)


def test_float64_and_large_products_go_to_blas():
    a, b, op_a, op_b = operands(np.random.default_rng(1), 8, 8, 8, False, False, np.float64)
    c = np.empty((8, 8))
    assert not _kernels.matmul(a, b, c)
    np.testing.assert_allclose(c, op_a @ op_b, rtol=1e-13)
    a, b, op_a, op_b = operands(np.random.default_rng(2), 64, 64, 8, False, True, np.float32)
    c = np.empty((64, 64), np.float32)
    assert not _kernels.matmul(a, b, c, False, True)  # a transposed B with n > 1
    np.testing.assert_allclose(c, op_a @ op_b, rtol=1e-5, atol=1e-5)


def test_shape_mismatch_is_a_value_error():
    with pytest.raises(ValueError, match="cannot multiply 2x3 by 4x2"):
        _kernels.matmul(
            np.ones((2, 3), np.float32), np.ones((4, 2), np.float32), np.empty((2, 2), np.float32)
        )


@pytest.mark.parametrize("trans_a", [False, True])
def test_forced_paths_above_the_limit(trans_a):
    """The loop's contract holds at any size (path 1); path 2 is BLAS; repeat repeats."""
    a, b, op_a, op_b = operands(np.random.default_rng(3), 67, 41, 35, trans_a, False, np.float32)
    c = np.empty((67, 41), np.float32)
    assert _kernels.matmul(a, b, c, trans_a, False, 1, 3)
    np.testing.assert_array_equal(c, ordered_product(np.ascontiguousarray(op_a), op_b))
    assert not _kernels.matmul(a, b, c, trans_a, False, 2)
    np.testing.assert_allclose(c, op_a.astype(np.float64) @ op_b, rtol=1e-4, atol=1e-4)
    with pytest.raises(ValueError, match="small-product loop takes float32"):
        _kernels.matmul(
            a.astype(np.float64), b.astype(np.float64), c.astype(np.float64), trans_a, False, 1
        )
    with pytest.raises(ValueError, match="path must be"):
        _kernels.matmul(a, b, c, trans_a, False, 5)
