"""fit(X, y, *, X_val, y_val, sample_weight_val): the validation set, its curves, early stopping.

The validation loss is the training loss's output part (no L2 term), computed
by the compiled kernel on the prediction path's logits: checked against the
NumPy oracle (_reference.sklearn_output_loss), against the training loss
itself (lbfgs, alpha=0, the training set as validation set), and the score
against the estimator's own score. Routing through Pipeline / GridSearchCV
as scikit-learn documents it for fit parameters.
"""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
import sklearn
from sklearn.datasets import make_classification, make_multilabel_classification, make_regression
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import accuracy_score, r2_score
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler

from fastdense import DenseBinaryClassifier, DenseClassifier, DenseRegressor, _reference

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def _split(X, y, n_val):
    return X[:-n_val], y[:-n_val], X[-n_val:], y[-n_val:]


def _multiclass(n=240, classes=3):
    X, y = make_classification(n, 8, n_informative=5, n_classes=classes, random_state=0)
    return _split(X, y, n // 4)


def _regression(n=240, targets=1):
    X, y = make_regression(n, 6, n_targets=targets, noise=1.0, random_state=0)
    return _split(X, y / 50, n // 4)


def _oracle_loss(est, X, Y, sw=None):
    """The validation loss from the fitted logits, by the NumPy oracle."""
    z = est._decision_validated(np.asarray(X, dtype=est._params.dtype))
    if hasattr(est, "classes_"):
        Y = est._label_binarizer.transform(Y)
    return _reference.sklearn_output_loss(
        z, np.asarray(Y).reshape(z.shape), est.out_activation_, sw
    )[0]


CASES = [
    (DenseBinaryClassifier, lambda: _multiclass(classes=2), {}),
    (DenseClassifier, _multiclass, {}),
    (DenseClassifier, lambda: _multiclass(classes=2), {}),
    (DenseRegressor, _regression, {}),
    (DenseRegressor, lambda: _regression(targets=2), {}),
    (
        DenseRegressor,
        lambda: _split(*(lambda X, y: (X, np.abs(y)))(*_regression()[:2]), 45),
        {"loss": "poisson"},
    ),
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("solver", ["adam", "lbfgs"])
@pytest.mark.parametrize("cls,data,extra", CASES)
def test_curves_every_epoch_match_the_oracle(cls, data, extra, solver, dtype):
    X, y, Xv, yv = data()
    X, Xv = X.astype(dtype), Xv.astype(dtype)
    sw_val = np.linspace(0.5, 2.0, len(yv))
    est = cls(hidden_layer_sizes=(8,), solver=solver, max_iter=12, random_state=0, **extra).fit(
        X, y, X_val=Xv, y_val=yv, sample_weight_val=sw_val
    )
    assert len(est.validation_loss_curve_) == len(est.validation_scores_) == est.n_iter_
    assert all(isinstance(v, float) for v in est.validation_loss_curve_)
    assert getattr(est, "best_validation_score_", None) is None
    # the last entry: the final weights (no early stopping), weighted by sample_weight_val
    rtol = 1e-4 if dtype == np.float32 else 1e-10
    np.testing.assert_allclose(
        est.validation_loss_curve_[-1], _oracle_loss(est, Xv, yv, sw_val), rtol=rtol
    )
    score = r2_score if cls is DenseRegressor else accuracy_score
    np.testing.assert_allclose(
        est.validation_scores_[-1], score(yv, est.predict(Xv), sample_weight=sw_val), rtol=rtol
    )


@pytest.mark.parametrize(
    "cls,data", [(DenseClassifier, _multiclass), (DenseRegressor, _regression)]
)
def test_validation_loss_is_the_training_loss_without_l2(cls, data):
    X, y, _, _ = data()
    # lbfgs's loss_ is the training loss at the final weights; alpha=0: no L2 term
    est = cls(hidden_layer_sizes=(8,), solver="lbfgs", alpha=0.0, max_iter=15, random_state=0).fit(
        X, y, X_val=X, y_val=y
    )
    assert est.validation_loss_curve_[-1] == pytest.approx(est.loss_, rel=1e-12)
    # with alpha > 0 the L2 term is left out of the validation loss only
    est = cls(hidden_layer_sizes=(8,), solver="lbfgs", alpha=1.0, max_iter=15, random_state=0).fit(
        X, y, X_val=X, y_val=y
    )
    l2 = 0.5 * 1.0 * sum((w**2).sum() for w in est.coefs_) / len(y)
    assert est.validation_loss_curve_[-1] + l2 == pytest.approx(est.loss_, rel=1e-10)


def test_multilabel_and_sparse_validation_sets():
    X, Y = make_multilabel_classification(200, 10, n_classes=3, random_state=0)
    X, Y, Xv, Yv = _split(X.astype(float), Y, 50)
    est = DenseClassifier(hidden_layer_sizes=(8,), max_iter=5, random_state=0)
    est.fit(sp.csr_matrix(X), Y, X_val=sp.csr_matrix(Xv), y_val=Yv)
    np.testing.assert_allclose(
        est.validation_loss_curve_[-1], _oracle_loss(est, Xv, Yv), rtol=1e-10
    )
    dense = DenseClassifier(hidden_layer_sizes=(8,), max_iter=5, random_state=0)
    dense.fit(X, Y, X_val=sp.csc_matrix(Xv), y_val=Yv)
    np.testing.assert_allclose(dense.validation_loss_curve_, est.validation_loss_curve_, rtol=1e-10)


def test_without_validation_set_nothing_changes():
    X, y, _, _ = _multiclass()
    est = DenseClassifier(hidden_layer_sizes=(8,), max_iter=5, random_state=0).fit(X, y)
    assert est.validation_scores_ is None and est.validation_loss_curve_ is None
    lb = DenseClassifier(hidden_layer_sizes=(8,), solver="lbfgs", max_iter=5).fit(X, y)
    assert not hasattr(lb, "validation_loss_curve_")
    # the early-stopping split is scored the same way: loss curve beside the scores
    es = DenseClassifier(
        hidden_layer_sizes=(8,), max_iter=30, early_stopping=True, random_state=0
    ).fit(X, y)
    assert len(es.validation_loss_curve_) == len(es.validation_scores_) == es.n_iter_


@pytest.mark.parametrize(
    "cls,data", [(DenseClassifier, _multiclass), (DenseRegressor, _regression)]
)
def test_early_stopping_on_the_given_set(cls, data):
    X, y, Xv, yv = data()
    est = cls(
        hidden_layer_sizes=(16,),
        max_iter=300,
        early_stopping=True,
        n_iter_no_change=3,
        learning_rate_init=0.05,
        random_state=0,
    )
    est.fit(X, y, X_val=Xv, y_val=yv)
    assert est.n_iter_ < 300  # stopped by the rule, on this set
    assert est.best_validation_score_ == max(est.validation_scores_)
    # the best epoch's weights are restored: their score on X_val is the best score
    assert est.score(Xv, yv) == pytest.approx(est.best_validation_score_, rel=1e-12)
    # validation_fraction plays no part: the whole training set is trained on
    assert est.t_ == est.n_iter_ * len(y)


def test_given_set_changes_nothing_but_the_curves_without_early_stopping():
    X, y, Xv, yv = _multiclass()
    a = DenseClassifier(hidden_layer_sizes=(8,), max_iter=10, random_state=0).fit(X, y)
    b = DenseClassifier(hidden_layer_sizes=(8,), max_iter=10, random_state=0).fit(
        X, y, X_val=Xv, y_val=yv
    )
    np.testing.assert_array_equal(a._params, b._params)
    assert a.loss_curve_ == b.loss_curve_


def test_warm_start_continues_the_curves():
    X, y, Xv, yv = _multiclass()
    est = DenseClassifier(hidden_layer_sizes=(8,), max_iter=4, warm_start=True, random_state=0)
    est.fit(X, y)
    assert est.validation_loss_curve_ is None
    est.fit(X, y, X_val=Xv, y_val=yv)
    est.fit(X, y, X_val=Xv, y_val=yv)
    assert len(est.validation_loss_curve_) == len(est.validation_scores_) == 8


def test_scoring_is_used_for_validation_scores():
    X, y, Xv, yv = _multiclass(classes=2)
    est = DenseBinaryClassifier(
        hidden_layer_sizes=(8,), max_iter=6, random_state=0, scoring="neg_log_loss"
    ).fit(X, y, X_val=Xv, y_val=yv)
    assert all(s < 0 for s in est.validation_scores_)
    # neg_log_loss is minus the validation loss: same formula, other code (L2-free both)
    np.testing.assert_allclose(
        est.validation_scores_, -np.array(est.validation_loss_curve_), rtol=1e-9
    )


def test_string_labels_and_feature_names():
    pd = pytest.importorskip("pandas")
    X, y, Xv, yv = _multiclass()
    names = np.array(["a", "b", "c"])
    cols = [f"f{i}" for i in range(X.shape[1])]
    est = DenseClassifier(hidden_layer_sizes=(8,), max_iter=5, random_state=0)
    est.fit(
        pd.DataFrame(X, columns=cols),
        names[y],
        X_val=pd.DataFrame(Xv, columns=cols),
        y_val=names[yv],
    )
    assert est.validation_scores_[-1] == est.score(pd.DataFrame(Xv, columns=cols), names[yv])
    with pytest.raises(ValueError, match="feature names"):
        est.fit(
            pd.DataFrame(X, columns=cols),
            names[y],
            X_val=pd.DataFrame(Xv, columns=cols[::-1]),
            y_val=names[yv],
        )


@pytest.mark.parametrize(
    "kwargs,match",
    [
        ({"X_val": "X"}, "y_val was not provided"),
        ({"y_val": "y"}, "X_val was not provided"),
        ({"sample_weight_val": np.ones(3)}, "sample_weight_val is provided"),
        ({"X_val": "X3", "y_val": "y"}, "X_val has 3 features, but X has 8"),
        ({"X_val": "X", "y_val": "y+7"}, "y_val has labels not seen in y"),
        ({"X_val": "X", "y_val": "y5"}, "y_val has 5 rows, but X_val has 60"),
        (
            {"X_val": "X", "y_val": "y", "sample_weight_val": np.ones(3)},
            "sample_weight_val has 3 weights",
        ),
        ({"X_val": "Xnan", "y_val": "y"}, "X_val"),
        ({"X_val": "X", "y_val": "Y2"}, "y_val is a multilabel-indicator target"),
    ],
)
def test_bad_validation_sets(kwargs, match):
    X, y, Xv, yv = _multiclass()
    named = {
        "X": Xv,
        "X3": Xv[:, :3],
        "Xnan": np.where(Xv > 1, np.nan, Xv),
        "y": yv,
        "y+7": yv + 7,
        "y5": yv[:5],
        "Y2": np.eye(3, dtype=int)[yv],
    }
    kwargs = {k: named[v] if isinstance(v, str) else v for k, v in kwargs.items()}
    with pytest.raises(ValueError, match=match):
        DenseClassifier(hidden_layer_sizes=(4,), max_iter=2).fit(X, y, **kwargs)


def test_regressor_bad_outputs():
    X, y, Xv, yv = _regression(targets=2)
    with pytest.raises(ValueError, match="y_val has 1 outputs, but y has 2"):
        DenseRegressor(hidden_layer_sizes=(4,), max_iter=2).fit(X, y, X_val=Xv, y_val=yv[:, 0])


def test_partial_fit_takes_no_validation_set():
    X, y, Xv, yv = _multiclass()
    with pytest.raises(TypeError, match="X_val"):
        DenseClassifier().partial_fit(X, y, classes=[0, 1, 2], X_val=Xv, y_val=yv)


def test_pipeline_step_parameters():
    X, y, Xv, yv = _multiclass()
    pipe = make_pipeline(
        StandardScaler(), DenseClassifier(hidden_layer_sizes=(8,), max_iter=5, random_state=0)
    )
    pipe.fit(X, y, denseclassifier__X_val=Xv, denseclassifier__y_val=yv)
    assert len(pipe[-1].validation_scores_) == 5
    # X_val goes to the step untransformed: its score is on the raw features
    assert pipe[-1].validation_scores_[-1] == pipe[-1].score(Xv, yv)


def test_metadata_routing_transform_input_and_search():
    X, y, Xv, yv = _multiclass()
    X, Xv = 10 * X + 3, 10 * Xv + 3
    with sklearn.config_context(enable_metadata_routing=True):
        clf = DenseClassifier(hidden_layer_sizes=(8,), max_iter=5, random_state=0)
        clf.set_fit_request(X_val=True, y_val=True)
        pipe = Pipeline([("scale", StandardScaler()), ("model", clf)], transform_input=["X_val"])
        pipe.fit(X, y, X_val=Xv, y_val=yv)
        # X_val went through the fitted scaler before reaching the model
        assert pipe[-1].validation_scores_[-1] == pipe.score(Xv, yv)
        assert pipe[-1].validation_scores_[-1] != pipe[-1].score(Xv, yv)
        search = GridSearchCV(clf, {"alpha": [1e-4, 1e-2]}, cv=2)
        search.fit(X, y, X_val=Xv, y_val=yv)
        assert len(search.best_estimator_.validation_scores_) == 5
        unrequested = DenseClassifier(hidden_layer_sizes=(8,), max_iter=5)
        with pytest.raises(Exception, match="X_val"):
            make_pipeline(unrequested).fit(X, y, X_val=Xv, y_val=yv)


def test_pickle_and_file_keep_the_curve(tmp_path):
    import pickle

    import fastdense

    X, y, Xv, yv = _multiclass()
    est = DenseClassifier(hidden_layer_sizes=(8,), max_iter=4, random_state=0).fit(
        X, y, X_val=Xv, y_val=yv
    )
    assert pickle.loads(pickle.dumps(est)).validation_loss_curve_ == est.validation_loss_curve_
    fastdense.save(est, tmp_path / "m.safetensors")
    copy = fastdense.load(tmp_path / "m.safetensors")
    assert copy.validation_loss_curve_ == est.validation_loss_curve_
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        copy.partial_fit(X, y)


def test_a_bad_validation_set_leaves_the_fitted_network_alone():
    X, y, Xv, yv = _multiclass()
    est = DenseClassifier(hidden_layer_sizes=(8,), max_iter=3, random_state=0).fit(X, y)
    before = est._params.copy()
    with pytest.raises(ValueError, match="y_val"):
        est.fit(X, y, X_val=Xv, y_val=yv + 7)
    np.testing.assert_array_equal(est._params, before)
    assert est.validation_loss_curve_ is None
