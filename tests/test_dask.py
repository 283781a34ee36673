"""Dask, for real: search and cross-validation through joblib's Dask backend on a
LocalCluster of worker processes (loopback only), out-of-core training with
dask-ml's ``Incremental``, distributed prediction with ``ParallelPostFit`` and
``map_blocks``, and cloudpickle round trips of fitted models to workers.

Every result is compared with the in-memory, sequential one: exactly equal.
"""

import faulthandler
import os
import pickle

import numpy as np
import pytest
from sklearn.model_selection import GridSearchCV, RandomizedSearchCV, cross_validate

from fastdense import DenseBinaryClassifier, nn

distributed = pytest.importorskip("distributed")
da = pytest.importorskip("dask.array")
joblib = pytest.importorskip("joblib")
cloudpickle = pytest.importorskip("cloudpickle")

# Whole-module bound: a hung cluster dumps every thread's stack and ends pytest
# instead of hanging CI.
MODULE_TIMEOUT_S = 480

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


@pytest.fixture(scope="module")
def client():
    faulthandler.dump_traceback_later(MODULE_TIMEOUT_S, exit=True)
    cluster = distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address=None,
        worker_dashboard_address=None,
        silence_logs=40,
    )
    try:
        with distributed.Client(cluster, timeout="60s") as c:
            yield c
    finally:
        cluster.close(timeout=30)
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
    assert a.best_score_ == b.best_score_
    for key in a.cv_results_:
        if key.startswith(("split", "mean_test", "std_test", "rank_", "param")):
            np.testing.assert_array_equal(
                np.asarray(a.cv_results_[key]), np.asarray(b.cv_results_[key]), err_msg=key
            )
    np.testing.assert_array_equal(_flat(a.best_estimator_), _flat(b.best_estimator_))


GRID = {"hidden_layer_sizes": [(4,), (8,)], "alpha": [1e-4, 1e-2]}


# ------------------------------------------------------------- search and CV


@pytest.mark.parametrize("scatter", [False, True])
def test_grid_search_on_dask_equals_sequential(client, scatter):
    X, y = _data()
    seq = GridSearchCV(_est(), GRID, cv=3).fit(X, y)
    kw = {"scatter": [X, y]} if scatter else {}
    with joblib.parallel_config(backend="dask", **kw):
        par = GridSearchCV(_est(), GRID, cv=3, n_jobs=-1).fit(X, y)
    _same_search(seq, par)


def test_randomized_search_on_dask_equals_sequential(client):
    X, y = _data(dtype=np.float32)
    dist = {"alpha": [1e-5, 1e-4, 1e-3, 1e-2], "learning_rate_init": [1e-3, 3e-3, 1e-2]}
    seq = RandomizedSearchCV(_est(dtype=np.float32), dist, n_iter=4, cv=2, random_state=0).fit(X, y)
    with joblib.parallel_config(backend="dask"):
        par = RandomizedSearchCV(
            _est(dtype=np.float32), dist, n_iter=4, cv=2, random_state=0, n_jobs=-1
        ).fit(X, y)
    _same_search(seq, par)


def test_cross_validate_on_dask_equals_sequential(client):
    X, y = _data()
    seq = cross_validate(_est(solver="lbfgs", max_iter=30), X, y, cv=4, return_estimator=True)
    with joblib.parallel_config(backend="dask", scatter=[X, y]):
        par = cross_validate(
            _est(solver="lbfgs", max_iter=30), X, y, cv=4, n_jobs=-1, return_estimator=True
        )
    np.testing.assert_array_equal(seq["test_score"], par["test_score"])
    for a, b in zip(seq["estimator"], par["estimator"]):
        np.testing.assert_array_equal(_flat(a), _flat(b))


def test_nanny_workers_run_one_blas_thread(client):
    """The BLAS-thread rule, measured: the nanny's default environment
    (OPENBLAS_NUM_THREADS=1 before spawn) gives every worker one OpenBLAS thread,
    including scipy's, which fastdense's kernels call through cython_blas."""

    def blas_pools():
        import scipy.linalg  # noqa: F401  (loads scipy's OpenBLAS)
        from threadpoolctl import threadpool_info

        import fastdense  # noqa: F401

        return [
            (p["filepath"], p["num_threads"]) for p in threadpool_info() if p["user_api"] == "blas"
        ]

    pools = client.run(blas_pools)
    assert len(pools) == 2
    for worker_pools in pools.values():
        assert any("scipy" in path for path, _ in worker_pools), worker_pools
        assert all(n == 1 for _, n in worker_pools), worker_pools


# ------------------------------------------------------ out-of-core training


def test_incremental_equals_manual_partial_fit_loop(client):
    dask_ml_wrappers = pytest.importorskip("dask_ml.wrappers")
    X, y = _data(n=400, d=6, dtype=np.float32)
    dX, dy = da.from_array(X, chunks=(100, 6)), da.from_array(y, chunks=100)
    assert dX.numblocks == (4, 1)
    inc = dask_ml_wrappers.Incremental(_est(dtype=np.float32), shuffle_blocks=False)
    inc.fit(dX, dy, classes=[0, 1])

    manual = _est(dtype=np.float32)
    for start in range(0, 400, 100):
        manual.partial_fit(X=X[start : start + 100], y=y[start : start + 100], classes=[0, 1])
    np.testing.assert_array_equal(_flat(inc.estimator_), _flat(manual))
    assert inc.estimator_.t_ == manual.t_ == 400
    np.testing.assert_array_equal(inc.predict(dX).compute(), manual.predict(X))


