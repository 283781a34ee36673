"""The fixed-cost fast path of fit/partial_fit gives exactly what the full validation gives.

Every case fits twice from the same state: once as is (the fast path where it
applies) and once with the fast path switched off; the fitted attributes,
the label binarizer and the predictions must be identical, and so must any
error or warning.
"""

import contextlib
import pickle
import warnings
from unittest import mock

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.preprocessing import LabelBinarizer

from fastdense import DenseBinaryClassifier, DenseClassifier, DenseRegressor, _fast_input

ESTIMATORS = {
    "binary": DenseBinaryClassifier,
    "classifier": DenseClassifier,
    "regressor": DenseRegressor,
}


@contextlib.contextmanager
def slow_path():
    """Switch the fast path off: every input takes scikit-learn's validation."""
    with (
        mock.patch.object(_fast_input, "features", lambda *a, **k: None),
        mock.patch.object(_fast_input, "params_valid", lambda est: False),
    ):
        yield


def _state(est):
    """Everything fit leaves on the estimator that the two paths could disagree on."""
    out = {
        k: v
        for k, v in vars(est).items()
        if k
        not in (
            "_fitted_net",
            "_params",
            "coefs_",
            "intercepts_",
            "_random_state",
            "_optimizer",
            "_label_binarizer",
            "_best_params",
            "_fastdense_constraints",
            "_own_random_state",
        )
    }
    out["params"] = est._params.copy()
    binarizer = getattr(est, "_label_binarizer", None)
    if binarizer is not None:
        out["binarizer"] = sorted(vars(binarizer).items(), key=lambda kv: kv[0])
    return out


def _assert_same(a, b):
    assert a.keys() == b.keys()
    for key in a:
        x, y = a[key], b[key]
        if key == "binarizer":
            assert [k for k, _ in x] == [k for k, _ in y]
            for (k, u), (_, v) in zip(x, y):
                if isinstance(u, np.ndarray):
                    assert u.dtype == v.dtype and np.array_equal(u, v), k
                else:
                    assert u == v, k
        elif isinstance(x, np.ndarray):
            assert x.dtype == y.dtype and x.shape == y.shape, key
            np.testing.assert_array_equal(x, y, err_msg=key)
        elif isinstance(x, list):
            np.testing.assert_array_equal(np.asarray(x), np.asarray(y), err_msg=key)
        else:
            assert x == y or (x != x and y != y), key


def _run(make, steps):
    """Apply steps (("fit"|"partial_fit", X, y, kwargs), ...); the outcome of each."""
    est = make()
    outcomes = []
    for method, X, y, kwargs in steps:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                getattr(est, method)(X, y, **kwargs)
                outcomes.append(("ok", _state(est)))
            except Exception as exc:  # the same exception, type and message, on both paths
                outcomes.append(("error", (type(exc), str(exc))))
        outcomes.append(("warnings", [(w.category, str(w.message)) for w in caught]))
    return est, outcomes


def _compare(make, steps, X_pred):
    fast_est, fast = _run(make, steps)
    with slow_path():
        slow_est, slow = _run(make, steps)
    assert [o[0] for o in fast] == [o[0] for o in slow]
    for (kind, a), (_, b) in zip(fast, slow):
        if kind == "ok":
            _assert_same(a, b)
        else:
            assert a == b
    if fast[-2][0] == "ok":
        np.testing.assert_array_equal(fast_est.predict(X_pred), slow_est.predict(X_pred))


LABELS = {
    "int64": np.array([0, 1, 2, 3]),
    "int32": np.array([-1, 5, 7, 9], dtype=np.int32),
    "uint8": np.array([1, 2, 3, 4], dtype=np.uint8),
    "float64": np.array([0.0, 1.0, 2.0, 3.0]),
    "float32": np.array([2.0, -3.0, 4.0, 5.0], dtype=np.float32),
    "float_nonint": np.array([0.5, 1.0, 1.5, 2.0]),
}


