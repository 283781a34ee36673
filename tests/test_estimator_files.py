"""fastdense.save / load of DenseClassifier and DenseRegressor: round trips and refusals.

A loaded model predicts as the original and continues training (partial_fit,
warm_start) bit for bit as the original does; a file whose entries contradict
one another is a ValueError naming the contradiction.
"""

import json
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.exceptions import ConvergenceWarning
from test_persistence import _resume  # partial_fit 3 times, or warm_start for 4 iterations

import fastdense as fd
from fastdense import DenseBinaryClassifier, DenseClassifier, DenseRegressor
from fastdense.serialization import load_arrays, save_arrays

rng = np.random.default_rng(0)
X = rng.standard_normal((80, 5))
_LABELS = (X[:, 0] > 0).astype(int) + (X[:, 1] > 0.3).astype(int) + (X[:, 2] > 0.5)
TARGETS = {
    "binary-int": (X[:, 0] > 0).astype(int),
    "binary-str": np.where(X[:, 0] > 0, "yes", "no"),
    "multiclass-int": _LABELS.astype(int),
    "multiclass-str": np.array(["ant", "bee", "cat", "dog"])[_LABELS],
    "multilabel": (X[:, :3] > 0).astype(int),
    "squared_error": X[:, 0] - 2 * X[:, 1],
    "squared_error-2": np.c_[X[:, 0] - X[:, 1], X[:, 2]],
    "poisson": np.exp(0.5 * X[:, 0]),
    "poisson-2": np.c_[np.exp(0.5 * X[:, 0]), np.exp(-0.3 * X[:, 1])],
}


def _fit(target, solver="adam", dtype="float64", **kw):
    y = TARGETS[target]
    params = dict(
        hidden_layer_sizes=(6, 4), solver=solver, max_iter=6, random_state=0, dtype=dtype, **kw
    )
    if target.startswith(("squared_error", "poisson")):
        est = DenseRegressor(loss=target.split("-")[0], **params)
    else:
        est = DenseClassifier(**params)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return est.fit(X, y), y


def _round_trip(est, path):
    fd.save(est, path)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # same version, known entries: no warning
        return fd.load(path)


def _same_fitted(a, b):
    assert type(a) is type(b)
    for x, y in zip(a.coefs_ + a.intercepts_, b.coefs_ + b.intercepts_, strict=True):
        assert x.dtype == y.dtype
        np.testing.assert_array_equal(x, y)
    for name in (
        "n_iter_",
        "t_",
        "n_outputs_",
        "n_layers_",
        "out_activation_",
        "loss_",
        "n_features_in_",
    ):
        assert getattr(a, name) == getattr(b, name), name
    assert getattr(a, "loss_curve_", None) == getattr(b, "loss_curve_", None)
    if hasattr(b, "classes_"):
        assert a.classes_.dtype == b.classes_.dtype and a.classes_.shape == b.classes_.shape
        np.testing.assert_array_equal(a.classes_, b.classes_)
        for attr in ("y_type_", "sparse_input_", "neg_label", "pos_label", "sparse_output"):
            assert getattr(a._label_binarizer, attr) == getattr(b._label_binarizer, attr)
        np.testing.assert_array_equal(a._label_binarizer.classes_, b._label_binarizer.classes_)


def _continue(est, y, how):
    return _resume(est, X, y, how)


@pytest.mark.parametrize("target", sorted(TARGETS))
@pytest.mark.parametrize(
    "solver, dtype", [("adam", "float64"), ("sgd", "float32"), ("lbfgs", "float64")]
)
def test_round_trip_predicts_and_continues_bit_identically(tmp_path, target, solver, dtype):
    est, y = _fit(target, solver, dtype)
    copy = _round_trip(est, tmp_path / "m.safetensors")
    _same_fitted(copy, est)
    assert copy.get_params() == est.get_params()
    methods = (
        ("predict",)
        if isinstance(est, DenseRegressor)
        else ("predict", "predict_proba", "predict_log_proba")
    )
    for method in methods:
        np.testing.assert_array_equal(getattr(copy, method)(X), getattr(est, method)(X))
    assert copy.score(X, y) == est.score(X, y)
    how = "warm_start" if solver == "lbfgs" else "partial_fit"
    _same_fitted(_continue(copy, y, how), _continue(est, y, how))


