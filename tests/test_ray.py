"""Ray, for real: search and cross-validation through ``ray.util.joblib`` on a local
Ray instance (2 CPUs, no dashboard, loopback), equal to the sequential run."""

import faulthandler
import os
import pathlib

import numpy as np
import pytest
from sklearn.model_selection import GridSearchCV, RandomizedSearchCV, cross_validate

import fastdense
from fastdense import DenseBinaryClassifier

ray = pytest.importorskip("ray")
ray_joblib = pytest.importorskip("ray.util.joblib")
joblib = pytest.importorskip("joblib")

MODULE_TIMEOUT_S = 480  # a hung Ray dumps every thread's stack and ends pytest

pytestmark = [
    pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning"),
    # ray's joblib pool ignores the `context` argument joblib passes, and says so
    pytest.mark.filterwarnings("ignore:The 'context' argument:UserWarning"),
]


@pytest.fixture(scope="module")
def ray_backend(tmp_path_factory):
    faulthandler.dump_traceback_later(MODULE_TIMEOUT_S, exit=True)
    # Ray's workers inherit the driver's environment: let them import the same
    # fastdense (an in-place build in a source tree is not on their sys.path).
    root = str(pathlib.Path(fastdense.__file__).resolve().parent.parent)
    saved = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = root if not saved else root + os.pathsep + saved
    # Ray also puts the driver's working folder on its workers' path: from a source
    # root (as in CI) that is the unbuilt package, so the driver runs from elsewhere
    saved_cwd = os.getcwd()
    os.chdir(tmp_path_factory.mktemp("ray_cwd"))
    try:
        ray.init(
            num_cpus=2,
            include_dashboard=False,
            _node_ip_address="127.0.0.1",
            log_to_driver=False,
            configure_logging=False,
        )
        ray_joblib.register_ray()
        yield
    finally:
        ray.shutdown()
        os.chdir(saved_cwd)
        if saved is None:
            os.environ.pop("PYTHONPATH", None)
        else:
            os.environ["PYTHONPATH"] = saved
        faulthandler.cancel_dump_traceback_later()


def _data(n=240, d=8, seed=0, dtype=np.float64):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d)).astype(dtype)
    return X, (X[:, 0] * X[:, 1] + X[:, 2] > 0).astype(np.int64)


def _est(**kw):
    base = dict(hidden_layer_sizes=(8,), max_iter=15, random_state=0, batch_size=32)
    return DenseBinaryClassifier(**{**base, **kw})


def _flat(est):
    return np.concatenate([a.ravel() for a in est.coefs_ + est.intercepts_])


def _same_search(a, b):
    assert a.best_params_ == b.best_params_
    for key in a.cv_results_:
        if key.startswith(("split", "mean_test", "std_test", "rank_", "param")):
            np.testing.assert_array_equal(
                np.asarray(a.cv_results_[key]), np.asarray(b.cv_results_[key]), err_msg=key
            )
    np.testing.assert_array_equal(_flat(a.best_estimator_), _flat(b.best_estimator_))


def test_grid_and_randomized_search_on_ray_equal_sequential(ray_backend):
    X, y = _data()
    grid = {"hidden_layer_sizes": [(4,), (8,)], "alpha": [1e-4, 1e-2]}
    seq = GridSearchCV(_est(), grid, cv=3).fit(X, y)
    with joblib.parallel_config(backend="ray"):
        par = GridSearchCV(_est(), grid, cv=3, n_jobs=-1).fit(X, y)
    _same_search(seq, par)

    X32 = X.astype(np.float32)
    dist = {"alpha": [1e-5, 1e-4, 1e-3], "learning_rate_init": [1e-3, 1e-2]}
    seq = RandomizedSearchCV(_est(dtype=np.float32), dist, n_iter=3, cv=2, random_state=0).fit(
        X32, y
    )
    with joblib.parallel_config(backend="ray"):
        par = RandomizedSearchCV(
            _est(dtype=np.float32), dist, n_iter=3, cv=2, random_state=0, n_jobs=-1
        ).fit(X32, y)
    _same_search(seq, par)


def test_cross_validate_on_ray_equals_sequential(ray_backend):
    X, y = _data()
    seq = cross_validate(_est(solver="lbfgs", max_iter=30), X, y, cv=4, return_estimator=True)
    with joblib.parallel_config(backend="ray"):
        par = cross_validate(
            _est(solver="lbfgs", max_iter=30), X, y, cv=4, n_jobs=-1, return_estimator=True
        )
    np.testing.assert_array_equal(seq["test_score"], par["test_score"])
    for a, b in zip(seq["estimator"], par["estimator"]):
        np.testing.assert_array_equal(_flat(a), _flat(b))