@pytest.mark.parametrize("kind", sorted(ESTIMATORS))
@pytest.mark.parametrize("labels", sorted(LABELS))
@settings(max_examples=8, deadline=None)
@given(
    n_classes=st.integers(1, 4),
    x_dtype=st.sampled_from(["float64", "float32", "int64"]),
    est_dtype=st.sampled_from([None, "float32", "float64"]),
    layout=st.sampled_from(["C", "F"]),
    n=st.integers(1, 30),
    seed=st.integers(0, 3),
    bad_x=st.sampled_from([None, "nan", "inf", "huge"]),
)
def test_fit_fast_path_matches_full_validation(
    kind, labels, n_classes, x_dtype, est_dtype, layout, n, seed, bad_x
):
    rng = np.random.default_rng(seed)
    X = np.asarray(rng.normal(size=(n, 4)) * 3, dtype=x_dtype, order=layout)
    if bad_x is not None and x_dtype != "int64":
        X[rng.integers(n), rng.integers(4)] = {
            "nan": np.nan,
            "inf": np.inf,
            "huge": np.finfo(X.dtype).max,
        }[bad_x]
    y = rng.choice(LABELS[labels][:n_classes], size=n)
    if kind == "regressor":
        y = y.astype(LABELS[labels].dtype)
    make = lambda: ESTIMATORS[kind](
        hidden_layer_sizes=(3,),
        max_iter=2,  # noqa: E731
        random_state=0,
        dtype=est_dtype,
    )
    _compare(make, [("fit", X, y, {})], X)


@settings(max_examples=30, deadline=None)
@given(
    kind=st.sampled_from(["binary", "classifier"]),
    first=st.sampled_from(["fit", "partial_fit", "warm_start"]),
    second_labels=st.sampled_from(["same", "subset", "extra", "float"]),
    width=st.sampled_from([4, 3]),
    seed=st.integers(0, 3),
)
def test_refit_fast_path_matches_full_validation(kind, first, second_labels, width, seed):
    rng = np.random.default_rng(seed)
    classes = np.array([0, 1] if kind == "binary" else [0, 1, 2])
    X = rng.normal(size=(20, 4))
    y = np.resize(classes, 20)
    X2 = rng.normal(size=(10, width))
    y2 = {
        "same": np.resize(classes, 10),
        "subset": np.zeros(10, dtype=int),
        "extra": np.resize(np.append(classes, 7), 10),
        "float": np.resize(classes, 10).astype(float),
    }[second_labels]
    warm = first == "warm_start"
    make = lambda: ESTIMATORS[kind](
        hidden_layer_sizes=(3,),
        max_iter=2,  # noqa: E731
        random_state=0,
        warm_start=warm,
    )
    if first == "partial_fit":
        steps = [("partial_fit", X, y, {"classes": classes}), ("partial_fit", X2, y2, {})]
    else:
        steps = [("fit", X, y, {}), ("fit", X2, y2, {})]
    _compare(make, steps, X2)


def test_feature_names_follow_validate_data():
    pd = pytest.importorskip("pandas")
    X = np.random.default_rng(0).normal(size=(20, 3))
    y = np.resize([0, 1], 20)
    frame = pd.DataFrame(X, columns=["a", "b", "c"])
    for est in (DenseBinaryClassifier(max_iter=2, hidden_layer_sizes=(3,)),):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            est.fit(frame, y)
            assert list(est.feature_names_in_) == ["a", "b", "c"]
            est.fit(X, y)  # refit on an ndarray drops the names, as validate_data does
            assert not hasattr(est, "feature_names_in_")
            est.fit(frame, y)
            with pytest.warns(UserWarning, match="does not have valid feature names"):
                est.partial_fit(X, y)  # the fast path never hides this warning


