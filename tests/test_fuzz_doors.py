"""Fuzzing every door into the kernels: crafted model files, edited fitted arrays, bad bytes.

Each hypothesis case runs the whole sequence a user would -- load (or edit),
predict_proba / predict / decision_function, partial_fit, a pickle round trip,
fastdense.save + load, predict again -- in a forked child process, so a crash
(SIGSEGV, abort) fails the case instead of killing the run. The allowed
outcomes: a ValueError / TypeError, or a model that works and is consistent
(probabilities of shape (n, 2) summing to 1, labels among classes_, the same
answers after pickling and saving), with the original model's answers
wherever the mutation left the network's values unchanged.

The files are DenseBinaryClassifier's and, in the ``..._other_estimators``
tests, DenseClassifier's (multi-class, multilabel) and DenseRegressor's
(squared error, Poisson), with a mutation that hands a file to another
estimator's reader; for those, "consistent" means their own shapes
(probabilities per class or per label, (n,) or (n, n_outputs) predictions).

``FASTDENSE_FUZZ_EXAMPLES`` sets the cases per test (default 100; the long
run in ``tools/check_memory.sh`` takes more, under valgrind).
"""

import json
import os
import pickle
import struct
import tempfile

import numpy as np
import pytest
from _child import run_in_child
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import fastdense
from fastdense import DenseBinaryClassifier, DenseClassifier, DenseRegressor
from fastdense.serialization import load_arrays, save_arrays

EXAMPLES = int(os.environ.get("FASTDENSE_FUZZ_EXAMPLES", "100"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=not os.environ.get("FASTDENSE_FUZZ_RANDOM"),
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
ALLOWED = ("ValueError", "TypeError", "InvalidParameterError", "NotFittedError")

rng = np.random.default_rng(0)
X = rng.standard_normal((40, 5))
Y = np.where(X[:, 0] + 0.5 * X[:, 1] > 0, "yes", "no")
# the other estimators' targets: multi-class (strings), multilabel, regression (2 outputs)
Y_MULTICLASS = np.array(["ant", "bee", "cat"])[(X[:, 0] > 0).astype(int) + (X[:, 1] > 0.5)]
Y_MULTILABEL = (X[:, :3] > 0).astype(int)
Y_REGRESSION = np.c_[np.exp(0.3 * X[:, 0]), np.exp(-0.2 * X[:, 1])]


def _fit(dtype, solver):
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return DenseBinaryClassifier(
            (6, 4), solver=solver, max_iter=5, random_state=0, dtype=dtype
        ).fit(X, Y)


MODELS = {(d, s): _fit(d, s) for d in ("float32", "float64") for s in ("adam", "sgd")}
MODELS[("float64", "lbfgs")] = _fit("float64", "lbfgs")


def _file_bytes(clf):
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "m.safetensors")
        fastdense.save(clf, path)
        with open(path, "rb") as f:
            return f.read()


FILES = {key: _file_bytes(clf) for key, clf in MODELS.items()}


def _fit_other(kind, dtype, solver):
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if kind == "regression":
            return DenseRegressor(
                loss="poisson" if solver == "sgd" else "squared_error",
                hidden_layer_sizes=(6, 4),
                solver=solver,
                max_iter=5,
                random_state=0,
                dtype=dtype,
            ).fit(X, Y_REGRESSION)
        y = Y_MULTICLASS if kind == "multiclass" else Y_MULTILABEL
        return DenseClassifier((6, 4), solver=solver, max_iter=5, random_state=0, dtype=dtype).fit(
            X, y
        )


# DenseClassifier (multi-class, multilabel) and DenseRegressor (squared error, poisson)
OTHER_MODELS = {
    (k, d, s): _fit_other(k, d, s)
    for k, d, s in [
        ("multiclass", "float32", "adam"),
        ("multiclass", "float64", "lbfgs"),
        ("multilabel", "float64", "sgd"),
        ("regression", "float64", "adam"),
        ("regression", "float32", "sgd"),
    ]
}
OTHER_FILES = {key: _file_bytes(est) for key, est in OTHER_MODELS.items()}


def _target(est):
    """The training target that fits a loaded estimator's kind and outputs."""
    if isinstance(est, DenseRegressor):
        return Y_REGRESSION if est.n_outputs_ == 2 else Y_REGRESSION[:, 0]
    y_type = est._label_binarizer.y_type_
    return {"binary": Y, "multiclass": Y_MULTICLASS}.get(y_type, Y_MULTILABEL)


def _answers(clf):
    if isinstance(clf, DenseRegressor):
        return clf.predict(X), None
    return clf.predict_proba(X), clf.predict(X)


def _consistent(clf, proba, labels):
    if isinstance(clf, DenseRegressor):
        want = (X.shape[0],) if clf.n_outputs_ == 1 else (X.shape[0], clf.n_outputs_)
        assert proba.shape == want, proba.shape
        return
    classes = np.asarray(clf.classes_)
    assert proba.shape == (X.shape[0], len(classes)), proba.shape
    if clf._label_binarizer.y_type_ == "multilabel-indicator":
        assert ((proba >= 0) & (proba <= 1)).all(), "probabilities outside [0, 1]"
        assert labels.shape == proba.shape and set(np.unique(labels)) <= {0, 1}
        return
    assert np.allclose(proba.sum(axis=1), 1.0), "probabilities do not sum to 1"
    assert set(labels.tolist()) <= set(classes.tolist())


def _sequence(clf, reference):
    """The user's sequence on a model that loaded (or was edited); returns what it saw."""
    proba, labels = _answers(clf)
    _consistent(clf, proba, labels)
    if reference is not None:
        np.testing.assert_allclose(proba, reference, rtol=1e-5, atol=1e-7)
    y = _target(clf)
    if isinstance(clf, DenseBinaryClassifier):
        clf.decision_function(X[:3])
    clf.score(X, y)
    assert clf.module_ is not None
    again = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(_answers(again)[0], proba)
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "again.safetensors")
        fastdense.save(clf, path)
        np.testing.assert_array_equal(_answers(fastdense.load(path))[0], proba)
    if clf.solver != "lbfgs":
        clf.partial_fit(X, y)
        _consistent(clf, *_answers(clf))
        pickle.loads(pickle.dumps(clf)).partial_fit(X[:7], y[:7])
    return "works"


