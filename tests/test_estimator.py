"""DenseBinaryClassifier: MLPClassifier equivalence, features and input handling."""

import io
import pickle
import threading
import warnings
from contextlib import redirect_stdout

import joblib
import numpy as np
import pytest
import scipy.sparse as sp
from scipy.special import expit
from sklearn.base import clone
from sklearn.datasets import make_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import recall_score, roc_auc_score
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import fastdense.estimators._base as est_module
from fastdense import DenseBinaryClassifier, _train

# Tolerances asserted against MLPClassifier in float64 (relative to the largest
# magnitude of each array). On the development machine the models are
# bit-identical for relu/logistic/identity (same BLAS routines, numpy's pairwise
# sums, scikit-learn's operation order); tanh differs by numpy's SIMD tanh vs
# libm (<= 2e-16 after 25 epochs, <= 7e-14 after 20 L-BFGS iterations). The
# margins leave room for a numpy and a scipy built against different BLAS
# kernels. L-BFGS runs are kept short: its line searches amplify any rounding
# difference chaotically after enough iterations.
STOCHASTIC_RTOL = 1e-12
LBFGS_RTOL = 1e-10


@pytest.fixture(scope="module")
def data():
    X, y = make_classification(n_samples=300, n_features=8, n_informative=5, random_state=0)
    return X, y


def rel_err(a, b):
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return float(np.max(np.abs(a - b)) / max(np.max(np.abs(a)), 1e-300))


def assert_same_model(ref, ours, X, rtol):
    assert ours.n_iter_ == ref.n_iter_
    assert ours.t_ == ref.t_
    assert ours.n_layers_ == ref.n_layers_ and ours.n_outputs_ == ref.n_outputs_
    assert ours.out_activation_ == ref.out_activation_
    assert len(ours.coefs_) == len(ref.coefs_)
    for a, b in zip(ref.coefs_ + ref.intercepts_, ours.coefs_ + ours.intercepts_):
        assert a.shape == b.shape
        assert rel_err(a, b) <= rtol
    if hasattr(ref, "loss_curve_"):
        assert len(ours.loss_curve_) == len(ref.loss_curve_)
        np.testing.assert_allclose(ours.loss_curve_, ref.loss_curve_, rtol=rtol, atol=0)
        assert (ours.best_loss_ is None) == (ref.best_loss_ is None)
        if ref.best_loss_ is not None:
            np.testing.assert_allclose(ours.best_loss_, ref.best_loss_, rtol=rtol)
        if ref.validation_scores_ is None:
            assert ours.validation_scores_ is None
        else:
            np.testing.assert_allclose(ours.validation_scores_, ref.validation_scores_)
            assert ours.best_validation_score_ == ref.best_validation_score_
    else:
        assert not hasattr(ours, "loss_curve_")
    np.testing.assert_allclose(ours.loss_, ref.loss_, rtol=rtol)
    np.testing.assert_array_equal(ours.predict(X), ref.predict(X))
    np.testing.assert_allclose(ours.predict_proba(X), ref.predict_proba(X), rtol=0, atol=1e3 * rtol)


def fit_both(X, y, sample_weight=None, **params):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ref = MLPClassifier(random_state=0, **params).fit(X, y, sample_weight=sample_weight)
        ours = DenseBinaryClassifier(random_state=0, **params).fit(
            X, y, sample_weight=sample_weight
        )
    return ref, ours


STOCHASTIC_CASES = [
    dict(solver="adam"),
    dict(solver="adam", shuffle=False),
    dict(solver="adam", early_stopping=True, n_iter_no_change=3),
    dict(solver="adam", alpha=0.0, activation="tanh"),
    dict(solver="adam", alpha=0.05, activation="logistic", batch_size=64),
    dict(solver="adam", activation="identity", batch_size=1000),  # clipped to n
    dict(solver="sgd", learning_rate="constant"),
    dict(solver="sgd", learning_rate="constant", nesterovs_momentum=False, shuffle=False),
    dict(solver="sgd", learning_rate="constant", momentum=0.0),
    dict(solver="sgd", learning_rate="invscaling", learning_rate_init=0.1),
    dict(
        solver="sgd", learning_rate="adaptive", learning_rate_init=0.2, tol=1e-2, n_iter_no_change=2
    ),
    dict(
        solver="sgd",
        learning_rate="adaptive",
        early_stopping=True,
        tol=1e-1,
        n_iter_no_change=2,
        alpha=0.01,
    ),
]


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize(
    "params", STOCHASTIC_CASES, ids=lambda p: "-".join(f"{k}={v}" for k, v in p.items())
)
def test_stochastic_equals_mlpclassifier(data, params, weighted):
    X, y = data
    sw = np.random.RandomState(1).uniform(0.2, 3.0, len(y)) if weighted else None
    params = dict(hidden_layer_sizes=(7, 5), max_iter=25, **params)
    ref, ours = fit_both(X, y, sample_weight=sw, **params)
    assert_same_model(ref, ours, X, STOCHASTIC_RTOL)


