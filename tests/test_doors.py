"""Every door into the kernels proves the network first (issue: memory safety at every door).

A wrong-shape edit of a fitted estimator is a ValueError naming the array at
each door: fit with warm_start, partial_fit, predict / predict_proba /
predict_log_proba / decision_function (the fast path included), score,
module_, gradcheck, pickling, fastdense.save. Crash-prone cases run in a
forked child (tests/_child.py). Plus the drop-in defects found by trying the
package as a new user: non-integral hidden_layer_sizes, partial_fit's
argument order, the divergence warning after a refit on other labels.
"""

import inspect
import os
import pickle
import warnings

import numpy as np
import pytest
from _child import run_in_child
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier

import fastdense
from fastdense import DenseBinaryClassifier
from fastdense._network import check_network, check_optimizer_state

rng = np.random.default_rng(1)
X = rng.standard_normal((60, 4))
y = (X[:, 0] > 0).astype(int)


def _fitted(dtype="float64"):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return DenseBinaryClassifier((5, 3), max_iter=3, random_state=0, dtype=dtype).fit(X, y)


DOORS = {
    "predict": lambda c: c.predict(X),
    "predict_proba": lambda c: c.predict_proba(X),
    "predict_proba_one_row": lambda c: c.predict_proba(X[:1]),
    "predict_log_proba": lambda c: c.predict_log_proba(X),
    "decision_function": lambda c: c.decision_function(X),
    "score": lambda c: c.score(X, y),
    "partial_fit": lambda c: c.partial_fit(X, y),
    "warm_start_fit": lambda c: c.set_params(warm_start=True, max_iter=1).fit(X, y),
    "module_": lambda c: c.module_,
    "gradcheck": lambda c: fastdense.gradcheck(c, X, y),
    "pickle": lambda c: pickle.loads(pickle.dumps(c)),
    "save": lambda c: fastdense.save(c, os.devnull + ".safetensors"),
}


def _bad_middle_layer(door):
    clf = _fitted()
    clf.coefs_[1] = np.zeros((4, 3))  # coefs_[0] has 5 outputs
    DOORS[door](clf)


@pytest.mark.parametrize("door", sorted(DOORS))
def test_every_door_refuses_a_broken_chain(door):
    answer = run_in_child(_bad_middle_layer, door)
    assert answer[0] == "raised" and answer[1] == "ValueError", answer
    assert "coefs_[1] has shape (4, 3), but coefs_[0] has 5 outputs" in answer[2], answer


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_value_preserving_edits_are_honoured(dtype):
    clf = _fitted(dtype)
    before = clf.predict_proba(X)
    clf.coefs_[0] = clf.coefs_[0].tolist()  # a list of the same values
    clf.intercepts_ = list(clf.intercepts_)
    np.testing.assert_array_equal(clf.predict_proba(X), before)
    clf.coefs_[1] = clf.coefs_[1] * 0  # a real edit, honoured as MLPClassifier does
    assert clf.predict_proba(X).dtype == np.dtype(dtype)
    assert np.allclose(clf.predict_proba(X)[:, 1], clf.predict_proba(X)[0, 1])


def test_edited_n_features_in_cannot_make_the_kernel_read_past_a_row():
    clf = _fitted()
    clf.n_features_in_ = 2
    with pytest.raises(ValueError, match="first layer"):
        clf.predict_proba(X[:, :2])


def test_unpickling_rebuilds_what_the_kernels_index():
    clf = _fitted()
    state = clf.__getstate__()
    state["_units"] = np.array([4, 500, 3, 1])  # a lie about the widths
    state["_params"] = np.zeros(3)
    back = DenseBinaryClassifier.__new__(DenseBinaryClassifier)
    back.__setstate__(state)
    np.testing.assert_array_equal(back.predict_proba(X), clf.predict_proba(X))
    state["classes_"] = np.array([0, 1, 2])
    with pytest.raises(ValueError, match="2 classes"):
        DenseBinaryClassifier.__new__(DenseBinaryClassifier).__setstate__(state)


def test_check_network_messages():
    with pytest.raises(ValueError, match=r"intercepts_\[0\] has shape \(2,\); expected \(3,\)"):
        check_network([np.zeros((4, 3))], [np.zeros(2)], n_outputs=None)
    with pytest.raises(ValueError, match="the last layer, coefs_\\[0\\], has 3 outputs"):
        check_network([np.zeros((4, 3))], [np.zeros(3)])
    with pytest.raises(ValueError, match="n_features_in_ = 5"):
        check_network([np.zeros((4, 1))], [np.zeros(1)], n_features=5)
    with pytest.raises(ValueError, match="dtype float32; expected float64"):
        check_network([np.zeros((4, 1)), np.zeros((1, 1), np.float32)], [np.zeros(1), np.zeros(1)])
    with pytest.raises(TypeError, match="numeric"):
        check_network([np.zeros((4, 1))], ["bias"])
    with pytest.raises(ValueError, match="empty"):
        check_network([], [])
    assert check_network(
        [np.zeros((4, 2), np.float32), np.zeros((2, 1), np.float32)],
        [np.zeros(2, np.float32), np.zeros(1, np.float32)],
    ) == ([4, 2, 1], np.dtype(np.float32))
    with pytest.raises(ValueError, match=r"state2 has shape \(3,\); expected \(7,\)"):
        check_optimizer_state(np.zeros(7), np.zeros(3), n_params=7, dtype=np.float64, kind="adam")


@pytest.mark.parametrize("sizes", [(10.5,), (10.0,), (True,), ("8",)])
def test_non_integral_hidden_layer_sizes_are_refused_like_mlpclassifier(sizes):
    with pytest.raises(TypeError):
        MLPClassifier(hidden_layer_sizes=sizes, max_iter=1).fit(X, y)
    with pytest.raises(TypeError, match="integers"):
        DenseBinaryClassifier(hidden_layer_sizes=sizes, max_iter=1).fit(X, y)
    DenseBinaryClassifier(hidden_layer_sizes=(np.int64(3),), max_iter=1).fit(X, y)


def test_partial_fit_signature_is_mlpclassifiers():
    ours = list(inspect.signature(DenseBinaryClassifier.partial_fit).parameters)
    theirs = list(inspect.signature(MLPClassifier.partial_fit).parameters)
    assert ours == theirs
    w = np.ones(len(y))
    a = DenseBinaryClassifier((4,), random_state=0).partial_fit(X, y, w, [0, 1])
    b = MLPClassifier((4,), random_state=0).partial_fit(X, y, w, [0, 1])
    np.testing.assert_allclose(a.coefs_[0], b.coefs_[0], rtol=1e-12)


def test_no_divergence_warning_for_mlpclassifiers_own_trajectory():
    """fit on one labelling, partial_fit on another: the loss is high but not diverging."""
    Xb = rng.standard_normal((300, 6))
    y1 = (Xb[:, 0] > 0).astype(int)
    y2 = 1 - y1  # every label flipped: each partial_fit epoch's loss is > 1 for a while
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ours = DenseBinaryClassifier((16,), max_iter=200, random_state=0).fit(Xb, y1)
        ref = MLPClassifier((16,), max_iter=200, random_state=0).fit(Xb, y1)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for _ in range(5):
            ours.partial_fit(Xb, y2)
            ref.partial_fit(Xb, y2)
    assert max(ours.loss_curve_[-5:]) > 1.0  # the situation that used to warn
    assert not [w for w in caught if "diverged" in str(w.message)], caught
    np.testing.assert_allclose(ours.loss_curve_, ref.loss_curve_, rtol=1e-9)