def _load_and_run(blob, reference):
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "m.safetensors")
        with open(path, "wb") as f:
            f.write(blob)
        try:
            clf = fastdense.load(path)
        except OSError:
            return "OSError"
    if not isinstance(clf, (DenseBinaryClassifier, DenseClassifier, DenseRegressor)):
        return "arrays"  # the file no longer says "estimator"
    return _sequence(clf, reference)


def _check(answer):
    if answer[0] == "raised":
        assert answer[1] in ALLOWED, (
            f"a {answer[1]} escaped (only ValueError/TypeError may): {answer[2]}\n{answer[3]}"
        )


# ---------------------------------------------------------- (a) crafted files

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats() | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=8,
)
shapes = st.lists(st.integers(0, 7), min_size=0, max_size=3).map(tuple)
dtypes = st.sampled_from([np.float16, np.float32, np.float64, np.int32, np.uint8, np.bool_])


def _parse(blob):
    (n,) = struct.unpack("<Q", blob[:8])
    header = json.loads(blob[8 : 8 + n])
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "m.safetensors")
        with open(path, "wb") as f:
            f.write(blob)
        arrays, meta = load_arrays(path)
    return dict(arrays), dict(meta), header


def _serialize(arrays, meta):
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "m.safetensors")
        save_arrays(arrays, path, metadata=meta)
        with open(path, "rb") as f:
            return f.read()


@st.composite
def file_mutations(draw):
    """A list of edits of a real model file's header values and arrays."""
    ops = []
    for _ in range(draw(st.integers(1, 3))):
        kind = draw(
            st.sampled_from(
                [
                    "fitted",
                    "params",
                    "optimizer",
                    "array",
                    "drop_array",
                    "add_array",
                    "rename_array",
                    "meta",
                    "kind",
                ]
            )
        )
        ops.append(
            (
                kind,
                draw(st.integers(0, 10**6)),
                draw(json_values),
                draw(shapes),
                draw(dtypes),
                draw(st.text(max_size=12)),
            )
        )
    return ops


def _json(meta, key):
    try:
        return json.loads(meta[key])
    except (KeyError, json.JSONDecodeError):
        return None


