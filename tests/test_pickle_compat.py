"""Pickles made before the estimators moved into ``fastdense.estimators`` still load.

``tests/data/pre_reorg_estimators.pkl`` was written by the code of commit
884f257 (``tests/data/make_pre_reorg_pickle.py``): its classes are named by
their old paths (``fastdense.estimator.DenseBinaryClassifier``,
``fastdense.estimator._SGDState``, ``fastdense.classifier.DenseClassifier``,
``fastdense.regressor.DenseRegressor``). Loaded today they are today's
classes, predict what they predicted then, and keep training.
"""

import os
import pickle
import pickletools
import warnings

import numpy as np
import pytest

import fastdense
from fastdense import VersionWarning

FIXTURE = os.path.join(os.path.dirname(__file__), "data", "pre_reorg_estimators.pkl")


def _load():
    with open(FIXTURE, "rb") as f, warnings.catch_warnings():
        warnings.simplefilter("ignore", VersionWarning)  # a later release warns, as it should
        return pickle.load(f)


def test_the_fixture_names_the_old_module_paths():
    with open(FIXTURE, "rb") as f:
        strings = {arg for op, arg, _ in pickletools.genops(f.read()) if isinstance(arg, str)}
    assert {
        "fastdense.estimator",
        "fastdense.classifier",
        "fastdense.regressor",
        "_SGDState",
        "_AdamState",
    } <= strings
    assert "fastdense.estimators" not in " ".join(strings)


@pytest.mark.parametrize(
    "name, cls",
    [
        ("binary_adam", "DenseBinaryClassifier"),
        ("binary_sgd", "DenseBinaryClassifier"),
        ("classifier", "DenseClassifier"),
        ("regressor", "DenseRegressor"),
    ],
)
def test_old_pickles_load_predict_and_resume(name, cls):
    data = _load()
    est = data["models"][name]
    assert type(est) is getattr(fastdense, cls)
    X_test = data["X_test"]
    got = est.predict_proba(X_test) if hasattr(est, "predict_proba") else est.predict(X_test)
    np.testing.assert_array_equal(got, data["expected"][name])
    if name.startswith("binary"):
        assert type(est._optimizer).__module__ == "fastdense.estimators._optimizers"
    before = [c.copy() for c in est.coefs_]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est.partial_fit(data["X"], data["y"][name])  # the unpickled optimizer state resumes
    assert est.n_iter_ >= 1 and not all(np.array_equal(a, b) for a, b in zip(before, est.coefs_))
    again = pickle.loads(pickle.dumps(est))  # and today's pickle of it round-trips
    np.testing.assert_array_equal(again.coefs_[0], est.coefs_[0])


def test_old_module_paths_are_the_new_classes():
    from fastdense import classifier, estimator, estimators, regressor

    assert estimator.DenseBinaryClassifier is estimators.DenseBinaryClassifier
    assert classifier.DenseClassifier is estimators.DenseClassifier
    assert regressor.DenseRegressor is estimators.DenseRegressor
    assert estimator._SGDState is estimators._optimizers._SGDState
