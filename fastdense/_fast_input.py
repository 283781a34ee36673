"""The fixed-cost fast path of fit and partial_fit: the common input, proven cheaply.

scikit-learn's input validation (``validate_data``, ``type_of_target``, the
label binarizer, parameter validation) costs a few milliseconds per call,
which is most of a fit on a few hundred rows and all of a small
``partial_fit``. For the common input -- NumPy float arrays, a 1-d numeric
``y``, no feature names -- each function here makes the checks scikit-learn
would make and returns what it would return, or returns None: then the
caller takes scikit-learn's full path, which gives every error and warning
exactly as before. The fast path never raises and never warns.
"""

import numpy as np

_FLOATS = (np.dtype(np.float64), np.dtype(np.float32))


def features(estimator, X, dtype, reset):
    """X as ``validate_data(estimator, X, dtype=dtype, reset=reset)`` returns it, or None.

    `dtype` is the estimator's dtype spec: a NumPy scalar type, or a tuple of
    accepted ones (X is kept in any of them). Taken only for a finite 2-d
    float32/float64 ndarray, with at least one row and one column, and no
    feature names on either side; X of the other float dtype than a single
    requested one is converted as ``check_array`` converts it
    (``np.asarray(X, dtype=dtype)``) and checked after the conversion. With
    ``reset`` it sets ``n_features_in_`` and drops ``feature_names_in_`` as
    ``validate_data`` does; without, the width must match the fitted one.
    """
    if type(X) is not np.ndarray or X.ndim != 2 or X.shape[0] < 1 or X.shape[1] < 1:
        return None
    accepted = dtype if isinstance(dtype, tuple) else (dtype,)
    if X.dtype not in _FLOATS:
        return None
    if X.dtype.type not in accepted:
        if len(accepted) != 1 or np.dtype(accepted[0]) not in _FLOATS:
            return None
        # values out of float32's range become inf, which the finiteness check below
        # hands to the full path, and its conversion gives the warning (once)
        with np.errstate(over="ignore", invalid="ignore"):
            X = np.asarray(X, dtype=accepted[0])
    if reset:
        if not np.isfinite(X.sum()):  # NaN, inf, or a sum that overflowed: the full check
            return None
        estimator.__dict__.pop("feature_names_in_", None)
        estimator.n_features_in_ = X.shape[1]
        return X
    if (
        "feature_names_in_" in estimator.__dict__
        or estimator.__dict__.get("n_features_in_") != X.shape[1]
        or not np.isfinite(X.sum())
    ):
        return None
    return X


def numeric_targets(y, n_samples, *, allow_2d):
    """y as ``check_X_y(..., multi_output=True)`` returns it for finite numeric y, or None.

    A 1-d (or, with `allow_2d`, a 2-d with at least two columns) ndarray of
    integers or floats (at least 32 bits), finite, with one row per sample.
    """
    if type(y) is not np.ndarray or y.shape[:1] != (n_samples,):
        return None
    if not (y.ndim == 1 or (allow_2d and y.ndim == 2 and y.shape[1] >= 2)):
        return None
    kind = y.dtype.kind
    if kind == "f":
        if y.dtype.itemsize < 4 or not np.isfinite(y.sum()):
            return None
    elif kind not in "iu":
        return None
    return y


def class_labels(y):
    """The sorted labels of a 1-d numeric y of a binary or multiclass target, or None.

    What ``check_classification_targets`` and ``unique_labels`` conclude for
    such a y: None when ``type_of_target`` would not say "binary" or
    "multiclass" (floats that are not integers) or for fewer than 2 labels.
    """
    classes = np.unique(y)
    if classes.shape[0] < 2:
        return None
    if classes.dtype.kind == "f" and np.any(classes != classes.astype(int)):
        return None  # "continuous": the full path raises
    return classes


def binarized(y, classes):
    """``label_binarize(y, classes=classes).astype(bool)`` for y whose labels are all in classes.

    One column (``y == classes[1]``) for two classes, one per class otherwise,
    as the estimators' label binarizer gives them. None when y holds a label
    outside `classes`.
    """
    index = np.searchsorted(classes, y)
    if index.shape[0] and (
        index.max() >= classes.shape[0] or not np.array_equal(classes[index], y)
    ):
        return None
    if classes.shape[0] == 2:
        return index.astype(bool).reshape(-1, 1)
    out = np.zeros((y.shape[0], classes.shape[0]), dtype=bool)
    out[np.arange(y.shape[0]), index] = True
    return out


def params_valid(estimator):
    """True if every parameter satisfies its constraints; False means: validate in full.

    The same test as scikit-learn's ``validate_parameter_constraints`` (a
    parameter passes if one of its constraints is satisfied; parameters
    without constraints or marked "no_validation" are skipped), with the
    constraint objects built once per class instead of once per fit. A False
    sends the caller to scikit-learn's own validation, which raises its error.
    """
    cls = type(estimator)
    table = cls.__dict__.get("_fastdense_constraints")
    if table is None or table[0] is not cls._parameter_constraints:
        from sklearn.utils._param_validation import make_constraint

        table = (
            cls._parameter_constraints,
            {
                name: [make_constraint(c) for c in constraints]
                for name, constraints in cls._parameter_constraints.items()
                if constraints != "no_validation"
            },
        )
        type.__setattr__(cls, "_fastdense_constraints", table)  # a memo of the class's own data
    compiled = table[1]
    for name, value in estimator.get_params(deep=False).items():
        constraints = compiled.get(name)
        if constraints is not None and not any(c.is_satisfied_by(value) for c in constraints):
            return False
    return True


def param_names(cls, compute):
    """``cls._get_param_names()``, computed once per class by `compute` (it reads a signature)."""
    names = cls.__dict__.get("_fastdense_param_names")
    if names is None:
        names = tuple(compute())
        type.__setattr__(cls, "_fastdense_param_names", names)
    return list(names)
