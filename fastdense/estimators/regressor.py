"""DenseRegressor: scikit-learn's MLPRegressor, fast.

An identity output with the half squared error, or (``loss='poisson'``) an
exponential output (log link) with the half Poisson deviance, as
MLPRegressor has them; single or multi-output targets; trained by the
shared base (:mod:`._base`).
"""

from typing import Any

import numpy as np
from sklearn.base import RegressorMixin, _fit_context
from sklearn.metrics import r2_score
from sklearn.utils import column_or_1d
from sklearn.utils._param_validation import StrOptions
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import validate_data

from .. import _fast_input
from ._base import _DenseBase
from ._params import CONSTRAINTS, LAYER_KEYWORDS, MLP_KEYWORDS, init_with, params_doc

__all__ = ["DenseRegressor"]

_LOSS_DOC = """    loss : {'squared_error', 'poisson'}, default='squared_error'
        'squared_error': identity output, half the squared error (reported as
        the mean over outputs, as MLPRegressor reports it). 'poisson': an
        exponential output (log link) and half the Poisson deviance; targets
        must be non-negative for it to mean anything (as in MLPRegressor).

"""


class DenseRegressor(RegressorMixin, _DenseBase):
    __doc__ = """Multi-layer perceptron regressor, trained in compiled code.

    A drop-in replacement for :class:`sklearn.neural_network.MLPRegressor`:
    the same parameters with the same defaults, the same fitted attributes
    and methods; in float64 with the same ``random_state`` the same model up
    to floating-point rounding.

    Parameters
    ----------
""" + params_doc(loss=_LOSS_DOC, classifier=False) + """
    Attributes
    ----------
    n_outputs_ : int
        Number of outputs.

    out_activation_ : str
        'identity' (squared error) or 'exp' (Poisson).

    loss_, best_loss_, loss_curve_, validation_scores_, best_validation_score_,
    t_, coefs_, intercepts_, n_features_in_, feature_names_in_, n_iter_, n_layers_
        As :class:`sklearn.neural_network.MLPRegressor`'s.

    See Also
    --------
    sklearn.neural_network.MLPRegressor : The reference implementation.

    Examples
    --------
    >>> from sklearn.datasets import make_regression
    >>> from fastdense import DenseRegressor
    >>> X, y = make_regression(n_samples=200, n_features=5, random_state=0)
    >>> reg = DenseRegressor(hidden_layer_sizes=(32,), solver="lbfgs",
    ...                      max_iter=500, random_state=0).fit(X, y)
    >>> bool(reg.score(X, y) > 0.9)
    True
    """

    _parameter_constraints: dict = {
        **CONSTRAINTS, "loss": [StrOptions({"squared_error", "poisson"})]}

    __init__ = init_with(("loss", "hidden_layer_sizes", "activation"),
                         (*MLP_KEYWORDS, *LAYER_KEYWORDS, "dtype", "scoring"))

    def _output_activation(self):
        return "exp" if self.loss == "poisson" else "identity"

    @staticmethod
    def _default_score(y, y_pred, sample_weight=None):
        return r2_score(y, y_pred, sample_weight=sample_weight)

    def _check_targets_state(self):
        n_out = getattr(self, "n_outputs_", None)
        if not isinstance(n_out, (int, np.integer)) or n_out < 1:
            raise ValueError(f"n_outputs_ must be a positive int; got {n_out!r}")

    def _validate_input(self, X, y, incremental, reset):
        y_fast = _fast_input.numeric_targets(y, getattr(X, "shape", (None,))[0], allow_2d=True)
        X_fast = None if y_fast is None else _fast_input.features(
            self, X, self._dtype_spec(), reset)
        if X_fast is not None:  # the common input, proven as validate_data would
            return X_fast, (y_fast.reshape((-1, 1)) if y_fast.ndim == 1 else y_fast), y_fast
        X, y = validate_data(
            self, X, y, accept_sparse=["csr", "csc"], multi_output=True, y_numeric=True,
            dtype=self._dtype_spec(), reset=reset,
        )
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        y_raw = y
        if y.ndim == 1:
            y = y.reshape((-1, 1))
        return X, y, y_raw

    def _output(self, z):
        """The output layer's activation of the logits z (n, n_outputs), as MLPRegressor's."""
        if self.out_activation_ == "exp":
            np.exp(z, out=z)
        return z

    def _finish_predict(self, y_pred):
        return y_pred.ravel() if y_pred.shape[1] == 1 else y_pred

    def predict(self, X: Any) -> np.ndarray:
        """Predict using the multi-layer perceptron model.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The input data.

        Returns
        -------
        y : ndarray of shape (n_samples,) or (n_samples, n_outputs)
            The predicted values.
        """
        return self._predict(X)

    @available_if(lambda est: est._check_solver())
    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X: Any, y: Any, sample_weight: Any = None) -> "DenseRegressor":
        """Update the model with a single epoch over the given data.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The input data.

        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            The target values.

        sample_weight : array-like of shape (n_samples,), default=None
            Sample weights.

        Returns
        -------
        self : DenseRegressor
            The updated estimator.
        """
        return self._fit(X, y, sample_weight=sample_weight, incremental=True)