@pytest.mark.parametrize("activation", ["relu", "tanh", "logistic"])
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("alpha", [0.0, 1e-2])
def test_lbfgs_equals_mlpclassifier(data, activation, weighted, alpha):
    X, y = data
    sw = np.random.RandomState(1).uniform(0.2, 3.0, len(y)) if weighted else None
    ref, ours = fit_both(
        X,
        y,
        sample_weight=sw,
        solver="lbfgs",
        hidden_layer_sizes=(6, 4),
        max_iter=20,
        activation=activation,
        alpha=alpha,
    )
    assert_same_model(ref, ours, X, LBFGS_RTOL)


def test_equality_is_not_vacuous(data):
    """The comparison sees a changed hyperparameter (the tests can fail)."""
    X, y = data
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ref = MLPClassifier(hidden_layer_sizes=(7,), max_iter=5, random_state=0).fit(X, y)
        ours = DenseBinaryClassifier(
            hidden_layer_sizes=(7,), max_iter=5, random_state=0, beta_2=0.99
        ).fit(X, y)
    with pytest.raises(AssertionError):
        assert_same_model(ref, ours, X, STOCHASTIC_RTOL)


@pytest.mark.parametrize("hidden", [(), 4, np.array([5, 3])], ids=["none", "int", "array"])
def test_hidden_layer_sizes_forms(data, hidden):
    X, y = data
    ref, ours = fit_both(X, y, hidden_layer_sizes=hidden, max_iter=10)
    assert_same_model(ref, ours, X, STOCHASTIC_RTOL)


