"""DenseRegressor: scikit-learn's MLPRegressor, fast.

An identity output with the half squared error, or (``loss='poisson'``) an
exponential output (log link) with the half Poisson deviance, as
MLPRegressor has them, or (``loss='absolute_error'``, ``'huber'``) an
identity output with PyTorch's L1 or Huber loss, scaled as the squared
error; single or multi-output targets; trained by the shared base
(:mod:`._base`).
"""

from numbers import Real
from typing import Any

import numpy as np
from sklearn.base import RegressorMixin, _fit_context
from sklearn.metrics import r2_score
from sklearn.utils import column_or_1d
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_array, validate_data

from .. import _fast_input, _train
from ._base import _DenseBase
from ._params import CONSTRAINTS, LAYER_KEYWORDS, MLP_KEYWORDS, init_with, params_doc

__all__ = ["DenseRegressor"]

_LOSS_DOC = """    loss : {'squared_error', 'poisson', 'absolute_error', 'huber'}, default='squared_error'
        'squared_error': identity output, half the squared error (reported as
        the mean over outputs, as MLPRegressor reports it). 'poisson': an
        exponential output (log link) and half the Poisson deviance; targets
        must be non-negative for it to mean anything (as in MLPRegressor).
        'absolute_error' and 'huber' (additions to MLPRegressor's set): an
        identity output with PyTorch's ``L1Loss`` (``|r|``) or ``HuberLoss``
        (``0.5 r^2`` if ``|r| < huber_delta`` else
        ``huber_delta * (|r| - 0.5 huber_delta)``), r the residual, averaged
        over samples and outputs. Their small-residual scale is
        squared_error's (scikit-learn's half squared error is 'huber' with an
        infinite delta), and, as squared_error's, their gradient is that of
        the sum over outputs (for one output: PyTorch's gradient exactly).
        The gradient of the absolute error at r = 0 is 0 (``torch.sign``).

"""

_HUBER_DOC = """
    huber_delta : float, default=1.0
        The residual size where the Huber loss turns from quadratic to linear
        (PyTorch's ``HuberLoss(delta=...)``); used with ``loss='huber'`` only.
"""


class DenseRegressor(RegressorMixin, _DenseBase):
    __doc__ = (
        """Multi-layer perceptron regressor, trained in compiled code.

    A drop-in replacement for :class:`sklearn.neural_network.MLPRegressor`:
    the same parameters with the same defaults, the same fitted attributes
    and methods; in float64 with the same ``random_state`` the same model up
    to floating-point rounding.

    Parameters
    ----------
"""
        + params_doc(loss=_LOSS_DOC, classifier=False)
        + _HUBER_DOC
        + """
    Attributes
    ----------
    n_outputs_ : int
        Number of outputs.

    out_activation_ : str
        'identity' (squared, absolute and Huber losses) or 'exp' (Poisson).

    validation_loss_curve_ : list or None
        The validation loss (the training loss without the L2 term) per
        epoch, with a validation set (``fit(..., X_val=, y_val=)``) or early
        stopping; else None.

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
    )

    _parameter_constraints: dict = {
        **CONSTRAINTS,
        "loss": [StrOptions({"squared_error", "poisson", "absolute_error", "huber"})],
        "huber_delta": [Interval(Real, 0, None, closed="neither")],
    }

    __init__ = init_with(
        ("loss", "hidden_layer_sizes", "activation"),
        (*MLP_KEYWORDS, *LAYER_KEYWORDS, "dtype", "scoring", "huber_delta"),
    )

    def _output_code(self):
        # the robust losses run on the identity output, under their own codes
        if self.loss in ("absolute_error", "huber"):
            return _train.OUTPUT_CODES[self.loss]
        return super()._output_code()

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
        X_fast = (
            None if y_fast is None else _fast_input.features(self, X, self._dtype_spec(), reset)
        )
        if X_fast is not None:  # the common input, proven as validate_data would
            self._check_poisson_targets(y_fast)
            return X_fast, (y_fast.reshape((-1, 1)) if y_fast.ndim == 1 else y_fast), y_fast
        X, y = validate_data(
            self,
            X,
            y,
            accept_sparse=["csr", "csc"],
            multi_output=True,
            y_numeric=True,
            dtype=self._dtype_spec(),
            reset=reset,
        )
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        self._check_poisson_targets(y)
        y_raw = y
        if y.ndim == 1:
            y = y.reshape((-1, 1))
        return X, y, y_raw

    def _check_poisson_targets(self, y):
        """Poisson's targets are counts or rates: a negative one is the input's error.

        (MLPRegressor fits them anyway: its loss exp(z) - y z then has no minimum,
        and the fit diverges; scikit-learn's PoissonRegressor refuses them.)
        """
        if self.loss == "poisson" and np.size(y) and np.min(y) < 0:
            raise ValueError(
                f"loss='poisson' needs targets >= 0 (counts or rates); y has negative "
                f"values (min {float(np.min(y))!r}). Use loss='squared_error' for such targets."
            )

    def _validation_targets(self, y_val, n_outputs):
        """(kernel, as given) targets of a validation set with y's number of outputs."""
        y = check_array(y_val, ensure_2d=False, dtype="numeric", input_name="y_val")
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        n_out = 1 if y.ndim == 1 else y.shape[1]
        if y.ndim > 2 or n_out != n_outputs:
            raise ValueError(f"y_val has {n_out} outputs, but y has {n_outputs}")
        return y, y

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

    # Always available, as MLPRegressor's is (its availability check is never false): with
    # solver="lbfgs" it runs a whole L-BFGS fit warm-started from the current weights.
    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X: Any, y: Any, sample_weight: Any = None) -> "DenseRegressor":
        """Update the model with a single epoch over the given data.

        With ``solver="lbfgs"`` (as ``MLPRegressor.partial_fit``) this runs an
        L-BFGS fit of up to ``max_iter`` iterations, starting from the current
        weights.

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
