"""Sizes past BLAS's 32-bit ints are rejected clearly before any copy or BLAS call.

Zero-stride views (np.broadcast_to) give the shapes without allocating; each
call must raise at once (a copy of these would take 8-16 GB).
"""

import numpy as np
import pytest

from fastdense import DenseBinaryClassifier, kernels, nn
from fastdense.nn import functional as F

BIG = 2**31  # one past the largest BLAS int


def huge(shape, dtype=np.float32):
    return np.broadcast_to(np.zeros((), dtype=dtype), shape)


@pytest.mark.parametrize("solver", ["lbfgs", "adam"])
def test_estimator_rejects_too_many_features(solver):
    y = np.array([0, 1, 0])
    with pytest.raises(ValueError, match="features.*32-bit"):
        DenseBinaryClassifier((4,), solver=solver).fit(huge((3, BIG)), y)


def test_estimator_rejects_too_many_rows_for_full_batch_lbfgs():
    y = huge((BIG + 3,), np.int64)
    with pytest.raises(ValueError, match="lbfgs.*32-bit"):
        DenseBinaryClassifier((4,), solver="lbfgs").fit(huge((BIG + 3, 2)), y)


def test_estimator_rejects_a_minibatch_too_large_for_blas():
    y = huge((BIG + 3,), np.int64)
    with pytest.raises(ValueError, match="batch_size"):
        DenseBinaryClassifier((4,), batch_size=BIG + 1).fit(huge((BIG + 3, 2)), y)


def test_estimator_rejects_too_wide_a_layer_before_allocating():
    X = np.zeros((4, 2))
    with pytest.raises(ValueError, match="units.*32-bit"):
        DenseBinaryClassifier((3, BIG)).fit(X, [0, 1, 0, 1])


def test_nn_linear_rejects_blas_overflowing_shapes_before_copying():
    W = nn.Parameter(np.zeros((2, 3), dtype=np.float32))
    with pytest.raises(ValueError, match="input.shape\\[0\\].*exceeds"):
        F.linear(huge((BIG, 3)), W)
    with pytest.raises(ValueError, match="weight.shape\\[1\\].*exceeds"):
        F.linear(np.zeros((2, 3), np.float32), huge((2, BIG)))
    with pytest.raises(ValueError, match="in_features.*exceeds"):
        nn.Linear(BIG, 1)
    with pytest.raises(ValueError, match="out_features.*exceeds"):
        nn.Linear(1, BIG)


def test_kernels_reject_blas_overflowing_shapes():
    with pytest.raises(ValueError, match="exceeds"):
        kernels.dense_forward(huge((BIG, 2)), np.zeros((3, 2), np.float32), None)
    with pytest.raises(ValueError, match="exceeds"):
        kernels.dense_forward(huge((2, BIG)), huge((3, BIG)), None)