def test_incremental_shuffled_blocks_equal_the_same_order(client):
    """With shuffle_blocks, the order is dask-ml's permutation of the blocks; the
    same permutation by hand gives the same model."""
    dask_ml_wrappers = pytest.importorskip("dask_ml.wrappers")
    X, y = _data(n=300, d=5)
    dX, dy = da.from_array(X, chunks=(100, 5)), da.from_array(y, chunks=100)
    inc = dask_ml_wrappers.Incremental(_est(), shuffle_blocks=True, random_state=3)
    inc.fit(dX, dy, classes=[0, 1])
    order = np.random.RandomState(3).permutation(3)  # dask-ml's block order
    manual = _est()
    for b in order:
        manual.partial_fit(X[100 * b : 100 * b + 100], y[100 * b : 100 * b + 100], classes=[0, 1])
    np.testing.assert_array_equal(_flat(inc.estimator_), _flat(manual))


# ------------------------------------------------------ distributed prediction


def _blockwise(fn, X, rows):
    """In memory, block by block: BLAS rounds a row's products by where the row sits in
    its block (OpenBLAS's edge kernels; MLPClassifier shows the same in float32), so
    this, not one call over all rows, is what a blocked computation must equal bit for
    bit."""
    return np.concatenate([fn(X[i : i + rows]) for i in range(0, X.shape[0], rows)])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_parallel_post_fit_equals_in_memory(client, dtype):
    dask_ml_wrappers = pytest.importorskip("dask_ml.wrappers")
    X, y = _data(n=500, dtype=dtype)
    clf = dask_ml_wrappers.ParallelPostFit(_est(dtype=dtype)).fit(X, y)
    est = clf.estimator_ if hasattr(clf, "estimator_") else clf.estimator
    dX = da.from_array(X, chunks=(125, X.shape[1]))
    proba = clf.predict_proba(dX).compute()
    np.testing.assert_array_equal(proba, _blockwise(est.predict_proba, X, 125))
    np.testing.assert_array_equal(clf.predict(dX).compute(), _blockwise(est.predict, X, 125))
    rtol = 1e-6 if dtype == np.float32 else 1e-14
    np.testing.assert_allclose(proba, est.predict_proba(X), rtol=rtol, atol=0)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_map_blocks_with_fitted_estimator_equals_in_memory(client, dtype):
    X, y = _data(n=500, dtype=dtype)
    est = _est(dtype=dtype).fit(X, y)
    dX = da.from_array(X, chunks=(100, X.shape[1]))
    proba = dX.map_blocks(est.predict_proba, dtype=X.dtype, chunks=(dX.chunks[0], (2,))).compute()
    np.testing.assert_array_equal(proba, _blockwise(est.predict_proba, X, 100))
    labels = dX.map_blocks(est.predict, dtype=np.int64, drop_axis=1).compute()
    np.testing.assert_array_equal(labels, _blockwise(est.predict, X, 100))


def test_fitted_estimator_and_nn_model_survive_cloudpickle_to_workers(client):
    X, y = _data(n=200, dtype=np.float32)
    est = _est(dtype=np.float32).fit(X, y)
    model = nn.Sequential(nn.Linear(8, 4), nn.ReLU(), nn.Linear(4, 1))
    blob = cloudpickle.dumps((est, model))

    def on_worker(blob, X):
        est, model = pickle.loads(blob)
        out = _forward(model, X)
        return est.predict_proba(X), out, cloudpickle.dumps((est, model))

    futures = [
        client.submit(on_worker, blob, X, workers=[w], pure=False)
        for w in client.scheduler_info()["workers"]
    ]
    local_out = _forward(model, X)
    for proba, out, back in client.gather(futures):
        np.testing.assert_array_equal(proba, est.predict_proba(X))
        np.testing.assert_array_equal(out, local_out)
        est2, model2 = pickle.loads(back)  # and back to the client
        np.testing.assert_array_equal(est2.predict_proba(X), est.predict_proba(X))
        np.testing.assert_array_equal(_forward(model2, X), local_out)


def test_each_worker_chooses_its_simd_build_at_import(client):
    """A pickled model names classes, not a build: unpickled on a worker, it runs the
    kernels that worker's own import chose for its CPU."""

    def simd():
        import os

        import fastdense

        return fastdense.SIMD, os.path.dirname(fastdense._train.__file__)

    for build, train_dir in client.run(simd).values():
        assert build in ("avx512", "avx2", "baseline")
        expected = "fastdense" if build == "baseline" else f"_{build}"
        assert os.path.basename(train_dir) == expected, (build, train_dir)


def _forward(model, X):
    import fastdense

    with fastdense.no_grad():
        return model(fastdense.Tensor(X)).numpy()
