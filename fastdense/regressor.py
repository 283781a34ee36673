"""DenseRegressor: scikit-learn's MLPRegressor, fast.

An identity output with the half squared error, or (``loss='poisson'``) an
exponential output (log link) with the half Poisson deviance, as
MLPRegressor has them; single or multi-output targets; trained by the shared
core in :mod:`fastdense.estimator`.
"""

from typing import Any

import numpy as np
from sklearn.base import RegressorMixin, _fit_context
from sklearn.metrics import r2_score
from sklearn.utils import column_or_1d
from sklearn.utils._param_validation import StrOptions
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import validate_data

from . import _fast_input
from .estimator import _DenseBase, _params_doc as params_doc

__all__ = ["DenseRegressor"]


class DenseRegressor(RegressorMixin, _DenseBase):
    __doc__ = """Multi-layer perceptron regressor, trained in compiled code.

    A drop-in replacement for :class:`sklearn.neural_network.MLPRegressor`:
    the same parameters with the same defaults, the same fitted attributes
    and methods; in float64 with the same ``random_state`` the same model up
    to floating-point rounding.

    Parameters
    ----------
    loss : {'squared_error', 'poisson'}, default='squared_error'
        'squared_error': identity output, half the squared error (reported as
        the mean over outputs, as MLPRegressor reports it). 'poisson': an
        exponential output (log link) and half the Poisson deviance; targets
        must be non-negative for it to mean anything (as in MLPRegressor).

""" + params_doc(classifier=False) + """
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
        **_DenseBase._parameter_constraints,
        "loss": [StrOptions({"squared_error", "poisson"})],
    }

    def __init__(
        self,
        loss="squared_error",
        hidden_layer_sizes=(100,),
        activation="relu",
        *,
        solver="adam",
        alpha=0.0001,
        batch_size="auto",
        learning_rate="constant",
        learning_rate_init=0.001,
        power_t=0.5,
        max_iter=200,
        shuffle=True,
        random_state=None,
        tol=1e-4,
        verbose=False,
        warm_start=False,
        momentum=0.9,
        nesterovs_momentum=True,
        early_stopping=False,
        validation_fraction=0.1,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-8,
        n_iter_no_change=10,
        max_fun=15000,
        dtype=None,
        scoring=None,
    ):
        self.loss = loss
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.solver = solver
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.learning_rate_init = learning_rate_init
        self.power_t = power_t
        self.max_iter = max_iter
        self.shuffle = shuffle
        self.random_state = random_state
        self.tol = tol
        self.verbose = verbose
        self.warm_start = warm_start
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.n_iter_no_change = n_iter_no_change
        self.max_fun = max_fun
        self.dtype = dtype
        self.scoring = scoring

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
        if self.out_activation_ == "exp":
            np.exp(z, out=z)
        return z

    def _predict_validated(self, X):
        y_pred = self._output(self._decision_validated(X))
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
        y_pred = self._output(self._validated_decision(X))
        return y_pred.ravel() if y_pred.shape[1] == 1 else y_pred

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
