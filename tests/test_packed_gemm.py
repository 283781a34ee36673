"""The packed float32 product (fastdense/_packed_gemm.pxd, ``_kernels.matmul`` paths 3 and 4).

Its contract is sgemm_small's: every element of C is the float32 sum over k in
order, from 0, one rounded multiply and one rounded add per term. So the NumPy
loop of tests/test_small_gemm.py is an exact oracle for every transpose, every
edge of the register tile and of the packed panels, and every split of C into
blocks (the same product split across threads gives the same bits), with the
operand the blocks share packed by each block (path 3) or once (path 4); the SIMD
builds, which change only the vector width and the tile, match it too
(tests/test_simd.py hashes it in each build).
"""

import warnings

import numpy as np
import pytest
from hypothesis import settings
from test_small_gemm import operands, ordered_product, product_cases

from fastdense import _kernels

PACKED, SHARED = 3, 4  # _kernels.matmul's paths


def packed(a, b, trans_a, trans_b, repeat=1, path=PACKED):
    m = a.shape[1] if trans_a else a.shape[0]
    n = b.shape[0] if trans_b else b.shape[1]
    c = np.full((m, n), np.nan, np.float32)
    assert not _kernels.matmul(a, b, c, trans_a, trans_b, path, repeat)
    return c


def oracle(op_a, op_b):
    return ordered_product(np.ascontiguousarray(op_a), np.ascontiguousarray(op_b))


@settings(max_examples=150, deadline=None)
@product_cases(50)
def test_packed_products_are_the_ordered_sum(m, n, k, trans_a, trans_b, seed):
    a, b, op_a, op_b = operands(np.random.default_rng(seed), m, n, k, trans_a, trans_b, np.float32)
    np.testing.assert_array_equal(packed(a, b, trans_a, trans_b), oracle(op_a, op_b))


# the tile's edges (12 x 16 in the AVX-512 build, 6 x 16 AVX2, 6 x 8 baseline), the A
# block's (144 rows) and B panel's (512 columns), and k panels (512 deep): a later k
# panel goes on from C's partial sums; 4 x 4 transposes with remainders
@pytest.mark.parametrize(
    "m,n,k",
    [
        (12, 16, 9),
        (13, 17, 4),
        (6, 8, 1),
        (1, 1, 700),
        (145, 33, 7),
        (11, 515, 6),
        (7, 5, 1030),
        (150, 20, 513),
    ],
)
@pytest.mark.parametrize("trans_a", [False, True])
@pytest.mark.parametrize("trans_b", [False, True])
def test_tile_block_and_panel_edges(m, n, k, trans_a, trans_b):
    a, b, op_a, op_b = operands(
        np.random.default_rng(m * n + k), m, n, k, trans_a, trans_b, np.float32
    )
    np.testing.assert_array_equal(packed(a, b, trans_a, trans_b), oracle(op_a, op_b))


# split products (several blocks), C split by rows (op(B) shared) and by columns (op(A)
# shared), with k panels and edges, the shared operand packed once
@pytest.mark.parametrize("m,n,k", [(520, 300, 70), (100, 700, 530), (1100, 20, 100)])
@pytest.mark.parametrize("trans_a", [False, True])
@pytest.mark.parametrize("trans_b", [False, True])
def test_shared_operand_packed_once(m, n, k, trans_a, trans_b):
    a, b, op_a, op_b = operands(np.random.default_rng(m + n), m, n, k, trans_a, trans_b, np.float32)
    assert _kernels.product_blocks(m, n, k) > 1
    c = packed(a, b, trans_a, trans_b, repeat=2, path=SHARED)
    np.testing.assert_array_equal(c, oracle(op_a, op_b))


@pytest.mark.parametrize("trans_a", [False, True])
def test_equal_to_the_small_loop_and_blocks_do_not_matter(trans_a):
    """sgemm_small (path 1) gives the same bits; so does the product of a row block or a
    column block of C alone (a product of 512 x 300 x 40 is split into blocks)."""
    m, n, k = 512, 300, 40
    a, b, op_a, op_b = operands(np.random.default_rng(5), m, n, k, trans_a, False, np.float32)
    assert _kernels.product_blocks(m, n, k) > 1
    c = packed(a, b, trans_a, False, repeat=2)
    small = np.empty_like(c)
    _kernels.matmul(a, b, small, trans_a, False, 1)
    np.testing.assert_array_equal(c, small)
    rows = op_a[100:300]
    np.testing.assert_array_equal(
        packed(np.ascontiguousarray(rows.T if trans_a else rows), b, trans_a, False), c[100:300]
    )
    np.testing.assert_array_equal(
        packed(a, np.ascontiguousarray(b[:, 37:201]), trans_a, False), c[:, 37:201]
    )


