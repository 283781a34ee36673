"""A validation set given to ``fit`` (``X_val``, ``y_val``, ``sample_weight_val``).

The keywords and checks are ``HistGradientBoosting*``'s: ``X_val`` and
``y_val`` come together, ``X_val`` is checked like ``X`` (feature count and
names, converted to the fitted dtype, CSR/CSC allowed), ``y_val`` like ``y``
against what the fit learned (a classifier's labels, a regressor's number of
outputs), ``sample_weight_val`` weighs the validation loss and score only (as
there, ``class_weight`` is not applied to a given validation set). The
early-stopping split of the training data becomes the same
:class:`ValidationSet`, so one code path scores both per epoch.
"""

import numpy as np
from sklearn.utils.validation import _check_feature_names, _check_sample_weight, check_array

from .. import _train

__all__ = ["ValidationSet", "check_presence", "check_validation_set"]


class ValidationSet:
    """A validated validation set: rows, kernel targets, score targets, weights.

    Parameters
    ----------
    X : ndarray or sparse matrix of shape (n, n_features)
        Validated features in the network's dtype.
    Y : array-like of shape (n, n_outputs) or (n,)
        The targets as the loss kernel takes them (a classifier's binarized labels).
    y : array-like
        The targets as the estimator's score takes them (class labels, values).
    sample_weight : ndarray of shape (n,) or None
        Validation weights.
    dtype : numpy dtype
        The network's dtype.
    """

    __slots__ = ("X", "Y", "y", "sample_weight", "_sw_kernel")

    def __init__(self, X, Y, y, sample_weight, dtype):
        n = X.shape[0]
        self.X = X
        self.Y = np.ascontiguousarray(np.asarray(Y).reshape(n, -1), dtype=dtype)
        self.y = y
        self.sample_weight = sample_weight
        self._sw_kernel = (
            np.zeros(0, dtype=dtype)
            if sample_weight is None
            else np.ascontiguousarray(sample_weight, dtype=dtype)
        )

    def loss(self, output_code, logits, huber_delta=1.0):
        """The training loss's output part (no L2 term) of these logits: the compiled kernel."""
        return _train.output_loss(
            output_code, np.array(logits, order="C"), self.Y, self._sw_kernel, huber_delta
        )


def check_presence(X_val, y_val, sample_weight_val):
    """True if a validation set is given; a ValueError if only part of one is."""
    if X_val is None and y_val is None:
        if sample_weight_val is not None:
            raise ValueError(
                "sample_weight_val is provided, but X_val and y_val were not provided."
            )
        return False
    if y_val is None:
        raise ValueError("X_val is provided, but y_val was not provided.")
    if X_val is None:
        raise ValueError("y_val is provided, but X_val was not provided.")
    return True


def check_validation_set(est, X_val, y_val, sample_weight_val, dtype, n_outputs):
    """The given validation set checked against `est`, as a :class:`ValidationSet`.

    Called after ``fit`` validated X and y (so ``n_features_in_``, the
    feature names and a classifier's labels are known; y has `n_outputs`
    columns) and before the network is built or trained.
    """
    X = check_array(X_val, accept_sparse=["csr", "csc"], dtype=dtype, input_name="X_val")
    n_features = int(est.n_features_in_)
    if X.shape[1] != n_features:
        raise ValueError(
            f"X_val has {X.shape[1]} features, but X has {n_features}: the "
            "validation set must have the training data's features"
        )
    _check_feature_names(est, X_val, reset=False)
    Y, y = est._validation_targets(y_val, n_outputs)
    n = X.shape[0]
    if len(y) != n:
        raise ValueError(f"y_val has {len(y)} rows, but X_val has {n}")
    sw = None
    if sample_weight_val is not None:
        if np.ndim(sample_weight_val) == 1 and len(sample_weight_val) != n:
            raise ValueError(
                f"sample_weight_val has {len(sample_weight_val)} weights, but X_val has {n} rows"
            )
        sw = _check_sample_weight(sample_weight_val, X, dtype=dtype)
    return ValidationSet(X, Y, y, sw, dtype)