def _apply(ops, arrays, meta):
    """Apply the edits; returns whether the network's values may have changed."""
    changes_model = False
    for kind, pick, value, shape, dtype, text in ops:
        names = sorted(arrays)
        if kind in ("fitted", "params"):
            obj = _json(meta, kind)
            if not isinstance(obj, dict):
                continue
            keys = sorted(obj) + ["unknown_" + text]
            key = keys[pick % len(keys)]
            if pick % 5 == 0 and key in obj:
                del obj[key]
            else:
                obj[key] = value
            meta[kind] = json.dumps(obj)
            changes_model |= kind == "params"
        elif kind == "optimizer":
            fitted = _json(meta, "fitted")
            opt = fitted.get("_optimizer") if isinstance(fitted, dict) else None
            if isinstance(opt, dict):
                keys = sorted(opt)
                key = keys[pick % len(keys)]
                opt[key] = (
                    ["_SGDState", "_AdamState", "os.system", text][pick % 4]
                    if key == "class"
                    else value
                )
                meta["fitted"] = json.dumps(fitted)
        elif kind == "array" and names:
            name = names[pick % len(names)]
            old = arrays[name]
            mode = (pick // 16) % 3
            if mode == 1 and old.ndim:  # one dimension a little off: the likeliest crafted lie
                shape = list(old.shape)
                shape[pick % old.ndim] = max(0, shape[pick % old.ndim] + (pick // 64) % 7 - 3)
                shape, dtype = tuple(shape), old.dtype
            elif mode == 2:  # the same shape in another dtype
                shape = old.shape
            # the same values where they fit: a same-shape same-dtype "change" changes nothing
            arrays[name] = np.resize(np.asarray(old, np.float64), shape).astype(dtype)
        elif kind == "drop_array" and names:
            del arrays[names[pick % len(names)]]
        elif kind == "add_array":
            key = ["coefs_.", "intercepts_.", "_optimizer.state", "extra."][pick % 4]
            arrays[key + str(pick % 9)] = np.zeros(shape, dtype=dtype)
            changes_model = True  # e.g. a new last layer that the checks accept as a chain
        elif kind == "rename_array" and names:
            name = names[pick % len(names)]
            arrays[text or "x"] = arrays.pop(name)
            changes_model = True
        elif kind == "meta":
            keys = sorted(meta)
            meta[keys[pick % len(keys)]] = text
            changes_model = True
        elif kind == "kind":  # another estimator's reader on this file
            meta["fastdense_kind"] = [
                "DenseBinaryClassifier",
                "DenseClassifier",
                "DenseRegressor",
                text,
            ][pick % 4]
            changes_model = True
    return changes_model


def _crafted(blob, ops, original):
    arrays, meta, _ = _parse(blob)
    changes_model = _apply(ops, arrays, meta)
    try:
        blob = _serialize(arrays, meta)
    except (TypeError, ValueError):
        return  # not writable as safetensors at all: nothing to load
    reference = None if changes_model else _answers(original)[0]
    _check(run_in_child(_load_and_run, blob, reference))


@FUZZ
@given(key=st.sampled_from(sorted(FILES)), ops=file_mutations())
def test_crafted_model_files(key, ops):
    _crafted(FILES[key], ops, MODELS[key])


@settings(FUZZ, max_examples=max(EXAMPLES * 3 // 4, 1))
@given(key=st.sampled_from(sorted(OTHER_FILES)), ops=file_mutations())
def test_crafted_files_of_the_other_estimators(key, ops):
    """DenseClassifier (multi-class, multilabel) and DenseRegressor files, mutated."""
    _crafted(OTHER_FILES[key], ops, OTHER_MODELS[key])


# -------------------------------------------------------- (b) edited estimators

edit_values = st.one_of(
    st.tuples(shapes, dtypes).map(lambda sd: ("array", sd)),
    st.just(("list", None)),
    st.just(("3d", None)),
    st.just(("string", None)),
    st.just(("none", None)),
    st.just(("float32", None)),
    st.just(("float64", None)),
    st.just(("ints", None)),
    st.just(("object", None)),
)


def _edited(value_kind, arg, original):
    if value_kind == "array":
        shape, dtype = arg
        return np.resize(np.asarray(original, np.float64), shape).astype(dtype)
    return {
        "list": lambda: np.asarray(original).tolist(),
        "3d": lambda: np.asarray(original)[None],
        "string": lambda: "weights",
        "none": lambda: None,
        "float32": lambda: np.asarray(original, np.float32),
        "float64": lambda: np.asarray(original, np.float64),
        "ints": lambda: np.round(np.asarray(original) * 100).astype(np.int64),
        "object": lambda: np.asarray(original, dtype=object),
    }[value_kind]()


@st.composite
def estimator_edits(draw):
    ops = []
    for _ in range(draw(st.integers(1, 2))):
        kind = draw(
            st.sampled_from(
                [
                    "coef",
                    "intercept",
                    "fewer",
                    "more",
                    "whole",
                    "n_features",
                    "optimizer",
                    "activation",
                ]
            )
        )
        ops.append((kind, draw(st.integers(0, 10)), draw(edit_values), draw(st.integers(-3, 12))))
    return ops


def _edit_and_run(key, ops):
    original = {**MODELS, **OTHER_MODELS}[key]
    clf = pickle.loads(pickle.dumps(original))
    same_values = True
    for kind, i, (value_kind, arg), number in ops:
        n = len(clf.coefs_) if isinstance(clf.coefs_, list) else 0
        if n == 0 and kind in ("coef", "intercept", "fewer", "whole"):
            continue
            lst = clf.coefs_ if kind == "coef" else clf.intercepts_
            lst[i % n] = _edited(value_kind, arg, lst[i % n])
            same_values &= value_kind in ("list", "float64") or (
                value_kind == "float32" and clf._fit_dtype == np.float32
            )
        elif kind == "fewer":
            clf.coefs_, clf.intercepts_ = clf.coefs_[: i % n], clf.intercepts_[: i % n]
            same_values = False
        elif kind == "more":
            clf.coefs_ = clf.coefs_ + [np.ones((1, 1))]
            clf.intercepts_ = clf.intercepts_ + [np.zeros(1)]
            same_values = False
        elif kind == "whole":
            clf.coefs_ = _edited(value_kind, arg, clf.coefs_[0])
            same_values = False
        elif kind == "n_features":
            clf.n_features_in_ = number
        elif kind == "optimizer" and hasattr(clf, "_optimizer"):
            clf._optimizer.state1 = np.zeros(max(number, 0), dtype=clf._fit_dtype)
        elif kind == "activation":
            clf.activation = ["tanh", "relu", "softmax", 3][i % 4]
            same_values = False
    reference = _answers(original)[0] if same_values else None
    return _sequence(clf, reference)


@FUZZ
@given(key=st.sampled_from(sorted(MODELS)), ops=estimator_edits())
def test_edited_fitted_arrays(key, ops):
    _check(run_in_child(_edit_and_run, key, ops))


@settings(FUZZ, max_examples=max(EXAMPLES // 4, 1))
@given(key=st.sampled_from(sorted(OTHER_MODELS)), ops=estimator_edits())
def test_edited_fitted_arrays_of_the_other_estimators(key, ops):
    _check(run_in_child(_edit_and_run, key, ops))


# ------------------------------------------------------------- (c) bad bytes

flips = st.lists(st.tuples(st.integers(0, 10**7), st.integers(0, 255)), min_size=1, max_size=6)
cuts = st.none() | st.integers(0, 10**7)


def _corrupted(blob, flips, cut):
    blob = bytearray(blob)
    for pos, byte in flips:
        blob[pos % len(blob)] = byte
    if cut is not None:
        blob = blob[: cut % (len(blob) + 1)]
    _check(run_in_child(_load_and_run, bytes(blob), None))


@FUZZ
@given(key=st.sampled_from(sorted(FILES)), flips=flips, cut=cuts)
def test_corrupted_bytes(key, flips, cut):
    _corrupted(FILES[key], flips, cut)


@settings(FUZZ, max_examples=max(EXAMPLES // 2, 1))
@given(key=st.sampled_from(sorted(OTHER_FILES)), flips=flips, cut=cuts)
def test_corrupted_bytes_of_the_other_estimators(key, flips, cut):
    _corrupted(OTHER_FILES[key], flips, cut)


# ----------------------------------------------- the examples the issue names


def _crash_cases():
    """Named regressions: each was a crash or a silent wrong answer before the doors."""
    base = MODELS[("float64", "adam")]

    def wrong_shape_coef():
        clf = pickle.loads(pickle.dumps(base))
        clf.coefs_[1] = np.zeros((3, 4))
        return clf.predict_proba(X)

    def wider_first_layer():
        clf = pickle.loads(pickle.dumps(base))
        clf.coefs_[0] = np.zeros((50, 6))
        return clf.predict_proba(X)

    def short_optimizer_state():
        clf = pickle.loads(pickle.dumps(base))
        clf._optimizer.state1 = np.zeros(3)
        return clf.partial_fit(X, Y)

    def two_outputs():
        clf = pickle.loads(pickle.dumps(base))
        clf.coefs_[-1], clf.intercepts_[-1] = np.zeros((4, 2)), np.zeros(2)
        return clf.predict_proba(X)

    def lied_n_features():
        clf = pickle.loads(pickle.dumps(base))
        clf.n_features_in_ = 2
        return clf.predict_proba(X[:, :2])

    def pickled_edit():
        clf = pickle.loads(pickle.dumps(base))
        clf.coefs_[1] = np.zeros((3, 4))
        return pickle.loads(pickle.dumps(clf)).predict_proba(X)

    return [
        wrong_shape_coef,
        wider_first_layer,
        short_optimizer_state,
        two_outputs,
        lied_n_features,
        pickled_edit,
    ]


@pytest.mark.parametrize("case", _crash_cases(), ids=lambda f: f.__name__)
def test_named_bad_networks_raise_value_error(case):
    answer = run_in_child(case)
    assert answer[0] == "raised" and answer[1] == "ValueError", answer


def test_crafted_file_that_would_overflow_partial_fit(tmp_path):
    """A file whose optimizer state is shorter than the network: ValueError on load."""
    arrays, meta, _ = _parse(FILES[("float64", "adam")])
    arrays["_optimizer.state1"] = arrays["_optimizer.state1"][:5]
    blob = _serialize(arrays, meta)
    answer = run_in_child(_load_and_run, blob, None)
    assert answer[0] == "raised" and answer[1] == "ValueError", answer
    assert "state1" in answer[2]


def test_crafted_file_messages_name_the_contradiction(tmp_path):
    arrays, meta, _ = _parse(FILES[("float32", "adam")])
    arrays["coefs_.1"] = np.zeros((5, 4), np.float32)
    path = tmp_path / "m.safetensors"
    save_arrays(arrays, path, metadata=meta)
    with pytest.raises(
        ValueError,
        match=r"coefs_\[1\] has shape \(5, 4\), but coefs_\[0\] "
        r"has 6 outputs",
    ):
        fastdense.load(path)
    arrays, meta, _ = _parse(FILES[("float32", "adam")])
    fitted = json.loads(meta["fitted"])
    fitted["_optimizer"]["class"] = "Popen"
    meta["fitted"] = json.dumps(fitted)
    save_arrays(arrays, path, metadata=meta)
    with pytest.raises(ValueError, match="unknown optimizer class 'Popen'"):
        fastdense.load(path)


def test_unknown_entries_are_ignored_with_a_warning(tmp_path):
    arrays, meta, _ = _parse(FILES[("float64", "sgd")])
    fitted = json.loads(meta["fitted"])
    fitted["__class__"] = "os.system"
    meta["fitted"] = json.dumps(fitted)
    arrays["extra.thing"] = np.zeros(3)
    path = tmp_path / "m.safetensors"
    save_arrays(arrays, path, metadata=meta)
    with pytest.warns(UserWarning, match="unknown"):
        clf = fastdense.load(path)
    assert "__class__" not in vars(clf) and not hasattr(clf, "thing")
    np.testing.assert_array_equal(clf.predict_proba(X), MODELS[("float64", "sgd")].predict_proba(X))


def test_child_runner_reports_a_crash():
    """The harness itself: a segfaulting child is a failure, not a dead test run."""
    import ctypes
    import faulthandler

    from _child import ChildCrashed

    with pytest.raises(ChildCrashed, match="SIGSEGV"):
        run_in_child(lambda: (faulthandler.disable(), ctypes.string_at(0)))
    assert run_in_child(lambda: 3) == ("ok", 3)