def test_same_bits_for_one_and_two_threads():
    threadpoolctl = pytest.importorskip("threadpoolctl")
    a, b, _, _ = operands(np.random.default_rng(7), 520, 300, 70, False, True, np.float32)
    with threadpoolctl.threadpool_limits(1, user_api="openmp"):
        one = packed(a, b, False, True)
    with threadpoolctl.threadpool_limits(2, user_api="openmp"):
        two = packed(a, b, False, True)
        shared = packed(a, b, False, True, path=SHARED)
    np.testing.assert_array_equal(one, two)
    np.testing.assert_array_equal(one, shared)


def test_special_values_and_empty_sums():
    a = np.array([[np.inf, 1.0], [np.nan, 2.0], [-0.0, -0.0]], np.float32)
    b = np.array([[0.0, 1.0], [3.0, -0.0]], np.float32)
    np.testing.assert_array_equal(packed(a, b, False, False), oracle(a, b))
    c = packed(np.ones((3, 0), np.float32), np.ones((0, 4), np.float32), False, False)
    np.testing.assert_array_equal(c, np.zeros((3, 4), np.float32))


def test_doors():
    a = np.ones((4, 3))
    with pytest.raises(ValueError, match="packed product takes float32"):
        _kernels.matmul(a, a.T.copy(), np.empty((4, 4)), False, False, PACKED)
    with pytest.raises(ValueError, match="path must be 0, 1, 2, 3 or 4"):
        _kernels.matmul(a, a.T.copy(), np.empty((4, 4)), False, False, 5)


@pytest.mark.parametrize("solver", ["sgd", "adam"])
@pytest.mark.parametrize("kind", ["binary", "multi", "regressor"])
def test_the_epochs_packed_products_train_the_float64_model(kind, solver):
    """The sgd/adam epoch runs its float32 products of two blocks or more packed
    (fastdense/_train.pyx: pack_shared, product_block): a float32 fit of a network
    whose every product splits follows the float64 fit (BLAS) to float32's precision,
    so every operand, transpose and block of every product is wired right."""
    from fastdense import DenseBinaryClassifier, DenseClassifier, DenseRegressor

    n_features, hidden, batch = 96, (256, 256), 256
    assert _kernels.product_blocks(batch, hidden[0], n_features) > 1  # forward 1
    assert _kernels.product_blocks(batch, hidden[1], hidden[0]) > 1  # forward 2, dA1
    assert _kernels.product_blocks(hidden[0], hidden[1], batch) > 1  # dW2
    assert _kernels.product_blocks(n_features, hidden[0], batch) > 1  # dW1
    rng = np.random.default_rng(0)
    X = rng.standard_normal((2 * batch + 64, n_features))
    score = X[:, 0] * X[:, 1] + X[:, 2]
    cls, y = {
        "binary": (DenseBinaryClassifier, (score > 0).astype(int)),
        "multi": (DenseClassifier, np.digitize(score, [-1, 0, 1])),
        "regressor": (DenseRegressor, score),
    }[kind]
    fits = {}
    for dtype in ("float32", "float64"):
        est = cls(hidden_layer_sizes=hidden, solver=solver, batch_size=batch, max_iter=2, tol=0)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # ConvergenceWarning: two epochs
            fits[dtype] = est.set_params(dtype=dtype, random_state=0).fit(X, y)
        assert fits[dtype].n_iter_ == 2
    for w32, w64 in zip(fits["float32"].coefs_, fits["float64"].coefs_):
        assert w32.dtype == np.float32
        # in norm: Adam divides by sqrt(v), so where a gradient is tiny float32's
        # rounding moves a step; a miswired product would move every weight
        assert np.linalg.norm(w32 - w64) < 3e-4 * np.linalg.norm(w64)  # measured <= 5e-5
    np.testing.assert_allclose(fits["float32"].loss_curve_, fits["float64"].loss_curve_, rtol=1e-5)
