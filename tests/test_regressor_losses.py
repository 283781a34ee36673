"""DenseRegressor(loss='absolute_error' | 'huber', huber_delta=...): the estimator level.

The kernels are checked against the NumPy oracle, PyTorch and finite
differences in tests/test_output_losses.py; here the estimator runs them:
the scale convention (huber with an infinite delta is squared_error), lbfgs,
sample weights, the validation loss, persistence and bad parameters.
"""

import numpy as np
import pytest
from sklearn.datasets import make_regression

from fastdense import DenseRegressor, _reference

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def _data(n=120, targets=1, seed=0):
    X, y = make_regression(n, 5, n_targets=targets, noise=0.5, random_state=seed)
    return X, y / 40


def _loss_at_fit(est, X, y, sw=None):
    z = est._decision_validated(X)
    return _reference.sklearn_output_loss(
        z, np.asarray(y).reshape(z.shape), est.loss, sw, huber_delta=est.huber_delta
    )[0]


@pytest.mark.parametrize("targets", [1, 2])
def test_huber_with_an_infinite_delta_is_squared_error(targets):
    X, y = _data(targets=targets)
    kw = dict(hidden_layer_sizes=(8,), max_iter=15, random_state=0)
    sq = DenseRegressor(**kw).fit(X, y)
    hu = DenseRegressor(loss="huber", huber_delta=1e300, **kw).fit(X, y)
    # the same gradients step for step: the same weights, bit for bit
    np.testing.assert_array_equal(sq._params, hu._params)
    np.testing.assert_allclose(sq.loss_curve_, hu.loss_curve_, rtol=1e-13)


@pytest.mark.parametrize("loss", ["absolute_error", "huber"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_lbfgs_minimises_the_reported_loss(loss, dtype):
    X, y = _data()
    X = X.astype(dtype)
    est = DenseRegressor(
        loss=loss,
        huber_delta=0.5,
        hidden_layer_sizes=(8,),
        solver="lbfgs",
        alpha=0.0,
        max_iter=50,
        random_state=0,
        activation="tanh",
    ).fit(X, y)
    assert est._params.dtype == dtype
    rtol = 1e-4 if dtype == np.float32 else 1e-10
    assert est.loss_ == pytest.approx(_loss_at_fit(est, X, y), rel=rtol)
    start = DenseRegressor(
        loss=loss,
        huber_delta=0.5,
        hidden_layer_sizes=(8,),
        solver="lbfgs",
        alpha=0.0,
        max_iter=1,
        random_state=0,
        activation="tanh",
    ).fit(X, y)
    assert est.loss_ < start.loss_


def test_sample_weights_are_repeated_rows():
    X, y = _data(n=60)
    w = np.random.RandomState(0).randint(1, 4, len(y))
    kw = dict(
        loss="huber",
        huber_delta=0.3,
        hidden_layer_sizes=(6,),
        solver="lbfgs",
        max_iter=30,
        random_state=0,
        activation="tanh",
        alpha=0.0,
    )
    weighted = DenseRegressor(**kw).fit(X, y, sample_weight=w)
    repeated = DenseRegressor(**kw).fit(np.repeat(X, w, axis=0), np.repeat(y, w))
    np.testing.assert_allclose(weighted._params, repeated._params, rtol=1e-6, atol=1e-8)
    assert weighted.loss_ == pytest.approx(repeated.loss_, rel=1e-8)


def test_robust_losses_resist_outliers():
    X, y = _data(n=300, seed=1)
    y_bad = y.copy()
    y_bad[::10] += 50.0  # a tenth of the targets far off
    kw = dict(hidden_layer_sizes=(16,), max_iter=300, learning_rate_init=0.01, random_state=0)
    errors = {}
    for loss in ["squared_error", "absolute_error", "huber"]:
        est = DenseRegressor(loss=loss, **kw).fit(X, y_bad)
        errors[loss] = np.median(np.abs(est.predict(X) - y))
    assert errors["absolute_error"] < errors["squared_error"] / 3
    assert errors["huber"] < errors["squared_error"] / 3


def test_validation_loss_uses_the_loss_and_delta():
    X, y = _data()
    est = DenseRegressor(
        loss="huber", huber_delta=0.2, hidden_layer_sizes=(8,), max_iter=5, random_state=0
    ).fit(X[:90], y[:90], X_val=X[90:], y_val=y[90:])
    assert est.validation_loss_curve_[-1] == pytest.approx(
        _loss_at_fit(est, X[90:], y[90:]), rel=1e-12
    )


def test_persistence_keeps_loss_and_delta(tmp_path):
    import pickle

    import fastdense

    X, y = _data()
    est = DenseRegressor(
        loss="absolute_error", huber_delta=0.25, hidden_layer_sizes=(4,), max_iter=3, random_state=0
    ).fit(X, y)
    for copy in (
        pickle.loads(pickle.dumps(est)),
        fastdense.load(
            fastdense.save(est, tmp_path / "r.safetensors") or tmp_path / "r.safetensors"
        ),
    ):
        assert (copy.loss, copy.huber_delta) == ("absolute_error", 0.25)
        np.testing.assert_array_equal(copy.predict(X), est.predict(X))
        copy.partial_fit(X, y)  # trains on with the same loss


@pytest.mark.parametrize("delta", [0, -1.0, np.nan, "big"])
def test_bad_huber_delta(delta):
    X, y = _data(n=20)
    with pytest.raises(ValueError, match="huber_delta"):
        DenseRegressor(loss="huber", huber_delta=delta, max_iter=1).fit(X, y)


def test_unknown_loss_names_the_choices():
    X, y = _data(n=20)
    with pytest.raises(ValueError, match="absolute_error"):
        DenseRegressor(loss="quantile", max_iter=1).fit(X, y)


@pytest.mark.parametrize("loss", ["absolute_error", "huber"])
def test_onnx_export_predicts_the_same(loss):
    ort = pytest.importorskip("onnxruntime")
    from fastdense.onnx import to_onnx

    X, y = _data(n=40)
    X = X.astype(np.float32)
    est = DenseRegressor(loss=loss, hidden_layer_sizes=(5,), max_iter=3, random_state=0).fit(X, y)
    session = ort.InferenceSession(to_onnx(est).SerializeToString())
    out = session.run(None, {session.get_inputs()[0].name: X})[0]
    np.testing.assert_allclose(out.ravel(), est.predict(X), rtol=1e-5, atol=1e-6)
