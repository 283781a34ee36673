"""Property tests for DenseBinaryClassifier: random shapes (0 and 1 included), dtypes,
layouts (Fortran, strided, read-only, memmap), labels and values (NaN, inf, huge,
tiny) through fit / predict / predict_proba.

Each call either gives a working model or raises a clear ValueError/TypeError; never
a crash. The oracle for layouts and dtypes: the same values as a C-ordered float64
(or float32) array give a bit-identical model.
"""

import os
import tempfile
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sklearn.exceptions import ConvergenceWarning

from fastdense import DenseBinaryClassifier

_MEMMAP_DIR = tempfile.mkdtemp(prefix="fastdense-est-fuzz-")
_counter = iter(range(10**9))
FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
X_DTYPES = [
    np.float32,
    np.float64,
    np.float16,
    np.int8,
    np.int64,
    np.uint8,
    np.bool_,
    np.complex128,
    object,
]
LAYOUTS = ["C", "F", "strided", "readonly", "memmap"]


def _layout(a, layout):
    if layout == "F":
        return np.asfortranarray(a)
    if layout == "strided":
        big = np.zeros((a.shape[0], a.shape[1] * 2), dtype=a.dtype)
        big[:, ::2] = a
        return big[:, ::2]
    if layout == "readonly":
        a = a.copy()
        a.flags.writeable = False
        return a
    if layout == "memmap" and a.size and a.dtype != object:
        path = os.path.join(_MEMMAP_DIR, f"{next(_counter)}.dat")
        mm = np.memmap(path, dtype=a.dtype, mode="w+", shape=a.shape)
        mm[...] = a
        mm.flush()
        return np.memmap(path, dtype=a.dtype, mode="r", shape=a.shape)
    return a


def _fit(X, y, **kw):
    est = DenseBinaryClassifier((5,), max_iter=4, random_state=0, **kw)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return est.fit(X, y)


def _params(est):
    return [a.copy() for a in est.coefs_ + est.intercepts_]


@FUZZ
@given(
    n=st.integers(0, 12),
    d=st.integers(0, 4),
    dtype=st.sampled_from(X_DTYPES),
    layout=st.sampled_from(LAYOUTS),
    kind=st.sampled_from(["normal", "huge", "tiny", "nan", "inf"]),
    labels=st.sampled_from(["int", "str", "bool", "float", "one_class", "three"]),
    solver=st.sampled_from(["adam", "sgd", "lbfgs"]),
    weights=st.sampled_from([None, "random", "zeros"]),
    seed=st.integers(0, 2**16),
)
def test_fit_predict_any_input(n, d, dtype, layout, kind, labels, solver, weights, seed):
    rng = np.random.default_rng(seed)
    raw = rng.standard_normal((n, d))
    if kind == "huge":
        raw *= 1e30
    elif kind == "tiny":
        raw *= 1e-30
    elif kind in ("nan", "inf") and raw.size:
        raw.flat[rng.integers(0, raw.size)] = np.nan if kind == "nan" else np.inf
    if dtype == np.bool_:
        Xc = raw > 0
    elif dtype is object:
        Xc = raw.astype(object)
    elif np.dtype(dtype).kind in "iu":
        Xc = np.nan_to_num(np.clip(raw, -100, 100)).astype(dtype)
    else:
        with np.errstate(over="ignore"):
            Xc = raw.astype(dtype)
    X = _layout(Xc, layout)
    with np.errstate(all="ignore"):
        finite = bool(np.isfinite(np.asarray(Xc).astype(np.complex128)).all())
    k = rng.integers(0, 2, size=n)
    if n >= 2:
        k[:2] = [0, 1]
    y = {
        "int": k,
        "str": np.array(["no", "yes"])[k],
        "bool": k.astype(bool),
        "float": k * 2.0,
        "one_class": np.zeros(n, dtype=int),
        "three": np.arange(n) % 3,
    }[labels]
    sw = None if weights is None else (rng.random(n) if weights == "random" else np.zeros(n))

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            est = DenseBinaryClassifier((5,), solver=solver, max_iter=4, random_state=0)
            est.fit(X, y, sample_weight=sw)
    except (ValueError, TypeError) as exc:
        msg = str(exc)
        assert msg  # a message saying what is wrong
        expected = (
            n < 2
            or d == 0
            or len(np.unique(y)) > 2
            or dtype == np.complex128
            or not finite
            or kind == "huge"
            or weights == "zeros"
            or (n < 3 and solver != "lbfgs")
        )
        assert expected, f"unexpected {type(exc).__name__}: {msg}"
        return
    # a working model
    assert len(np.unique(y)) <= 2 and dtype != np.complex128 and finite
    proba = est.predict_proba(X)
    pred = est.predict(X)
    assert proba.shape == (n, 2) and np.all((proba >= 0) & (proba <= 1))
    np.testing.assert_allclose(proba.sum(axis=1), 1)
    assert set(np.unique(pred)) <= set(est.classes_)
    if len(est.classes_) == 2:
        np.testing.assert_array_equal(pred, est.classes_[(proba[:, 1] > 0.5).astype(int)])
    # oracle: the same values, C-ordered, in the dtype the estimator computes in
    work = np.float32 if np.asarray(X).dtype == np.float32 else np.float64
    ref = DenseBinaryClassifier((5,), solver=solver, max_iter=4, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ref.fit(np.ascontiguousarray(np.asarray(Xc, dtype=work)), y, sample_weight=sw)
    for a, b in zip(_params(est), _params(ref)):
        assert a.tobytes() == b.tobytes()


@FUZZ
@given(
    n=st.integers(0, 6),
    d_fit=st.integers(1, 3),
    d_pred=st.integers(0, 4),
    dtype=st.sampled_from(X_DTYPES),
    layout=st.sampled_from(LAYOUTS),
    seed=st.integers(0, 2**16),
)
def test_predict_any_input(n, d_fit, d_pred, dtype, layout, seed):
    rng = np.random.default_rng(seed)
    Xf = rng.standard_normal((20, d_fit))
    est = _fit(Xf, (Xf[:, 0] > 0).astype(int))
    raw = rng.standard_normal((n, d_pred))
    Xc = raw > 0 if dtype == np.bool_ else raw.astype(dtype)
    X = _layout(Xc, layout)
    if d_pred != d_fit or dtype == np.complex128 or n == 0:
        with pytest.raises((ValueError, TypeError)):
            est.predict_proba(X)
        return
    got = est.predict_proba(X)
    want = est.predict_proba(np.ascontiguousarray(np.asarray(Xc, dtype=np.float64)))
    assert got.tobytes() == want.tobytes()
