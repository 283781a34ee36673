"""DenseClassifier: scikit-learn's MLPClassifier for every target it takes, fast.

Binary targets get a logistic output unit, multi-class targets a softmax
output with the categorical log loss, multilabel targets (a label indicator
matrix) a logistic unit per label: the output layers MLPClassifier chooses.
``_ClassifierCore`` (labels, class weights, the logistic/softmax output and
the predict methods) is also the core of
:class:`~fastdense.estimators.binary.DenseBinaryClassifier`, which restricts it
to binary targets.
"""

from typing import Any

import numpy as np
from scipy.special import expit
from sklearn.base import ClassifierMixin, _fit_context
from sklearn.metrics import accuracy_score
from sklearn.preprocessing import LabelBinarizer
from sklearn.utils import column_or_1d
from sklearn.utils._param_validation import StrOptions
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import (
    _check_partial_fit_first_call,
    check_classification_targets,
    type_of_target,
    unique_labels,
)
from sklearn.utils.validation import check_array, validate_data

from .. import _fast_input
from ._base import _DenseBase
from ._params import CONSTRAINTS, LAYER_KEYWORDS, MLP_KEYWORDS, init_with, params_doc

__all__ = ["DenseClassifier"]

_BINARY_ONLY = (
    "Only binary classification is supported. DenseBinaryClassifier got a {} "
    "target; use fastdense.DenseClassifier for it (the same parameters: multi-class "
    "and multilabel targets)."
)


def _softmax(z):
    """scikit-learn's inplace_softmax on a copy-free (n, k) array, step by step."""
    tmp = z - z.max(axis=1)[:, np.newaxis]
    np.exp(tmp, out=z)
    z /= z.sum(axis=1)[:, np.newaxis]
    return z