def test_early_stopping_fit_continues_identically_with_warm_start(tmp_path):
    est, y = _fit("multiclass-str", early_stopping=True, validation_fraction=0.2)
    copy = _round_trip(est, tmp_path / "m.safetensors")
    assert copy.validation_scores_ == est.validation_scores_
    assert copy.best_validation_score_ == est.best_validation_score_
    _same_fitted(_continue(copy, y, "warm_start"), _continue(est, y, "warm_start"))


def test_per_label_class_weight_and_sparse_multilabel_targets(tmp_path):
    cw = [{0: 1.0, 1: 2.5}, {0: 0.5, 1: 1.0}, {0: 1.0, 1: 4.0}]
    est, y = _fit("multilabel", class_weight=cw)
    copy = _round_trip(est, tmp_path / "cw.safetensors")
    assert copy.class_weight == cw
    _same_fitted(_continue(copy, y, "warm_start"), _continue(est, y, "warm_start"))

    Y = sp.csr_matrix(TARGETS["multilabel"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est = DenseClassifier((5,), max_iter=4, random_state=0).fit(X, Y)
    copy = _round_trip(est, tmp_path / "sparse.safetensors")
    assert sp.issparse(copy.predict(X)) and sp.issparse(est.predict(X))
    assert (copy.predict(X) != est.predict(X)).nnz == 0


def test_the_binary_estimator_file_is_unchanged_and_refuses_other_targets(tmp_path):
    est = DenseBinaryClassifier((4,), max_iter=3, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est.fit(X, TARGETS["binary-str"])
    path = tmp_path / "b.safetensors"
    copy = _round_trip(est, path)
    assert type(copy) is DenseBinaryClassifier
    arrays, meta = load_arrays(path)
    fitted = json.loads(meta["fitted"])
    del fitted["target_type"], fitted["sparse_target"]  # a file written before these existed
    meta["fitted"] = json.dumps(fitted)
    save_arrays(arrays, path, metadata=meta)
    np.testing.assert_array_equal(fd.load(path).predict_proba(X), est.predict_proba(X))
    fitted["target_type"] = "multiclass"
    meta["fitted"] = json.dumps(fitted)
    save_arrays(arrays, path, metadata=meta)
    with pytest.raises(ValueError, match="target_type must be one of \\['binary'\\]"):
        fd.load(path)


# ------------------------------------------------------------ contradictions


def _edited_file(tmp_path, target, edit, **kw):
    est, _ = _fit(target, **kw)
    path = tmp_path / "m.safetensors"
    fd.save(est, path)
    arrays, meta = load_arrays(path)
    arrays, meta = dict(arrays), dict(meta)
    fitted, params = json.loads(meta["fitted"]), json.loads(meta["params"])
    edit(arrays, meta, fitted, params)
    meta["fitted"], meta["params"] = json.dumps(fitted), json.dumps(params)
    save_arrays(arrays, path, metadata=meta)
    return path


def _set(where, key, value):
    def edit(arrays, meta, fitted, params):
        {"fitted": fitted, "params": params, "meta": meta, "arrays": arrays}[where][key] = value

    return edit


def _wider_last_layer(arrays, meta, fitted, params):
    last = max(int(k.split(".")[1]) for k in arrays if k.startswith("coefs_."))
    w, b = arrays[f"coefs_.{last}"], arrays[f"intercepts_.{last}"]
    arrays[f"coefs_.{last}"] = np.zeros((w.shape[0], w.shape[1] + 1), w.dtype)
    arrays[f"intercepts_.{last}"] = np.zeros(b.shape[0] + 1, b.dtype)


CONTRADICTIONS = [
    (
        "multiclass-int",
        _set("fitted", "out_activation_", "logistic"),
        "out_activation_ 'logistic' contradicts its multiclass target",
    ),
    (
        "multilabel",
        _set("fitted", "out_activation_", "softmax"),
        "out_activation_ 'softmax' contradicts its multilabel-indicator target",
    ),
    ("binary-str", _set("fitted", "n_outputs_", 2), "n_outputs_ = 2 contradicts its 2 classes"),
    (
        "multiclass-int",
        _set("arrays", "classes_", np.arange(5)),
        "n_outputs_ = 4 contradicts its 5 classes",
    ),
    ("multiclass-int", _wider_last_layer, "has 5 outputs; this estimator's network has 4"),
    (
        "multiclass-str",
        _set("fitted", "classes_", ["ant", "bee"]),
        "multiclass target must have at least 3 classes",
    ),
    (
        "multiclass-str",
        _set("fitted", "classes_", ["bee", "ant", "cat", "dog"]),
        "distinct labels in sorted order",
    ),
    (
        "multiclass-str",
        _set("fitted", "target_type", "binary"),
        "binary target must have 2 classes; its classes_ has 4",
    ),
    (
        "multilabel",
        _set("arrays", "classes_", np.array([0, 1, 3])),
        "label indices 0..2 as classes_",
    ),
    (
        "multilabel",
        _set("arrays", "classes_", np.array([0.0, 1.0, 2.0])),
        "label indices 0..2 as classes_",
    ),
    ("multiclass-int", _set("fitted", "target_type", "continuous"), "target_type must be one"),
    (
        "binary-int",
        _set("arrays", "classes_", np.array([0.5, 1.5])),
        "not the labels of a binary target",
    ),
    ("binary-int", _set("fitted", "sparse_target", True), "only a multilabel target can be"),
    ("binary-int", _set("fitted", "sparse_target", "yes"), "sparse_target must be true or false"),
    (
        "squared_error",
        _set("params", "loss", "poisson"),
        "out_activation_ 'identity' contradicts its loss 'poisson'",
    ),
    (
        "poisson",
        _set("fitted", "out_activation_", "identity"),
        "out_activation_ 'identity' contradicts its loss 'poisson'",
    ),
    ("squared_error", _set("params", "loss", "quantile"), "parameters are invalid"),
    (
        "squared_error-2",
        _set("fitted", "n_outputs_", 1),
        "has 2 outputs; this estimator's network has 1",
    ),
    (
        "squared_error",
        _set("meta", "fastdense_kind", "DenseClassifier"),
        "target_type must be one of",
    ),
    (
        "multiclass-int",
        _set("meta", "fastdense_kind", "DenseRegressor"),
        "out_activation_ 'softmax' contradicts its loss 'squared_error'",
    ),
    (
        "multilabel",
        _set("params", "class_weight", {"__per_label__": [{"__items__": 3}]}),
        "class_weight\\[0\\] must be a list of \\[class, weight\\] pairs",
    ),
    (
        "multilabel",
        _set("params", "class_weight", {"__per_label__": []}),
        "per-label class_weight must be a non-empty list",
    ),
    (
        "multilabel",
        _set(
            "params", "class_weight", {"__per_label__": [{"__items__": [[0, 1.0], [1, 2.0]]}] * 2}
        ),
        "list of 2 per-label dicts, but its target is multilabel-indicator with 3 classes",
    ),
    (
        "multiclass-int",
        _set(
            "params", "class_weight", {"__per_label__": [{"__items__": [[0, 1.0], [1, 2.0]]}] * 4}
        ),
        "a list needs a multilabel target",
    ),
]


@pytest.mark.parametrize(
    "target, edit, message", CONTRADICTIONS, ids=[m[:40] for _, _, m in CONTRADICTIONS]
)
def test_contradictions_are_value_errors_naming_them(tmp_path, target, edit, message):
    path = _edited_file(tmp_path, target, edit)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # e.g. the regressor's unknown entries
        with pytest.raises(ValueError, match=message):
            fd.load(path)


def test_a_regressor_file_ignores_classifier_entries_with_a_warning(tmp_path):
    path = _edited_file(tmp_path, "squared_error", _set("fitted", "classes_", ["a", "b"]))
    with pytest.warns(UserWarning, match="unknown fitted attribute\\(s\\) \\['classes_'\\]"):
        reg = fd.load(path)
    assert not hasattr(reg, "classes_")


@pytest.mark.parametrize("target", ["multiclass-int", "squared_error"])
def test_the_cli_reader_takes_every_estimator(tmp_path, target):
    from fastdense.io.model_file import load_model, save_model

    est, _ = _fit(target)
    path = tmp_path / "cli.safetensors"
    save_model(est, path)  # the command line trains all three estimators
    back, _ = load_model(path)
    assert type(back) is type(est)
    np.testing.assert_array_equal(back.predict(X), est.predict(X))
