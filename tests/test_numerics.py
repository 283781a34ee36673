"""Numerical safety: extreme logits, diverging fits, large features in float32."""

import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning

import fastdense as fd
from fastdense import DenseBinaryClassifier, nn
from fastdense.nn import functional as F


def _data(n=300, d=5, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    return X, (X[:, 0] > 0).astype(int)


@pytest.fixture
def strict():
    """Any warning is an error and any NumPy floating-point event raises."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with np.errstate(all="raise"):
            yield


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_estimator_outputs_at_extreme_logits_are_exact_and_silent(dtype, strict):
    X, y = _data()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        with np.errstate(all="ignore"):
            clf = DenseBinaryClassifier(
                (4,), "identity", max_iter=5, random_state=0, dtype=dtype
            ).fit(X, y)
    # identity network whose logit is +-huge * x0
    clf.coefs_[0][...] = 0
    clf.coefs_[0][0, 0] = 1.0
    clf.intercepts_[0][...] = 0
    clf.coefs_[1][...] = 0
    clf.coefs_[1][0, 0] = 1e4 if dtype == "float32" else 1e300
    Xe = np.array([[1.0, 0, 0, 0, 0], [-1.0, 0, 0, 0, 0], [1e-3, 0, 0, 0, 0]] * 2)
    z = clf.decision_function(Xe)
    proba = clf.predict_proba(Xe)
    logp = clf.predict_log_proba(Xe)
    assert np.all(np.isfinite(proba)) and np.all(np.isfinite(logp))
    assert proba[0, 1] == 1.0 and proba[1, 1] == 0.0
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    # log p is the exact -softplus(-z), not log(0) = -inf
    np.testing.assert_allclose(logp[0, 0], -z[0], rtol=1e-6)
    np.testing.assert_allclose(logp[1, 1], z[1], rtol=1e-6)
    assert list(clf.predict(Xe[:2])) == [1, 0]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_nn_sigmoid_and_losses_at_extreme_logits_are_silent(dtype, strict):
    big = np.finfo(dtype).max
    z = np.array([[-big], [-1e4], [-100.0], [0.0], [100.0], [1e4], [big]], dtype=dtype)
    t = fd.Tensor(z, requires_grad=True)
    p = F.sigmoid(t)
    np.testing.assert_array_equal(p.numpy()[[0, 1, 5, 6], 0], [0, 0, 1, 1])
    p.sum().backward()
    assert np.all(np.isfinite(t.grad))
    y = np.array([[1.0], [1.0], [0.0], [1.0], [0.0], [0.0], [0.0]], dtype=dtype)
    # losses of 1e300-ish logits (the sum of two losses at finfo.max is inf, rightly)
    t = fd.Tensor(np.clip(z, -1e30, 1e30), requires_grad=True)
    loss = nn.BCEWithLogitsLoss()(t, y)
    loss.backward()
    assert np.isfinite(loss.item()) and loss.item() > 0 and np.all(np.isfinite(t.grad))
    # probabilities of exactly 0 and 1: PyTorch clamps the logs at -100
    q = fd.Tensor(np.array([0.0, 1.0, 0.5], dtype=dtype), requires_grad=True)
    bce = nn.BCELoss()(q, np.array([1.0, 0.0, 1.0], dtype=dtype))
    bce.backward()
    np.testing.assert_allclose(bce.item(), (100 + 100 + np.log(2)) / 3, rtol=1e-6)
    assert np.all(np.isfinite(q.grad))


def test_nn_bce_with_logits_matches_torch_at_extremes():
    torch = pytest.importorskip("torch")
    z = np.array([-1e30, -1e4, -50.0, -1e-8, 0.0, 3.0, 1e4, 1e30])
    y = np.array([1.0, 1.0, 0.0, 1.0, 0.0, 1.0, 0.0, 0.0])
    for reduction in ("none", "mean", "sum"):
        t = fd.Tensor(z.copy(), requires_grad=True)
        ours = F.binary_cross_entropy_with_logits(t, y, reduction=reduction)
        tt = torch.tensor(z, requires_grad=True)
        ref = torch.nn.functional.binary_cross_entropy_with_logits(
            tt, torch.tensor(y), reduction=reduction
        )
        # (ours is log1p(exp(-50)) = 1.9e-22 where PyTorch rounds to 0)
        np.testing.assert_allclose(ours.numpy(), ref.detach().numpy(), rtol=1e-12, atol=1e-20)
        ours.sum().backward() if reduction == "none" else ours.backward()
        (ref.sum() if reduction == "none" else ref).backward()
        np.testing.assert_allclose(t.grad, tt.grad.numpy(), rtol=1e-12, atol=1e-300)


@pytest.mark.parametrize("solver", ["sgd", "adam"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_diverging_fit_fails_loudly_and_never_predicts_from_nan(solver, dtype):
    """Either a ValueError (non-finite weights or loss) or a ConvergenceWarning (loss
    blew up); after the error, predict refuses instead of returning one class."""
    X, y = _data()
    clf = DenseBinaryClassifier(
        (8,), solver=solver, learning_rate_init=1e6, max_iter=200, random_state=0, dtype=dtype
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            clf.fit(X * 1e3, y)
        except ValueError as exc:
            assert "non-finite" in str(exc) and "learning_rate_init" in str(exc)
            # stopped at the first non-finite epoch, not after all 200
            assert clf.n_iter_ < 200
            if "parameter weights" in str(exc):  # NaN weights never predict silently
                with pytest.raises(ValueError, match="NaN"):
                    clf.predict(X)
                with pytest.raises(ValueError, match="NaN"):
                    clf.predict_proba(X)
            return
    messages = [str(w.message) for w in caught if issubclass(w.category, ConvergenceWarning)]
    assert any("diverged" in m for m in messages), messages
    assert all(np.isfinite(c).all() for c in clf.coefs_)


def test_nan_weights_never_predict_silently():
    X, y = _data()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf = DenseBinaryClassifier((8,), max_iter=3, random_state=0).fit(X, y)
    clf.coefs_[1][2, 0] = np.nan
    for method in (clf.predict, clf.predict_proba, clf.predict_log_proba, clf.decision_function):
        with pytest.raises(ValueError, match="NaN"):
            method(X)


def test_sgd_divergence_to_nan_raises_like_mlpclassifier():
    """MLPClassifier raises ValueError on non-finite weights; so do we (and stop early)."""
    X, y = _data()
    clf = DenseBinaryClassifier(
        (8,), solver="sgd", learning_rate_init=1e6, max_iter=200, random_state=0, dtype="float32"
    )
    with pytest.raises(ValueError, match="non-finite"):
        clf.fit(X * 1e3, y)
    assert clf.n_iter_ <= 10


@pytest.mark.parametrize("solver", ["adam", "sgd", "lbfgs"])
def test_float32_features_of_magnitude_1e4_work_or_fail_loudly(solver):
    X, y = _data(400, 6, seed=1)
    X32 = (X * 1e4).astype(np.float32)
    clf = DenseBinaryClassifier((16,), solver=solver, max_iter=100, random_state=0, dtype="float32")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            clf.fit(X32, y)
        except ValueError as exc:
            assert "non-finite" in str(exc)
            return
    loud = [w for w in caught if issubclass(w.category, ConvergenceWarning)]
    assert all(np.isfinite(c).all() for c in clf.coefs_)
    assert all(c.dtype == np.float32 for c in clf.coefs_)
    score = clf.score(X32, y)
    # works (learned something), or said it did not converge/diverged
    assert score > 0.8 or loud, (score, [str(w.message) for w in caught])
    p = clf.predict_proba(X32)
    assert np.all(np.isfinite(p)) and np.all((p >= 0) & (p <= 1))
