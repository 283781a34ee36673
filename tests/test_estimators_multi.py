"""DenseClassifier (multi-class, multilabel) and DenseRegressor against scikit-learn.

Float64 models equal MLPClassifier's / MLPRegressor's with the same random_state
across solvers, activations, early stopping and sample weights (the tolerances
of tests/test_estimator.py: bit-identical on the development machine except
tanh, where numpy's SIMD tanh differs from libm's in the last bit).
"""

import itertools
import pickle
import warnings

import numpy as np
import pytest
from sklearn.datasets import make_classification, make_multilabel_classification, make_regression
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier, MLPRegressor

import fastdense
from fastdense import DenseBinaryClassifier, DenseClassifier, DenseRegressor

STOCHASTIC_RTOL = 1e-12
LBFGS_RTOL = 1e-10


def _data():
    rng = np.random.RandomState(0)
    Xc, yc = make_classification(120, 6, n_informative=4, n_classes=4, random_state=0)
    Xl, yl = make_multilabel_classification(120, 6, n_classes=3, random_state=0)
    Xr, yr = make_regression(120, 6, n_targets=2, random_state=0)
    yp = rng.poisson(np.exp(0.3 * Xr[:, 0])).astype(float)
    return {
        "multiclass": (Xc, yc),
        "multilabel": (Xl, yl),
        "regression": (Xr, yr / 100),
        "regression1": (Xr, yr[:, 0] / 100),
        "poisson": (Xr, yp),
    }


DATA = _data()
SW = np.random.RandomState(1).uniform(0.5, 2.0, 120)


def rel_err(a, b):
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return float(np.max(np.abs(a - b)) / max(np.max(np.abs(a)), 1e-300))


CASES = [
    c
    for c in itertools.product(
        ["multiclass", "multilabel", "regression", "regression1", "poisson"],
        ["adam", "sgd", "lbfgs"],
        ["relu", "tanh", "logistic", "identity"],
        [False, True],
        [False, True],
    )
    if not (c[1] == "lbfgs" and c[3])
]


@pytest.mark.parametrize("target,solver,activation,early_stopping,weighted", CASES)
def test_equals_scikit_learn(target, solver, activation, early_stopping, weighted):
    X, y = DATA[target]
    params = dict(
        hidden_layer_sizes=(7, 5),
        solver=solver,
        activation=activation,
        early_stopping=early_stopping,
        random_state=1,
        max_iter=12,
    )
    if target == "poisson":
        params["loss"] = "poisson"
    if solver == "sgd":
        params["learning_rate_init"] = 0.01 if target != "poisson" else 0.002
    ours_cls, ref_cls = (
        (DenseClassifier, MLPClassifier)
        if target.startswith("multi")
        else (DenseRegressor, MLPRegressor)
    )
    sw = SW if weighted else None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ref = ref_cls(**params).fit(X, y, sample_weight=sw)
        ours = ours_cls(**params).fit(X, y, sample_weight=sw)
    rtol = LBFGS_RTOL if solver == "lbfgs" else STOCHASTIC_RTOL
    assert ours.n_iter_ == ref.n_iter_ and ours.t_ == ref.t_
    assert ours.n_outputs_ == ref.n_outputs_ and ours.out_activation_ == ref.out_activation_
    for a, b in zip(ref.coefs_ + ref.intercepts_, ours.coefs_ + ours.intercepts_):
        assert a.shape == b.shape and rel_err(a, b) <= rtol
    assert abs(ours.loss_ - ref.loss_) <= rtol * abs(ref.loss_)
    if solver != "lbfgs":
        np.testing.assert_allclose(ours.loss_curve_, ref.loss_curve_, rtol=rtol)
        if early_stopping:
            np.testing.assert_allclose(ours.validation_scores_, ref.validation_scores_, rtol=1e-9)
    if ours_cls is DenseClassifier:
        np.testing.assert_array_equal(ours.classes_, ref.classes_)
        np.testing.assert_array_equal(ours.predict(X), ref.predict(X))
        np.testing.assert_allclose(
            ours.predict_proba(X), ref.predict_proba(X), rtol=1e-9, atol=1e-12
        )
    else:
        np.testing.assert_allclose(ours.predict(X), ref.predict(X), rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_float32_and_float64(dtype):
    X, y = DATA["multiclass"]
    clf = DenseClassifier((8,), max_iter=30, random_state=0).fit(X.astype(dtype), y)
    assert clf.coefs_[0].dtype == dtype and clf.predict_proba(X).dtype == dtype
    np.testing.assert_allclose(clf.predict_proba(X).sum(axis=1), 1, rtol=1e-5)
    X, y = DATA["regression"]
    reg = DenseRegressor(hidden_layer_sizes=(8,), max_iter=30, random_state=0).fit(
        X.astype(dtype), y
    )
    assert reg.coefs_[0].dtype == dtype and reg.predict(X).shape == (120, 2)


def test_binary_target_same_as_binary_estimator():
    X, y = make_classification(100, 5, random_state=0)
    a = DenseClassifier((6,), max_iter=10, random_state=0).fit(X, y)
    b = DenseBinaryClassifier((6,), max_iter=10, random_state=0).fit(X, y)
    assert a.loss_curve_ == b.loss_curve_
    np.testing.assert_array_equal(a.predict_proba(X), b.predict_proba(X))


def test_binary_estimator_still_refuses_multiclass():
    X, y = DATA["multiclass"]
    with pytest.raises(ValueError, match="Only binary classification"):
        DenseBinaryClassifier().fit(X, y)


def test_class_weight_multilabel_per_label():
    X, y = DATA["multilabel"]
    cw = [{0: 1.0, 1: 3.0}] * 3
    clf = DenseClassifier((6,), solver="lbfgs", max_iter=20, random_state=0, class_weight=cw).fit(
        X, y
    )
    from sklearn.utils.class_weight import compute_sample_weight

    ref = DenseClassifier((6,), solver="lbfgs", max_iter=20, random_state=0).fit(
        X, y, sample_weight=compute_sample_weight(cw, y)
    )
    np.testing.assert_array_equal(clf.coefs_[0], ref.coefs_[0])


def test_pickle_and_save_round_trips(tmp_path):
    X, y = DATA["multiclass"]
    clf = DenseClassifier((6,), max_iter=5, random_state=0).fit(X, y)
    back = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(back.predict_proba(X), clf.predict_proba(X))
    X, y = DATA["regression"]
    reg = DenseRegressor(hidden_layer_sizes=(6,), max_iter=5, random_state=0).fit(X, y)
    fastdense.save(reg, tmp_path / "reg.safetensors")  # tests/test_persistence.py: in full
    np.testing.assert_array_equal(
        fastdense.load(tmp_path / "reg.safetensors").predict(X), reg.predict(X)
    )


def test_unpickled_network_with_wrong_output_width_is_refused():
    X, y = DATA["multiclass"]
    clf = DenseClassifier((6,), max_iter=5, random_state=0).fit(X, y)
    state = clf.__getstate__()
    state["n_outputs_"] = 3
    with pytest.raises(ValueError):
        DenseClassifier().__setstate__(state)
