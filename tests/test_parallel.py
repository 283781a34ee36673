"""Threads and processes: concurrent fits equal sequential fits bit for bit; nested
parallelism (GridSearchCV n_jobs=2 over BLAS threads) does not oversubscribe."""

import os
import threading
import time
import warnings
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from joblib import Parallel, delayed, parallel_backend
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV
from threadpoolctl import threadpool_info, threadpool_limits

from fastdense import DenseBinaryClassifier

SEEDS = [0, 1, 2, 3]


def _data(n=1500, d=20, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    return X, (X[:, 0] * X[:, 1] + X[:, 2] > 0).astype(int)


def fit_one(seed, solver="adam", barrier=None):
    """A fitted model's parameters as one flat array (module level: loky pickles it)."""
    X, y = _data(n=400 if solver == "lbfgs" else 1500, seed=seed)
    est = DenseBinaryClassifier(
        (32, 16), solver=solver, max_iter=12, random_state=seed, batch_size=64
    )
    if barrier is not None:
        barrier.wait()  # all threads fit at the same time
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est.fit(X, y)
    return np.concatenate([a.ravel() for a in est.coefs_ + est.intercepts_])


def _blas_threads():
    return {i["internal_api"]: i["num_threads"] for i in threadpool_info()}


def _assert_bitwise(results, reference, label):
    for seed, got, want in zip(SEEDS, results, reference):
        assert got.tobytes() == want.tobytes(), f"{label}: seed {seed} differs"


@pytest.mark.parametrize("solver", ["adam", "sgd", "lbfgs"])
def test_four_threads_fitting_at_once_equal_fitting_one_by_one(solver):
    sequential = [fit_one(s, solver) for s in SEEDS]
    barrier = threading.Barrier(len(SEEDS))
    with ThreadPoolExecutor(len(SEEDS)) as pool:
        threaded = list(pool.map(lambda s: fit_one(s, solver, barrier), SEEDS))
    _assert_bitwise(threaded, sequential, "threads")
    print(f"\n{solver}: 4 threads at once == one by one, bitwise, for seeds {SEEDS}")


def test_joblib_threading_and_loky_equal_sequential():
    # loky workers run BLAS with cpu_count // n_jobs threads: compare at that count
    # too (same thread count -> same model; the products here do not depend on it).
    sequential = [fit_one(s) for s in SEEDS]
    with threadpool_limits(limits=1):
        sequential_1 = [fit_one(s) for s in SEEDS]
    threaded = Parallel(n_jobs=4, backend="threading")(delayed(fit_one)(s) for s in SEEDS)
    _assert_bitwise(threaded, sequential, "joblib threading")
    loky = Parallel(n_jobs=2, backend="loky")(delayed(fit_one)(s) for s in SEEDS)
    _assert_bitwise(loky, sequential_1, "joblib loky")
    _assert_bitwise(loky, sequential, "joblib loky vs default BLAS threads")
    print("\njoblib threading (4 jobs) and loky (2 workers) == sequential, bitwise")


def test_nested_parallelism_does_not_oversubscribe():
    """GridSearchCV(n_jobs=2) on 2 cores: loky (its default) caps each worker's BLAS
    pool so that jobs x BLAS threads <= cores. The threading backend does not (BLAS
    pools are process-wide): there the caller wraps the search in
    threadpool_limits(1), as the last row shows (that limit also sets the OpenMP
    threads fastdense splits a fit's products across; during a fit it holds SciPy's
    BLAS at one thread itself and gives the count back after)."""
    cores = os.cpu_count() or 1
    workers = Parallel(n_jobs=2, backend="loky")(delayed(_blas_threads)() for _ in range(2))
    for pools in workers:
        assert all(n * 2 <= max(cores, 2) for n in pools.values()), pools

    X, y = _data(4000, 64)
    grid = {"alpha": [1e-4, 1e-2], "hidden_layer_sizes": [(128,), (96,)]}
    est = DenseBinaryClassifier(max_iter=4, batch_size=256, random_state=0)

    def run(n_jobs, backend=None, blas=None):
        search = GridSearchCV(est, grid, cv=2, n_jobs=n_jobs)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            t = time.perf_counter()
            if backend is None:
                search.fit(X, y)
            else:
                with parallel_backend(backend), threadpool_limits(limits=blas):
                    search.fit(X, y)
            return time.perf_counter() - t, search.cv_results_["mean_test_score"]

    run(1)  # warm up
    rows = [
        ("n_jobs=1, BLAS threads default", run(1)),
        ("n_jobs=2 loky (BLAS capped per worker)", run(2)),
        ("n_jobs=2 threading, BLAS threads default", run(2, "threading", None)),
        ("n_jobs=2 threading + threadpool_limits(1)", run(2, "threading", 1)),
    ]
    print(f"\nGridSearchCV, 4 candidates x 2 folds, {cores} cores, BLAS pools {_blas_threads()}:")
    for label, (seconds, _) in rows:
        print(f"  {label:44s} {seconds:6.2f} s")
    # every configuration computes the same scores
    for _, (_, scores) in rows[1:]:
        np.testing.assert_array_equal(scores, rows[0][1][1])