class _ClassifierCore(ClassifierMixin, _DenseBase):
    """What the classifiers share: labels, class weights, the logistic/softmax output."""

    _parameter_constraints: dict = {
        **CONSTRAINTS,
        "class_weight": [None, dict, list, StrOptions({"balanced"})],
    }
    _binary_only = False  # DenseBinaryClassifier: True

    __init__ = init_with(
        ("hidden_layer_sizes", "activation"),
        (*MLP_KEYWORDS, *LAYER_KEYWORDS, "dtype", "class_weight", "scoring"),
    )

    def _output_activation(self):
        # MLPClassifier: softmax for multi-class, a logistic unit per output otherwise
        return "softmax" if self._label_binarizer.y_type_ == "multiclass" else "logistic"

    @staticmethod
    def _default_score(y, y_pred, sample_weight=None):
        return accuracy_score(y, y_pred, sample_weight=sample_weight)

    def _check_targets_state(self):
        classes = getattr(self, "classes_", None)
        binarizer = getattr(self, "_label_binarizer", None)
        if classes is None or np.ndim(classes) != 1 or len(classes) < 2:
            raise ValueError(f"classes_ must hold at least 2 classes; got {classes!r}")
        if not isinstance(binarizer, LabelBinarizer) or not np.array_equal(
            getattr(binarizer, "classes_", None), classes
        ):
            raise ValueError("the fitted label binarizer does not match classes_")
        y_type = getattr(binarizer, "y_type_", None)
        n_out = 1 if y_type == "binary" else len(classes)
        if y_type not in ("binary", "multiclass", "multilabel-indicator") or (
            self._binary_only and y_type != "binary"
        ):
            raise ValueError(f"the fitted label binarizer has target type {y_type!r}")
        if getattr(self, "n_outputs_", None) != n_out:
            raise ValueError(
                f"n_outputs_ must be {n_out} for {len(classes)} classes "
                f"({y_type}); got {getattr(self, 'n_outputs_', None)!r}"
            )

    def _validate_input(self, X, y, incremental, reset):
        fast = self._fast_input(X, y, incremental, reset)
        if fast is not None:
            return fast
        X, y = validate_data(
            self,
            X,
            y,
            accept_sparse=["csr", "csc"],
            multi_output=True,
            dtype=self._dtype_spec(),
            reset=reset,
        )
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        check_classification_targets(y)
        y_type = type_of_target(y, input_name="y")
        if self._binary_only and y_type != "binary":
            raise ValueError(_BINARY_ONLY.format(y_type))
        if self._labels_from_y(incremental):
            self._label_binarizer = LabelBinarizer()
            self._label_binarizer.fit(y)
            self.classes_ = self._label_binarizer.classes_
        else:
            classes = unique_labels(y)
            if self.warm_start:
                if set(classes) != set(self.classes_):
                    raise ValueError(
                        "warm_start can only be used where `y` has the same "
                        "classes as in the previous call to fit. Previously "
                        f"got {self.classes_}, `y` has {classes}"
                    )
            elif len(np.setdiff1d(classes, self.classes_, assume_unique=True)):
                raise ValueError(
                    "`y` has classes not in `self.classes_`. "
                    f"`self.classes_` has {self.classes_}. 'y' has {classes}."
                )
        y_raw = y
        # This downcast to bool is to prevent upcasting when working with float32 data
        y = self._label_binarizer.transform(y).astype(bool)
        return X, y, y_raw

    def _validation_targets(self, y_val, n_outputs):
        """(binarized, as given) targets of a validation set, in labels this fit learned.

        (`n_outputs` follows from the label binarizer, which this checks against.)
        """
        y = check_array(y_val, ensure_2d=False, dtype=None, input_name="y_val")
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        check_classification_targets(y)
        y_type = type_of_target(y, input_name="y_val")
        fitted = self._label_binarizer.y_type_
        if (y_type == "multilabel-indicator") != (fitted == "multilabel-indicator"):
            raise ValueError(
                f"y_val is a {y_type} target, but the classifier was fitted on a {fitted} target"
            )
        if fitted == "multilabel-indicator":
            if y.shape[1] != len(self.classes_):
                raise ValueError(f"y_val has {y.shape[1]} labels, but y has {len(self.classes_)}")
        else:
            known = set(self.classes_.tolist())
            unknown = [c for c in np.unique(y).tolist() if c not in known]
            if unknown:
                raise ValueError(
                    f"y_val has labels not seen in y: {unknown}; the "
                    f"classifier knows {self.classes_.tolist()}"
                )
        return self._label_binarizer.transform(y), y

    def _labels_from_y(self, incremental):
        """True when this call's y defines the classes (a first or a cold fit); else they stay."""
        return not hasattr(self, "classes_") or (not self.warm_start and not incremental)

    def _fast_input(self, X, y, incremental, reset):
        """What :meth:`_validate_input` returns, for the common input only; else None.

        A 1-d numeric y of a binary (or, for DenseClassifier, multiclass)
        target and a float ndarray X (see :mod:`fastdense._fast_input`); the
        label binarizer is built as ``LabelBinarizer().fit(y)`` builds it.
        """
        y = _fast_input.numeric_targets(y, getattr(X, "shape", (None,))[0], allow_2d=False)
        if y is None:
            return None
        if self._labels_from_y(incremental):
            classes = _fast_input.class_labels(y)
            if classes is None or (self._binary_only and classes.shape[0] > 2):
                return None
            binarizer = None
        else:
            binarizer = getattr(self, "_label_binarizer", None)
            if type(binarizer) is not LabelBinarizer or binarizer.y_type_ not in (
                "binary",
                "multiclass",
            ):
                return None
            classes = binarizer.classes_
            if self.warm_start and not np.array_equal(np.unique(y), classes):
                return None  # the full path raises warm_start's error
        y_bin = _fast_input.binarized(y, classes)
        if y_bin is None:
            return None
        X = _fast_input.features(self, X, self._dtype_spec(), reset)
        if X is None:
            return None
        if binarizer is None:  # the attributes LabelBinarizer.fit sets, for this y
            binarizer = LabelBinarizer()
            binarizer.y_type_ = "binary" if classes.shape[0] == 2 else "multiclass"
            binarizer.sparse_input_ = False
            binarizer.classes_ = classes
            self._label_binarizer = binarizer
            self.classes_ = classes
        return X, y_bin, y

    @available_if(lambda est: est._check_solver())
    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X: Any, y: Any, sample_weight: Any = None, classes: Any = None) -> Any:
        """Update the model with a single epoch over the given data.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The input data.

        y : array-like of shape (n_samples,) or (n_samples, n_classes)
            Class labels (a label indicator matrix for multilabel targets).

        sample_weight : array-like of shape (n_samples,), default=None
            Sample weights.

        classes : array-like of shape (n_classes,), default=None
            All classes; required on the first call, may be omitted later.
            (MLPClassifier's order: ``partial_fit(X, y, sample_weight, classes)``.)

        Returns
        -------
        self : object
            The updated estimator.
        """
        if self._binary_only and classes is not None and not hasattr(self, "classes_"):
            n_classes = len(unique_labels(classes))
            if n_classes > 2:
                raise ValueError(_BINARY_ONLY.format(f"{n_classes}-class"))
        if _check_partial_fit_first_call(self, classes):
            self._label_binarizer = LabelBinarizer()
            if type_of_target(y).startswith("multilabel"):
                if self._binary_only:
                    raise ValueError(_BINARY_ONLY.format(type_of_target(y)))
                self._label_binarizer.fit(y)
            else:
                self._label_binarizer.fit(classes)
        return self._fit(X, y, sample_weight=sample_weight, incremental=True)

    def _output(self, z):
        """The output layer's activation of the logits z (n, n_outputs), as MLPClassifier's."""
        if self.out_activation_ == "softmax":
            return _softmax(z)
        return expit(z, out=z)

    def _finish_predict(self, y_pred):
        """Class labels from the output layer's values (MLPClassifier's thresholding)."""
        if self.n_outputs_ == 1:
            y_pred = y_pred.ravel()
        return self._label_binarizer.inverse_transform(y_pred)

    def predict(self, X: Any) -> np.ndarray:
        """Predict class labels.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The input data.

        Returns
        -------
        y : ndarray of shape (n_samples,) or (n_samples, n_classes)
            The predicted classes (a label indicator matrix for multilabel targets).
        """
        return self._predict(X)

    def predict_proba(self, X: Any) -> np.ndarray:
        """Probability estimates, one column per class of ``classes_``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The input data.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Column j is the probability of ``classes_[j]`` (for multilabel
            targets, of label j independently of the others; for binary
            targets, column 1 is ``expit`` of the logit and column 0 one minus it).
        """
        if getattr(self, "n_outputs_", None) != 1:
            return self._output(self._validated_decision(X))
        proba = self._predict_fast(X, binary_proba=True)  # (1 - p, p) in one compiled call
        if proba is not None:
            return proba
        p = expit(self._validated_decision(X)).ravel()
        proba = np.empty((p.shape[0], 2), dtype=p.dtype)
        proba[:, 1] = p
        np.subtract(1, p, out=proba[:, 0])
        return proba

    def predict_log_proba(self, X: Any) -> np.ndarray:
        """Log of the probability estimates, ``np.log(predict_proba(X))`` as MLPClassifier.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The input data.

        Returns
        -------
        log_proba : ndarray of shape (n_samples, n_classes)
            The log-probability of each class of ``classes_``.
        """
        y_prob = self.predict_proba(X)
        return np.log(y_prob, out=y_prob)


