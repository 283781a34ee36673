"""ONNX export of DenseClassifier (binary, multi-class, multilabel) and DenseRegressor.

Every exported model runs in onnxruntime against fastdense's own predict /
predict_proba, with tests/test_onnx.py's tolerances (float64 1e-12 relative,
float32 1e-5; labels identical; the checker passes), and against skl2onnx's
conversion of the MLPClassifier / MLPRegressor holding the same weights.
"""

import warnings

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from test_onnx import ACTIVATIONS, DTYPES, TOL, inputs, session  # noqa: E402

from fastdense import DenseClassifier, DenseRegressor  # noqa: E402
from fastdense.onnx import register_skl2onnx, to_onnx  # noqa: E402

rng = np.random.default_rng(0)
X_TRAIN = rng.standard_normal((150, 5))
_SUM = (X_TRAIN[:, 0] > 0).astype(int) + (X_TRAIN[:, 1] > 0.3) + (X_TRAIN[:, 2] > 0.6)
TARGETS = {
    "binary": np.where(X_TRAIN[:, 0] + X_TRAIN[:, 1] > 0, "yes", "no"),
    "multiclass-str": np.array(["ant", "bee", "cat", "dog"])[_SUM],
    "multiclass-int": np.array([3, 5, 8, 13])[_SUM],
    "multilabel": (X_TRAIN[:, :3] + 0.3 * X_TRAIN[:, 3:4] > 0).astype(int),
    "squared_error": X_TRAIN[:, 0] - 2 * X_TRAIN[:, 1],
    "squared_error-2": np.c_[X_TRAIN[:, 0] - X_TRAIN[:, 1], X_TRAIN[:, 2]],
    "poisson": np.exp(0.5 * X_TRAIN[:, 0]),
    "poisson-2": np.c_[np.exp(0.5 * X_TRAIN[:, 0]), np.exp(-0.3 * X_TRAIN[:, 1])],
}
REGRESSION = ("squared_error", "squared_error-2", "poisson", "poisson-2")