def test_label_binarizer_is_a_real_fitted_one():
    X = np.random.default_rng(0).normal(size=(12, 2))
    y = np.resize([3, 5, 9], 12)
    est = DenseClassifier(hidden_layer_sizes=(3,), max_iter=2).fit(X, y)
    reference = LabelBinarizer().fit(y)
    assert type(est._label_binarizer) is LabelBinarizer
    np.testing.assert_array_equal(est._label_binarizer.transform(y), reference.transform(y))
    np.testing.assert_array_equal(est._label_binarizer.inverse_transform(reference.transform(y)), y)
    clone = pickle.loads(pickle.dumps(est))
    np.testing.assert_array_equal(clone.predict(X), est.predict(X))


def test_param_validation_errors_unchanged():
    from sklearn.utils._param_validation import InvalidParameterError

    X, y = np.zeros((4, 2)), np.array([0, 1, 0, 1])
    with pytest.raises(InvalidParameterError, match="'tol' parameter of DenseBinaryClassifier"):
        DenseBinaryClassifier(tol=-1.0).fit(X, y)
    est = DenseBinaryClassifier(max_iter=2, hidden_layer_sizes=(2,)).fit(X, y)
    est.set_params(activation="swish")  # a change after a valid fit is noticed
    with pytest.raises(InvalidParameterError, match="'activation' parameter"):
        est.fit(X, y)


@pytest.mark.parametrize(
    "x_dtype,est_dtype",
    [("float64", None), ("float32", None), ("float64", "float32"), ("float32", "float64")],
)
@pytest.mark.parametrize("kind", sorted(ESTIMATORS))
def test_common_input_skips_scikit_learn_validation(kind, x_dtype, est_dtype):
    X = np.random.default_rng(0).normal(size=(20, 3)).astype(x_dtype)
    y = np.resize([0, 1, 2], 20) if kind == "classifier" else np.resize([0, 1], 20)
    module = {
        "binary": "fastdense.estimators.classifier",
        "classifier": "fastdense.estimators.classifier",
        "regressor": "fastdense.estimators.regressor",
    }[kind]
    est = ESTIMATORS[kind](hidden_layer_sizes=(3,), max_iter=2, dtype=est_dtype)
    with (
        mock.patch(f"{module}.validate_data", side_effect=AssertionError("full path")),
        warnings.catch_warnings(),
    ):
        warnings.simplefilter("ignore")
        est.fit(X, y)
        est.partial_fit(X, y)
    assert est.coefs_[0].dtype == np.dtype(est_dtype or x_dtype)


def test_refits_draw_as_a_fresh_random_state_would():
    """Re-seeding the estimator's own generator gives RandomState(seed)'s draws, every call."""
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(40, 3)), np.resize([0, 1], 40)
    est = DenseBinaryClassifier(hidden_layer_sizes=(4,), max_iter=3, random_state=7)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        first = est.fit(X, y).coefs_[0].copy()
        est.partial_fit(X, y)
        again = est.fit(X, y).coefs_[0].copy()  # re-seeded, not a new generator
        np.testing.assert_array_equal(first, again)
        fresh = DenseBinaryClassifier(hidden_layer_sizes=(4,), max_iter=3, random_state=7)
        np.testing.assert_array_equal(fresh.fit(X, y).coefs_[0], first)
        # never the global generator, nor a user's
        user_rng = np.random.RandomState(3)
        state = user_rng.get_state()[1].copy()
        est.set_params(random_state=user_rng).fit(X, y)
        est.set_params(random_state=5).fit(X, y)
        assert est._random_state is not user_rng
        assert not np.array_equal(user_rng.get_state()[1], state)  # the user's was used once
        used = user_rng.get_state()[1].copy()
        est.fit(X, y)
        np.testing.assert_array_equal(user_rng.get_state()[1], used)  # and is left alone now
        est.set_params(random_state=None).fit(X, y)  # the global generator, as MLPClassifier
        est.set_params(random_state=1).fit(X, y)
        before = np.random.get_state()[1].copy()
        est.fit(X, y)  # re-seeds its own generator: the global one is untouched
        np.testing.assert_array_equal(np.random.get_state()[1], before)
