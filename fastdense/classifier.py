"""DenseClassifier: scikit-learn's MLPClassifier for every target it takes, fast.

Binary targets get a logistic output unit, multi-class targets a softmax
output with the categorical log loss, multilabel targets (a label indicator
matrix) a logistic unit per label: the output layers MLPClassifier chooses,
trained by the shared core in :mod:`fastdense.estimator` (the same compiled
epoch loop and solvers as :class:`~fastdense.DenseBinaryClassifier`).
"""

from .estimator import _ClassifierCore, _params_doc as params_doc

__all__ = ["DenseClassifier"]


class DenseClassifier(_ClassifierCore):
    __doc__ = """Multi-layer perceptron classifier, trained in compiled code.

    A drop-in replacement for :class:`sklearn.neural_network.MLPClassifier`
    on every target it takes: binary (a logistic output unit), multi-class
    (softmax and the categorical log loss), multilabel (a logistic unit per
    label of a label indicator matrix). The same parameters with the same
    defaults, the same fitted attributes (``classes_``, ``n_outputs_``,
    ``out_activation_``, ...), methods and warnings; in float64 with the same
    ``random_state`` the same model up to floating-point rounding.

    Parameters
    ----------
""" + params_doc(classifier=True) + """
    Attributes
    ----------
    classes_ : ndarray or list of ndarray of shape (n_classes,)
        Class labels (the label indices 0..n_labels-1 for multilabel targets).

    n_outputs_ : int
        Output units: 1 for binary targets, else the number of classes / labels.

    out_activation_ : str
        'softmax' for multi-class targets, 'logistic' otherwise.

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

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        return tags