def fit(target, activation="relu", dtype=np.float64, hidden=(7, 3), **kw):
    params = dict(
        hidden_layer_sizes=hidden,
        activation=activation,
        max_iter=40,
        random_state=0,
        dtype=np.dtype(dtype).name,
        **kw,
    )
    est = (
        DenseRegressor(loss=target.split("-")[0], **params)
        if target in REGRESSION
        else DenseClassifier(**params)
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return est.fit(X_TRAIN, TARGETS[target])


def check_classifier(clf, dtype, model=None, logit_scale=1.0):
    """`logit_scale`: how much larger than usual the logits are; float32 rounding of
    the products (a different order of sums in onnxruntime) grows with them."""
    s = session(to_onnx(clf) if model is None else model)
    assert [o.name for o in s.get_outputs()] == ["label", "probabilities"]
    rtol, atol = TOL[dtype]
    if dtype == np.float32:
        rtol, atol = rtol * logit_scale, atol * logit_scale
    for X in inputs(clf.n_features_in_, dtype):
        label, proba = s.run(None, {"X": X})
        assert proba.dtype == dtype and proba.shape == (len(X), len(clf.classes_))
        np.testing.assert_allclose(proba, clf.predict_proba(X), rtol=rtol, atol=atol)
        expected = clf.predict(X)
        assert label.shape == expected.shape and label.tolist() == expected.tolist()


def check_regressor(reg, dtype, model=None):
    s = session(to_onnx(reg) if model is None else model)
    assert [o.name for o in s.get_outputs()] == ["variable"]
    rtol, _ = TOL[dtype]
    for X in inputs(reg.n_features_in_, dtype):
        (out,) = s.run(None, {"X": X})
        expected = reg.predict(X).reshape(len(X), -1)  # (n, n_outputs), as skl2onnx's
        assert out.dtype == dtype and out.shape == expected.shape
        if reg.out_activation_ == "exp":  # compared on the scale of the last layer
            with np.errstate(divide="ignore"):
                out, expected = np.log(out), np.log(expected)
        scale = max(1.0, float(np.abs(expected[np.isfinite(expected)]).max()))
        np.testing.assert_allclose(out, expected, rtol=0, atol=rtol * scale)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("target", sorted(TARGETS))
def test_estimators_match_predict(target, dtype):
    est = fit(target, dtype=dtype)
    (check_regressor if target in REGRESSION else check_classifier)(est, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("target", ["multiclass-str", "multilabel", "poisson-2"])
def test_every_activation(target, activation, dtype):
    est = fit(target, activation, dtype)
    (check_regressor if target in REGRESSION else check_classifier)(est, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_softmax_of_extreme_logits_and_older_opsets(dtype):
    clf = fit("multiclass-str", dtype=dtype)
    scale = 3000  # logits of thousands: exp would overflow without the max shift
    clf.coefs_[-1] *= scale
    X = next(inputs(5, dtype))
    p = clf.predict_proba(X)
    assert np.isfinite(p).all() and (p == 0).any()
    for opset in (13, 17, None):  # ReduceMax takes its axes as an attribute before 18
        for layout in ("gemm", "matmul"):
            model = to_onnx(clf, opset=opset, layout=layout)
            assert "Softmax" not in {n.op_type for n in model.graph.node}
            # a float32 logit of ~3000 is known to ~3000 * 2**-24 at best
            check_classifier(clf, dtype, model, logit_scale=np.sqrt(scale))


def test_zipmap_options_multiclass_and_multilabel():
    X = np.random.default_rng(5).standard_normal((20, 5)).astype(np.float32)
    clf = fit("multiclass-str", dtype=np.float32)
    s = session(to_onnx(clf, zipmap=True))
    label, maps = s.run(None, {"X": X})
    assert label.tolist() == clf.predict(X).tolist()
    assert [sorted(m) for m in maps] == [["ant", "bee", "cat", "dog"]] * 20
    np.testing.assert_allclose(
        [[m[c] for c in clf.classes_] for m in maps], clf.predict_proba(X), rtol=1e-5
    )
    s = session(to_onnx(clf, zipmap="columns"))
    assert [o.name for o in s.get_outputs()] == ["output_label", "sant", "sbee", "scat", "sdog"]
    ml = fit("multilabel", dtype=np.float32)
    s = session(to_onnx(ml, zipmap=True))
    label, maps = s.run(None, {"X": X})
    assert label.tolist() == ml.predict(X).tolist()
    np.testing.assert_allclose(
        [[m[j] for j in range(3)] for m in maps], ml.predict_proba(X), rtol=1e-5
    )
    s = session(to_onnx(ml, zipmap="columns"))
    assert [o.name for o in s.get_outputs()] == ["output_label", "i0", "i1", "i2"]
    with pytest.raises(ValueError, match="zipmap applies to classifiers"):
        to_onnx(fit("squared_error"), zipmap=True)


def test_inconsistent_estimators_are_refused():
    clf = fit("multiclass-str")
    clf.classes_ = clf.classes_[:3]
    with pytest.raises(ValueError, match="one label per output"):
        to_onnx(clf)
    clf = fit("multilabel")
    clf.classes_ = np.array([0, 1, 3])
    with pytest.raises(ValueError, match="label indices 0..2"):
        to_onnx(clf)
    clf.classes_ = np.arange(3)
    clf.out_activation_ = "exp"
    with pytest.raises(ValueError, match="out_activation_ 'exp'"):
        to_onnx(clf)
    reg = fit("squared_error-2")
    reg.out_activation_ = "softmax"
    with pytest.raises(ValueError, match="regressor output 'softmax'"):
        to_onnx(reg)
    reg = fit("squared_error-2")
    reg.n_outputs_ = 1
    with pytest.raises(ValueError, match="has 2 outputs"):
        to_onnx(reg)


# -------------------------------------------- against skl2onnx and MLPClassifier


def _sklearn_twin(est, y):
    """The MLPClassifier / MLPRegressor fitted on `y`, with `est`'s weights copied in."""
    from sklearn.neural_network import MLPClassifier, MLPRegressor

    params = dict(
        hidden_layer_sizes=est.hidden_layer_sizes,
        activation=est.activation,
        max_iter=1,
        random_state=0,
    )
    twin = (
        MLPRegressor(loss=est.loss, **params)
        if isinstance(est, DenseRegressor)
        else MLPClassifier(**params)
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        twin.fit(X_TRAIN, y)
    twin.coefs_ = [w.astype(np.float64) for w in est.coefs_]
    twin.intercepts_ = [b.astype(np.float64) for b in est.intercepts_]
    return twin


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(
    "target", ["binary", "multiclass-str", "multiclass-int", "multilabel", "squared_error"]
)
def test_skl2onnx_conversion_of_the_same_weights_agrees(target, dtype):
    skl2onnx = pytest.importorskip("skl2onnx")
    if target == "multilabel" and dtype == np.float64:
        pytest.skip(
            "skl2onnx's multilabel graph uses ai.onnx.ml Binarizer, which "
            "onnxruntime has for float32 only (ours runs: test_estimators_match_predict)"
        )
    est = fit(target, "tanh", dtype)
    twin = _sklearn_twin(est, TARGETS[target])
    X = next(inputs(5, dtype))
    opts = {} if target in REGRESSION else {"zipmap": False}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = skl2onnx.to_onnx(twin, X[:1], options=opts)
    # skl2onnx declares a multilabel label (N,) but computes (N, n_labels): its graph
    # fails onnx's full check, so it runs unchecked here; ours declares (N, n_labels)
    theirs = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    ours = session(to_onnx(est))
    assert [o.name for o in ours.get_outputs()] == [o.name for o in theirs.get_outputs()]
    assert [o.type for o in ours.get_outputs()] == [o.type for o in theirs.get_outputs()]
    a, b = ours.run(None, {"X": X}), theirs.run(None, {"X": X})
    # skl2onnx uses onnxruntime's Sigmoid / Softmax: accurate in absolute terms only
    rtol, atol = (1e-10, 1e-12) if dtype == np.float64 else (1e-4, 1e-6)
    for mine, other in zip(a, b):
        if mine.dtype.kind in "fc":
            np.testing.assert_allclose(mine, other, rtol=rtol, atol=atol)
        else:
            assert mine.shape == other.shape and mine.tolist() == other.tolist()


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("target", ["multiclass-str", "multilabel", "squared_error-2", "poisson"])
def test_skl2onnx_pipeline(target, dtype):
    skl2onnx = pytest.importorskip("skl2onnx")
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    register_skl2onnx()
    r = np.random.default_rng(8)
    X = (X_TRAIN * [1, 10, 100, 0.1, 3] + 5).astype(dtype)
    params = dict(hidden_layer_sizes=(6,), activation="tanh", max_iter=30, random_state=0)
    last = (
        DenseRegressor(loss=target.split("-")[0], **params)
        if target in REGRESSION
        else DenseClassifier(**params)
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        pipe = Pipeline([("scale", StandardScaler()), ("est", last)]).fit(X, TARGETS[target])
    opts = {} if target in REGRESSION else {id(last): {"zipmap": False}}
    s = session(skl2onnx.to_onnx(pipe, X[:1], options=opts))
    Xt = (r.standard_normal((500, 5)) * [1, 10, 100, 0.1, 3] + 5).astype(dtype)
    rtol, atol = TOL[dtype]
    if target in REGRESSION:
        (out,) = s.run(None, {"X": Xt})
        expected = pipe.predict(Xt).reshape(len(Xt), -1)
        assert [o.name for o in s.get_outputs()] == ["variable"]
        assert s.get_outputs()[0].shape[1] == expected.shape[1]
        np.testing.assert_allclose(
            out, expected, rtol=10 * rtol, atol=10 * rtol * np.abs(expected).max()
        )
        return
    label, proba = s.run(None, {"X": Xt})
    np.testing.assert_allclose(proba, pipe.predict_proba(Xt), rtol=10 * rtol, atol=atol)
    assert label.tolist() == pipe.predict(Xt).tolist()
    if target == "multilabel":
        assert s.get_outputs()[0].shape[1] == 3  # declared (N, n_labels), as computed
    if dtype == np.float32:  # skl2onnx's default zipmap=True
        s = session(skl2onnx.to_onnx(pipe, X[:1]))
        label, maps = s.run(None, {"X": Xt})
        assert label.tolist() == pipe.predict(Xt).tolist()
        assert sorted(maps[0]) == sorted(np.asarray(last.classes_).tolist())