class DenseClassifier(_ClassifierCore):
    __doc__ = (
        """Multi-layer perceptron classifier, trained in compiled code.

    A drop-in replacement for :class:`sklearn.neural_network.MLPClassifier`
    on every target it takes: binary (a logistic output unit), multi-class
    (softmax and the categorical log loss), multilabel (a logistic unit per
    label of a label indicator matrix). The same parameters with the same
    defaults, the same fitted attributes (``classes_``, ``n_outputs_``,
    ``out_activation_``, ...), methods and warnings; in float64 with the same
    ``random_state`` the same model up to floating-point rounding.

    Parameters
    ----------
"""
        + params_doc()
        + """
    Attributes
    ----------
    classes_ : ndarray or list of ndarray of shape (n_classes,)
        Class labels (the label indices 0..n_labels-1 for multilabel targets).

    n_outputs_ : int
        Output units: 1 for binary targets, else the number of classes / labels.

    out_activation_ : str
        'softmax' for multi-class targets, 'logistic' otherwise.

    validation_loss_curve_ : list or None
        The validation loss (the training loss without the L2 term) per
        epoch, with a validation set (``fit(..., X_val=, y_val=)``) or early
        stopping; else None.

    loss_, best_loss_, loss_curve_, validation_scores_, best_validation_score_,
    t_, coefs_, intercepts_, n_features_in_, feature_names_in_, n_iter_, n_layers_
        As :class:`sklearn.neural_network.MLPClassifier`'s.

    See Also
    --------
    DenseBinaryClassifier : Binary targets only, with ``decision_function``.
    sklearn.neural_network.MLPClassifier : The reference implementation.

    Notes
    -----
    ``class_weight`` for multilabel targets is per label, as scikit-learn's
    other multi-output estimators define it: 'balanced' or a list of one dict
    per label (``{0: w0, 1: w1}``), the weights of a row multiplied over the
    labels (:func:`sklearn.utils.class_weight.compute_sample_weight`).

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from fastdense import DenseClassifier
    >>> X, y = load_iris(return_X_y=True)
    >>> clf = DenseClassifier(hidden_layer_sizes=(16,), solver="lbfgs",
    ...                       max_iter=500, random_state=0).fit(X, y)
    >>> clf.out_activation_, clf.predict_proba(X[:2]).shape
    ('softmax', (2, 3))
    """
    )

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        return tags