@pytest.mark.parametrize("solver", ["adam", "sgd", "lbfgs"])
@pytest.mark.parametrize("fmt", ["csr", "csc"])
def test_sparse_equals_dense_and_mlpclassifier(data, solver, fmt):
    X, y = data
    Xs = np.where(np.abs(X) > 0.8, X, 0.0)
    Xsp = sp.csr_matrix(Xs) if fmt == "csr" else sp.csc_matrix(Xs)
    params = dict(hidden_layer_sizes=(6,), max_iter=15, solver=solver, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        dense = DenseBinaryClassifier(**params).fit(Xs, y)
        sparse = DenseBinaryClassifier(**params).fit(Xsp, y)
        ref = MLPClassifier(**params).fit(Xsp, y)
    rtol = LBFGS_RTOL if solver == "lbfgs" else STOCHASTIC_RTOL
    assert_same_model(ref, sparse, Xsp, rtol)
    for a, b in zip(dense.coefs_ + dense.intercepts_, sparse.coefs_ + sparse.intercepts_):
        assert rel_err(a, b) <= rtol
    np.testing.assert_allclose(
        sparse.decision_function(Xsp), dense.decision_function(Xs), rtol=1e-10, atol=1e-12
    )


def test_sparse_with_early_stopping_and_weights(data):
    X, y = data
    Xsp = sp.csr_matrix(np.where(np.abs(X) > 0.8, X, 0.0))
    sw = np.random.RandomState(2).uniform(0.5, 2.0, len(y))
    ref, ours = fit_both(
        Xsp, y, sample_weight=sw, hidden_layer_sizes=(5,), max_iter=10, early_stopping=True
    )
    assert_same_model(ref, ours, Xsp, STOCHASTIC_RTOL)


@pytest.mark.parametrize(
    "extra", [{}, dict(early_stopping=True, n_iter_no_change=1), dict(solver="lbfgs")]
)
def test_warm_start_equals_mlpclassifier(data, extra):
    X, y = data
    params = dict(hidden_layer_sizes=(6,), max_iter=4, warm_start=True, random_state=0, **extra)
    ref, ours = MLPClassifier(**params), DenseBinaryClassifier(**params)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for _ in range(3):
            ref.fit(X, y)
            ours.fit(X, y)
    if "solver" not in extra:
        assert len(ours.loss_curve_) == len(ref.loss_curve_) > 4
    assert_same_model(ref, ours, X, STOCHASTIC_RTOL)
    # without warm_start a second fit starts over
    cold = DenseBinaryClassifier(hidden_layer_sizes=(6,), max_iter=4, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        cold.fit(X, y)
        first = [c.copy() for c in cold.coefs_]
        cold.fit(X, y)
    for a, b in zip(first, cold.coefs_):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("solver", ["adam", "sgd"])
def test_partial_fit_streaming_equals_mlpclassifier(data, solver):
    X, y = data
    sw = np.random.RandomState(3).uniform(0.5, 2.0, len(y))
    ref = MLPClassifier(hidden_layer_sizes=(5,), solver=solver, random_state=0)
    ours = DenseBinaryClassifier(hidden_layer_sizes=(5,), solver=solver, random_state=0)
    for start in range(0, len(y), 50):
        sl = slice(start, start + 50)
        ref.partial_fit(X[sl], y[sl], classes=[0, 1], sample_weight=sw[sl])
        ours.partial_fit(X[sl], y[sl], classes=[0, 1], sample_weight=sw[sl])
    assert_same_model(ref, ours, X, STOCHASTIC_RTOL)
    # a batch holding a single class is fine once classes are known
    ours.partial_fit(X[y == 1][:10], y[y == 1][:10])
    with pytest.raises(ValueError, match="classes"):
        ours.partial_fit(X[:10], np.full(10, 7))


def test_partial_fit_restrictions(data):
    X, y = data
    with pytest.raises(AttributeError, match="partial_fit"):
        DenseBinaryClassifier(solver="lbfgs").partial_fit(X, y, classes=[0, 1])
    with pytest.raises(ValueError, match="early_stopping"):
        DenseBinaryClassifier(early_stopping=True).partial_fit(X, y, classes=[0, 1])
    with pytest.raises(ValueError, match="balanced"):
        DenseBinaryClassifier(class_weight="balanced").partial_fit(X, y, classes=[0, 1])
    with pytest.raises(
        ValueError, match="Only binary classification is supported.*DenseClassifier"
    ):
        DenseBinaryClassifier().partial_fit(X, y, classes=[0, 1, 2])
    with pytest.raises(ValueError, match="classes must be passed"):
        DenseBinaryClassifier().partial_fit(X, y)


def test_sample_weight_zero_equals_dropping_rows(data):
    X, y = data
    keep = np.random.RandomState(4).uniform(size=len(y)) > 0.3
    params = dict(hidden_layer_sizes=(6,), solver="lbfgs", max_iter=60, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        weighted = DenseBinaryClassifier(**params).fit(X, y, sample_weight=keep.astype(float))
        dropped = DenseBinaryClassifier(**params).fit(X[keep], y[keep])
        unweighted = DenseBinaryClassifier(**params).fit(X, y)
    for a, b in zip(weighted.coefs_ + weighted.intercepts_, dropped.coefs_ + dropped.intercepts_):
        assert rel_err(b, a) < 1e-8
    np.testing.assert_allclose(weighted.loss_, dropped.loss_, rtol=1e-10)
    # and the weights do change the model
    assert rel_err(unweighted.coefs_[0], weighted.coefs_[0]) > 1e-3


def test_class_weight_balanced_raises_minority_recall():
    X, y = make_classification(
        n_samples=600,
        n_features=6,
        weights=[0.92, 0.08],
        flip_y=0.05,
        class_sep=0.6,
        random_state=0,
    )
    params = dict(hidden_layer_sizes=(8,), max_iter=80, learning_rate_init=0.01, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        plain = DenseBinaryClassifier(**params).fit(X, y)
        balanced = DenseBinaryClassifier(class_weight="balanced", **params).fit(X, y)
        as_dict = DenseBinaryClassifier(class_weight={0: 1.0, 1: 10.0}, **params).fit(X, y)
        explicit = DenseBinaryClassifier(**params).fit(
            X, y, sample_weight=np.where(y == 1, 10.0, 1.0)
        )
    r_plain = recall_score(y, plain.predict(X))
    r_bal = recall_score(y, balanced.predict(X))
    assert r_bal > r_plain + 0.1
    # a class_weight dict is the same as the equivalent sample weights
    for a, b in zip(as_dict.coefs_, explicit.coefs_):
        np.testing.assert_allclose(a, b, rtol=1e-12)


def test_early_stopping_with_custom_scorers(data):
    X, y = data
    params = dict(
        hidden_layer_sizes=(6,),
        max_iter=15,
        early_stopping=True,
        n_iter_no_change=20,
        random_state=0,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        acc = DenseBinaryClassifier(**params).fit(X, y)
        auc = DenseBinaryClassifier(scoring="roc_auc", **params).fit(X, y)
        calls = []

        def neg_brier(estimator, X_val, y_val):
            calls.append(len(y_val))
            p = estimator.predict_proba(X_val)[:, 1]
            return -float(np.mean((p - y_val) ** 2))

        brier = DenseBinaryClassifier(scoring=neg_brier, **params).fit(X, y)
    # same split and the same training path; only the tracked metric differs
    np.testing.assert_allclose(auc.loss_curve_, acc.loss_curve_)
    assert len(calls) == brier.n_iter_ == 15 and calls[0] == 30
    assert all(0.5 < s <= 1 for s in auc.validation_scores_)
    assert auc.validation_scores_ != acc.validation_scores_
    assert brier.best_validation_score_ == max(brier.validation_scores_)
    assert all(s < 0 for s in brier.validation_scores_)
    # the restored weights are those of the best-scoring epoch: refit up to it
    best = int(np.argmax(auc.validation_scores_)) + 1
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        upto = DenseBinaryClassifier(scoring="roc_auc", **{**params, "max_iter": best}).fit(X, y)
    for a, b in zip(upto.coefs_, auc.coefs_):
        np.testing.assert_array_equal(a, b)
    # and the score is the real roc_auc of that model on the held-out split
    from sklearn.model_selection import train_test_split

    rs = np.random.RandomState(0)
    rs.uniform(size=8 * 6 + 6 + 6 + 1)  # the initialisation draws come first
    _, X_val, _, y_val = train_test_split(
        X,
        y.reshape(-1, 1).astype(bool),
        random_state=rs,
        test_size=0.1,
        stratify=y.reshape(-1, 1).astype(bool),
    )
    assert auc.best_validation_score_ == pytest.approx(
        roc_auc_score(y_val.ravel(), auc.decision_function(X_val))
    )


@pytest.mark.parametrize(
    "labels",
    [
        np.array(["no", "yes"]),
        np.array([-1, 1]),
        np.array([False, True]),
        np.array([1.0, 3.0]),
        np.array(["b", "a"], dtype=object),
    ],
)
def test_label_types_round_trip(data, labels):
    X, y = data
    y_lab = labels[y]
    clf = DenseBinaryClassifier(
        hidden_layer_sizes=(5,), solver="lbfgs", max_iter=30, random_state=0
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X, y_lab)
        positive = np.sort(labels)[1]
        ref = DenseBinaryClassifier(
            hidden_layer_sizes=(5,), solver="lbfgs", max_iter=30, random_state=0
        ).fit(X, (y_lab == positive).astype(int))
    np.testing.assert_array_equal(clf.classes_, np.sort(labels))
    pred = clf.predict(X)
    assert set(pred) <= set(labels)
    # the positive class is classes_[1], whatever the label type
    np.testing.assert_array_equal(pred == positive, ref.predict(X) == 1)
    np.testing.assert_array_equal(clf.decision_function(X), ref.decision_function(X))
    assert clf.score(X, y_lab) > 0.8


def test_multiclass_and_multilabel_rejected(data):
    X, _ = data
    y3 = np.arange(len(X)) % 3
    with pytest.raises(ValueError, match="Only binary classification is supported"):
        DenseBinaryClassifier().fit(X, y3)
    Y = np.column_stack([np.arange(len(X)) % 2, np.arange(len(X)) // 2 % 2])
    with pytest.raises(ValueError, match="Only binary classification is supported"):
        DenseBinaryClassifier().fit(X, Y)
    with pytest.raises(ValueError, match="Unknown label type"):
        DenseBinaryClassifier().fit(X, np.linspace(0, 1, len(X)))


@pytest.mark.parametrize("solver", ["adam", "lbfgs"])
def test_dtypes(data, solver):
    X, y = data
    X32 = X.astype(np.float32)
    kw = dict(hidden_layer_sizes=(6,), max_iter=20, solver=solver, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        m32 = DenseBinaryClassifier(**kw).fit(X32, y)
        m64 = DenseBinaryClassifier(**kw).fit(X, y)
        forced32 = DenseBinaryClassifier(dtype="float32", **kw).fit(X, y)
        forced64 = DenseBinaryClassifier(dtype="float64", **kw).fit(X32, y)
        ints = DenseBinaryClassifier(**kw).fit((X * 10).astype(int), y)
    assert all(c.dtype == np.float32 for c in m32.coefs_ + m32.intercepts_)
    assert m32.predict_proba(X32).dtype == np.float32
    assert m32.decision_function(X).dtype == np.float32
    assert all(c.dtype == np.float32 for c in forced32.coefs_)
    assert all(c.dtype == np.float64 for c in forced64.coefs_ + m64.coefs_ + ints.coefs_)
    for a, b in zip(m32.coefs_, m64.coefs_):
        np.testing.assert_allclose(a, b, rtol=0, atol=2e-3 if solver == "adam" else 5e-2)
    assert np.mean(m32.predict(X) == m64.predict(X)) > 0.97


def test_decision_function_and_probabilities(data):
    X, y = data
    clf = DenseBinaryClassifier(hidden_layer_sizes=(6, 3), max_iter=10, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X, y)
    z = clf.decision_function(X)
    assert z.shape == (len(X),)
    # an independent NumPy forward pass
    a = X
    for W, b in zip(clf.coefs_[:-1], clf.intercepts_[:-1]):
        a = np.maximum(a @ W + b, 0)
    z_np = (a @ clf.coefs_[-1] + clf.intercepts_[-1]).ravel()
    np.testing.assert_allclose(z, z_np, rtol=1e-12, atol=1e-12)
    proba = clf.predict_proba(X)
    assert proba.shape == (len(X), 2)
    np.testing.assert_allclose(proba[:, 1], expit(z_np), rtol=1e-12)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    np.testing.assert_allclose(clf.predict_log_proba(X), np.log(proba))
    np.testing.assert_array_equal(clf.predict(X), clf.classes_[(proba[:, 1] > 0.5).astype(int)])


def test_predict_in_chunks(data, monkeypatch):
    X, y = data
    clf = DenseBinaryClassifier(
        hidden_layer_sizes=(6, 4), solver="lbfgs", max_iter=20, random_state=0
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X, y)
    whole = clf.decision_function(X)
    monkeypatch.setattr(est_module, "_PREDICT_CHUNK_ELEMENTS", 7 * 11)  # 7 rows a chunk
    assert len(X) > 7 * 11
    # BLAS may round a 7-row product differently from a 300-row one
    np.testing.assert_allclose(clf.decision_function(X), whole, rtol=1e-13, atol=1e-13)
    np.testing.assert_allclose(
        clf.decision_function(sp.csr_matrix(X)), whole, rtol=1e-13, atol=1e-13
    )


@pytest.mark.parametrize("output", ["logistic1", "logistic", "softmax", "identity", "exp"])
@pytest.mark.parametrize("activation", ["relu", "tanh", "logistic", "identity", "leaky_relu"])
@pytest.mark.parametrize("sparse", [False, True])
def test_loss_grad_kernel_central_differences(activation, sparse, output):
    """The fused loss-and-gradient kernel against central differences in float64,
    for every output layer and loss (logistic1: one output unit, the binary case)."""
    rng = np.random.RandomState(0)
    X = rng.standard_normal((23, 5))
    X[rng.uniform(size=X.shape) < 0.4] = 0.0
    k = 1 if output == "logistic1" else 3
    if output == "softmax":
        Y = np.eye(k)[rng.randint(0, k, 23)]
    elif output in ("logistic", "logistic1"):
        Y = (rng.uniform(size=(23, k)) > 0.5).astype(np.float64)
    elif output == "exp":
        Y = rng.poisson(1.5, (23, k)).astype(np.float64)
    else:
        Y = rng.standard_normal((23, k))
    sw = rng.uniform(0.1, 2.0, 23)
    units = [5, 4, 3, k]
    clf = DenseBinaryClassifier(activation=activation)
    layout = _train.Layout(units)
    coef_off, n_params = layout.coef_off, layout.n_params
    params = rng.uniform(-1, 1, n_params)
    if sparse:
        Xd, data_, indptr, indices = clf._kernel_X(sp.csr_matrix(X), np.float64)
    else:
        Xd, data_, indptr, indices = clf._kernel_X(X, np.float64)
    code = est_module._kernel_activation(activation)
    out = _train.OUTPUT_CODES[output.rstrip("1")]
    net = _train.NetSpec(layout, code, 0.01, out)
    plan = _train.EpochPlan(net, Xd, data_, indptr, indices, Y, sw, 0.3, 23, False)
    # scikit-learn reports half the squared error averaged over the outputs but
    # differentiates the sum over them: the gradient is k times the loss's
    scale = k if output == "identity" else 1

    def f(p, grad):
        return _train.loss_grad(plan, p, grad)

    grad = np.empty(n_params)
    f(params, grad)
    num = np.empty(n_params)
    h = 1e-6
    # the L2 term is alpha/2 |W|^2 / S in both: take it out of the scaled part
    S = sw.sum()
    l2 = np.zeros(n_params)
    for o, a, b in zip(coef_off, units[:-1], units[1:]):
        l2[o : o + a * b] = 0.3 * params[o : o + a * b] / S
    for i in range(n_params):
        e = np.zeros(n_params)
        e[i] = h
        num[i] = (f(params + e, np.empty(n_params)) - f(params - e, np.empty(n_params))) / (2 * h)
    num = (num - l2) * scale + l2
    np.testing.assert_allclose(grad, num, rtol=1e-5, atol=1e-7)


def test_leaky_relu_trains(data):
    X, y = data
    clf = DenseBinaryClassifier(
        hidden_layer_sizes=(8,),
        activation="leaky_relu",
        solver="lbfgs",
        max_iter=100,
        random_state=0,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X, y)
    a = X @ clf.coefs_[0] + clf.intercepts_[0]
    a = np.where(a < 0, 0.01 * a, a)
    np.testing.assert_allclose(
        clf.decision_function(X), (a @ clf.coefs_[1] + clf.intercepts_[1]).ravel(), rtol=1e-12
    )
    assert clf.score(X, y) > 0.9


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_determinism_and_threads(data):
    X, y = data
    kw = dict(hidden_layer_sizes=(6,), max_iter=10)

    def fit(seed):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            return DenseBinaryClassifier(random_state=seed, **kw).fit(X, y)

    a, b, c = fit(1), fit(1), fit(2)
    np.testing.assert_array_equal(a.coefs_[0], b.coefs_[0])
    assert not np.array_equal(a.coefs_[0], c.coefs_[0])
    # fits running side by side in threads (GIL released, no shared state) agree
    results = [None] * 4
    threads = [
        threading.Thread(target=lambda i=i: results.__setitem__(i, fit(1 + i % 2)))
        for i in range(4)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for i, r in enumerate(results):
        ref = a if i % 2 == 0 else c
        np.testing.assert_array_equal(r.coefs_[0], ref.coefs_[0])
        np.testing.assert_array_equal(r.loss_curve_, ref.loss_curve_)


def test_verbose_and_warnings_match_mlpclassifier(data):
    X, y = data
    kw = dict(
        hidden_layer_sizes=(4,),
        max_iter=30,
        solver="sgd",
        learning_rate="adaptive",
        learning_rate_init=0.3,
        tol=0.05,
        n_iter_no_change=1,
        verbose=True,
        random_state=0,
    )
    outs = []
    for cls in (MLPClassifier, DenseBinaryClassifier):
        buf = io.StringIO()
        with redirect_stdout(buf), warnings.catch_warnings(record=True) as w:
            warnings.simplefilter("always")
            cls(**kw).fit(X, y)
        outs.append((buf.getvalue(), [str(x.message) for x in w]))
    assert "Setting learning rate to" in outs[0][0]
    assert outs[1] == outs[0]
    with pytest.warns(ConvergenceWarning, match="Maximum iterations"):
        DenseBinaryClassifier(hidden_layer_sizes=(4,), max_iter=2).fit(X, y)


def test_ecosystem(data):
    X, y = data
    clf = DenseBinaryClassifier(
        hidden_layer_sizes=(6,), max_iter=60, learning_rate_init=0.01, random_state=0
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        pipe = make_pipeline(StandardScaler(), clf).fit(X, y)
        assert pipe.score(X, y) > 0.8
        scores = cross_val_score(clone(pipe), X, y, cv=3)
        assert scores.shape == (3,) and scores.mean() > 0.75
        grid = GridSearchCV(
            clf, {"alpha": [1e-4, 1e-1], "hidden_layer_sizes": [(4,), (6,)]}, cv=2, n_jobs=2
        ).fit(X, y)
    assert grid.best_estimator_.hidden_layer_sizes in [(4,), (6,)]
    fitted = pipe[-1]
    clone_ = clone(fitted)
    assert not hasattr(clone_, "coefs_") and clone_.get_params() == fitted.get_params()
    for restored in (pickle.loads(pickle.dumps(fitted)), joblib.load(_joblib_roundtrip(fitted))):
        np.testing.assert_array_equal(restored.predict_proba(X), fitted.predict_proba(X))
        # the restored weights are one flat buffer again, and training continues
        params, _ = restored._flat_params()
        assert restored.coefs_[0].base is params or restored.coefs_[0].base is params.base
        restored.partial_fit(X, y)


def _joblib_roundtrip(obj):
    buf = io.BytesIO()
    joblib.dump(obj, buf)
    buf.seek(0)
    return buf


def test_replaced_coefs_are_used(data):
    X, y = data
    clf = DenseBinaryClassifier(hidden_layer_sizes=(5,), max_iter=5, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X, y)
    clf.coefs_ = [np.zeros_like(c) for c in clf.coefs_]
    np.testing.assert_allclose(clf.decision_function(X), clf.intercepts_[-1][0])
    clf.coefs_[1][...] = 1.0  # an in-place edit of the re-packed views is seen too
    assert not np.allclose(clf.decision_function(X), clf.intercepts_[-1][0])


def test_pandas_feature_names(data):
    pd = pytest.importorskip("pandas")
    X, y = data
    df = pd.DataFrame(X, columns=[f"f{i}" for i in range(X.shape[1])])
    clf = DenseBinaryClassifier(
        hidden_layer_sizes=(5,), max_iter=10, early_stopping=True, scoring="roc_auc", random_state=0
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)  # no feature-name warnings inside fit
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(df, pd.Series(np.where(y == 1, "pos", "neg")))
    np.testing.assert_array_equal(clf.feature_names_in_, df.columns)
    with pytest.warns(UserWarning, match="feature names"):
        np.testing.assert_array_equal(clf.predict(df), clf.predict(X))
    with pytest.raises(ValueError, match="feature names"):
        clf.predict(df[df.columns[::-1]])


def test_read_only_memmap_input(data, tmp_path):
    X, y = data
    path = tmp_path / "X.npy"
    np.save(path, X)
    Xm = np.load(path, mmap_mode="r")
    ym = y.copy()
    ym.setflags(write=False)
    kw = dict(hidden_layer_sizes=(5,), max_iter=5, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        a = DenseBinaryClassifier(**kw).fit(Xm, ym)
        b = DenseBinaryClassifier(**kw).fit(X, y)
        Xs = sp.csr_matrix(X)
        for arr in (Xs.data, Xs.indices, Xs.indptr):
            arr.setflags(write=False)
        DenseBinaryClassifier(**kw).fit(Xs, y).predict(Xs)
    np.testing.assert_array_equal(a.coefs_[0], b.coefs_[0])
    np.testing.assert_array_equal(a.predict(Xm), b.predict(X))


def test_bad_inputs_give_clear_errors(data):
    X, y = data
    clf = DenseBinaryClassifier(hidden_layer_sizes=(4,), max_iter=3, random_state=0)
    Xn = X.copy()
    Xn[0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        clf.fit(Xn, y)
    Xi = X.copy()
    Xi[0, 0] = np.inf
    with pytest.raises(ValueError, match="infinity"):
        clf.fit(Xi, y)
    with pytest.raises(ValueError, match="0 sample"):
        clf.fit(X[:0], y[:0])
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        clf.fit(X, y[:-1])
    with pytest.raises(ValueError, match="Expected 2D array"):
        clf.fit(X[:, 0], y)
    with pytest.raises(ValueError, match="activation"):
        DenseBinaryClassifier(activation="softmax").fit(X, y)
    with pytest.raises(ValueError, match="dtype"):
        DenseBinaryClassifier(dtype="float16").fit(X, y)
    with pytest.raises(ValueError, match="scoring"):
        DenseBinaryClassifier(scoring="not_a_metric").fit(X, y)
    with pytest.raises(ValueError, match="hidden_layer_sizes must be > 0"):
        DenseBinaryClassifier(hidden_layer_sizes=(4, 0)).fit(X, y)
    with pytest.raises(ValueError, match="sample_weight"):
        clf.fit(X, y, sample_weight=np.ones(3))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X, y)
    with pytest.raises(ValueError, match="features"):
        clf.predict(X[:, :-1])
    with pytest.raises(ValueError, match="NaN"):
        clf.predict_proba(Xn)
    with pytest.raises(ValueError, match="0 sample"):
        clf.decision_function(X[:0])
    with pytest.raises(ValueError, match="test_size"):  # the stratified split cannot be made
        DenseBinaryClassifier(early_stopping=True, validation_fraction=0.01).fit(X[:20], y[:20])


@pytest.mark.parametrize("solver", ["adam", "lbfgs"])
def test_sparse_input_is_never_densified(solver):
    """A wide CSR X trains and predicts in memory far below its dense size."""
    import tracemalloc

    n, d = 200, 200_000  # dense float64 would be 320 MB
    X = sp.random(n, d, density=5e-5, format="csr", random_state=0)
    X = X + sp.csr_matrix((np.ones(n), (np.arange(n), np.arange(n))), shape=(n, d))
    y = np.arange(n) % 2
    clf = DenseBinaryClassifier(hidden_layer_sizes=(2,), max_iter=3, solver=solver, random_state=0)
    tracemalloc.start()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            clf.fit(X, y)
        clf.predict_proba(X)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # adam: params, grads and two moment buffers of 400k parameters (13 MB);
    # L-BFGS-B adds its 10 correction pairs (~100 MB); dense X alone is 320 MB.
    limit = 40e6 if solver == "adam" else 160e6
    assert peak < limit, f"peak {peak / 1e6:.0f} MB"


@pytest.mark.parametrize("activation", ["relu", "tanh", "logistic", "identity", "leaky_relu"])
def test_module_reproduces_decision_function(activation):
    import fastdense as fd

    rng = np.random.default_rng(0)
    X = rng.standard_normal((60, 5))
    y = (X[:, 0] > 0).astype(int)
    clf = DenseBinaryClassifier(
        hidden_layer_sizes=(7, 4), activation=activation, max_iter=30, random_state=0
    ).fit(X, y)
    fd.manual_seed(3)
    expected_draw = fd.nn.Linear(2, 2).weight.data.numpy().copy()
    fd.manual_seed(3)
    module = clf.module_
    assert np.array_equal(fd.nn.Linear(2, 2).weight.data, expected_draw)  # stream untouched
    assert isinstance(module, fd.nn.Sequential) and len(module) == 5
    np.testing.assert_allclose(np.asarray(module(X))[:, 0], clf.decision_function(X), rtol=1e-12)
    sd = module.state_dict()
    assert list(sd) == ["0.weight", "0.bias", "2.weight", "2.bias", "4.weight", "4.bias"]
    np.testing.assert_array_equal(sd["0.weight"], clf.coefs_[0].T)


def test_module_state_dict_loads_into_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(1)
    X = rng.standard_normal((50, 6))
    y = (X[:, 1] > 0).astype(int)
    clf = DenseBinaryClassifier(hidden_layer_sizes=(8, 3), max_iter=20, random_state=0).fit(X, y)
    net = torch.nn.Sequential(
        torch.nn.Linear(6, 8),
        torch.nn.ReLU(),
        torch.nn.Linear(8, 3),
        torch.nn.ReLU(),
        torch.nn.Linear(3, 1),
    ).double()
    net.load_state_dict(
        {k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in clf.module_.state_dict().items()}
    )
    with torch.no_grad():
        logits = net(torch.from_numpy(X))[:, 0].numpy()
    np.testing.assert_allclose(logits, clf.decision_function(X), rtol=1e-12)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_predict_fast_path_equals_validated_path(dtype):
    rng = np.random.default_rng(4)
    X = rng.standard_normal((80, 6)).astype(dtype)
    y = (X[:, 0] > 0).astype(int)
    clf = DenseBinaryClassifier(hidden_layer_sizes=(5,), max_iter=20, random_state=0).fit(X, y)
    fast = clf.predict_proba(X)  # C-ordered, fitted dtype: the fast path
    slow = clf.predict_proba(np.asfortranarray(X))  # through validate_data
    np.testing.assert_array_equal(fast, slow)
    for bad in (np.nan, np.inf):
        Xbad = X.copy()
        Xbad[3, 2] = bad
        with pytest.raises(ValueError, match="NaN|infinity"):
            clf.predict_proba(Xbad)
    with pytest.raises(ValueError, match="features"):
        clf.predict_proba(X[:, :5].copy())
