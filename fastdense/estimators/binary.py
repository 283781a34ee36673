"""DenseBinaryClassifier: scikit-learn's MLPClassifier for binary targets, fast.

The estimator this project is named for, now one configuration of the shared
classifier core (:class:`~fastdense.estimators.classifier._ClassifierCore`):
binary targets only, with ``decision_function`` and a ``predict_log_proba``
that never rounds 1 - p to 0. Its other methods, its parameters and its
model are DenseClassifier's on a binary target.
"""

from typing import Any

import numpy as np
from scipy.special import log_expit

from ._params import params_doc
from .classifier import _ClassifierCore

__all__ = ["DenseBinaryClassifier"]


class DenseBinaryClassifier(_ClassifierCore):
    __doc__ = (
        """Multi-layer perceptron for binary classification, trained in compiled code.

    A drop-in replacement for :class:`sklearn.neural_network.MLPClassifier`
    on binary targets: the same parameters with the same defaults and
    meanings, the same fitted attributes, and, in float64 with the same
    ``random_state``, the same model up to floating-point rounding. Each
    training epoch (``sgd``/``adam``) or loss evaluation (``lbfgs``) is a
    single call into a Cython+BLAS kernel that releases the GIL.

    Parameters
    ----------
"""
        + params_doc()
        + """
    Attributes
    ----------
    classes_ : ndarray of shape (2,)
        Class labels.

    loss_ : float
        The current loss.

    best_loss_ : float or None
        The minimum training loss (None with early stopping).

    loss_curve_ : list of shape (n_iter_,)
        Loss at the end of each epoch (sgd/adam).

    validation_scores_ : list or None
        Validation score of each epoch with early stopping or a validation
        set (``fit(..., X_val=, y_val=)``), else None.

    best_validation_score_ : float or None
        Best validation score with early stopping, else None.

    validation_loss_curve_ : list or None
        The validation loss (the training loss without the L2 term) per
        epoch, with a validation set (``fit(..., X_val=, y_val=)``) or early
        stopping; else None.

    t_ : int
        Number of training samples seen by the solver.

    coefs_ : list of ndarray
        ``coefs_[i]`` is the (n_in, n_out) weight matrix of layer i + 1.

    intercepts_ : list of ndarray
        ``intercepts_[i]`` is the bias vector of layer i + 1.

    n_features_in_ : int
        Number of features seen during fit.

    feature_names_in_ : ndarray of shape (n_features_in_,)
        Feature names seen during fit (string column names only).

    n_iter_ : int
        Number of epochs (sgd/adam) or iterations (lbfgs) run.

    n_layers_ : int
        Number of layers, input and output included.

    n_outputs_ : int
        Number of outputs (1).

    out_activation_ : str
        Output activation ('logistic').

    See Also
    --------
    sklearn.neural_network.MLPClassifier : The reference implementation.

    Notes
    -----
    Differences from MLPClassifier: binary targets only; float32 input with
    ``solver='lbfgs'`` keeps float32 parameters (MLPClassifier returns float64
    ones); an edit of ``coefs_`` / ``intercepts_`` that breaks the network is
    a ``ValueError`` naming the array (see ``docs/from_mlpclassifier.md``).

    Persistence: a pickle (or ``joblib.dump``) of this estimator runs code when
    it is loaded, as every pickle does: load pickles only from sources you
    trust. ``fastdense.save`` / ``fastdense.load`` write and read a safetensors
    file instead, which runs no code and is read through a whitelist.

    Examples
    --------
    >>> from sklearn.datasets import make_classification
    >>> from sklearn.model_selection import cross_val_score
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> from fastdense import DenseBinaryClassifier
    >>> X, y = make_classification(n_samples=300, random_state=0)
    >>> clf = make_pipeline(StandardScaler(), DenseBinaryClassifier(
    ...     hidden_layer_sizes=(16,), max_iter=300, random_state=0))
    >>> clf.fit(X, y).predict(X[:3]).shape
    (3,)
    >>> bool(cross_val_score(clf, X, y, cv=3).mean() > 0.8)
    True
    """
    )

    _binary_only = True

    def _output_activation(self):
        return "logistic"

    def _check_targets_state(self):
        classes = getattr(self, "classes_", None)
        if classes is None or np.ndim(classes) != 1 or len(classes) != 2:
            raise ValueError(
                f"classes_ must hold the 2 classes of a binary target; got {classes!r}"
            )
        super()._check_targets_state()

    def decision_function(self, X: Any) -> np.ndarray:
        """The logit of the positive class (``classes_[1]``) for each sample.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The input data.

        Returns
        -------
        z : ndarray of shape (n_samples,)
            The output layer's pre-activation; positive means ``classes_[1]``.
        """
        return self._validated_decision(X).ravel()

    def predict_log_proba(self, X: Any) -> np.ndarray:
        """Log of the probability estimates.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The input data.

        Returns
        -------
        log_proba : ndarray of shape (n_samples, 2)
            ``log(predict_proba(X))``, computed without rounding 1 - p to 0
            (finite for any finite logit).
        """
        # log(expit(+-z)) computed as such: finite where 1 - p rounds to 0, no warning
        z = self._validated_decision(X).ravel()
        return np.vstack([log_expit(-z), log_expit(z)]).T

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_class = False
        tags.classifier_tags.multi_label = False
        return tags
