"""fastdense's own threads: the same bits for 1, 2 or 3 threads.

A product large enough to split is cut into blocks fixed by its sizes, each one
single-threaded BLAS call, which the threads share (fastdense/_parallel.pxd):
every element is computed by the same operations whatever the thread count.
Checked for the three estimators (sgd, adam, lbfgs), both dtypes, the nn path
(Sequential + optim), the public product, prediction, and a fork after a
threaded fit. The thread count is set the way users set it: threadpoolctl's
limits (OpenMP and BLAS at once).
"""

import multiprocessing
import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning
from threadpoolctl import threadpool_info, threadpool_limits

from fastdense import DenseBinaryClassifier, DenseClassifier, DenseRegressor, _kernels, nn, optim

THREADS = (1, 2, 3)
N_FEATURES, HIDDEN, BATCH = 96, (256, 256), 256


def _openmp():
    return _kernels.threads_available()[0]


def test_the_sizes_below_split_across_threads():
    """The test networks' products are large enough to be split (else the tests below
    would compare one-thread runs with themselves)."""
    assert _kernels.product_blocks(BATCH, HIDDEN[0], N_FEATURES) > 1
    assert _kernels.product_blocks(N_FEATURES, HIDDEN[0], BATCH) > 1
    assert _kernels.product_blocks(BATCH, HIDDEN[1], HIDDEN[0]) > 1
    assert _kernels.product_blocks(32, 16, 20) == 1  # small: one call, no region
    assert _kernels.pass_blocks(BATCH, HIDDEN[0]) > 1  # bias + activation, dZ and db
    assert _kernels.pass_blocks(HIDDEN[0] * HIDDEN[1], 1) > 1  # the optimizer step
    assert _kernels.pass_blocks(32, 16) == 1


@pytest.mark.skipif(not _openmp(), reason="built without OpenMP: one thread")
def test_threadpoolctl_sets_the_team():
    assert any(i["user_api"] == "openmp" for i in threadpool_info())
    for n in THREADS:
        with threadpool_limits(n):
            assert _kernels.threads_available() == (True, n)


def _data(dtype, n=2 * BATCH + 64, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, N_FEATURES)).astype(dtype)
    score = X[:, 0] * X[:, 1] + X[:, 2]
    return X, score


def _estimator(kind, solver, **layers):
    common = dict(
        hidden_layer_sizes=HIDDEN,
        solver=solver,
        random_state=0,
        max_iter=2 if solver != "lbfgs" else 4,
        batch_size=BATCH,
        **layers,
    )
    return {"binary": DenseBinaryClassifier, "multi": DenseClassifier, "regressor": DenseRegressor}[
        kind
    ](**common)


def _fit_bytes(kind, solver, dtype, threads, **layers):
    X, score = _data(dtype)
    y = {
        "binary": (score > 0).astype(int),
        "multi": np.digitize(score, [-1, 0, 1]),
        "regressor": score.astype(dtype),
    }[kind]
    est = _estimator(kind, solver, **layers)
    with threadpool_limits(threads), warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est.fit(X, y)
        out = est.predict(X) if kind == "regressor" else est.predict_proba(X)
    parts = [a.ravel() for a in est.coefs_ + est.intercepts_] + [np.asarray(out).ravel()]
    assert est.coefs_[0].dtype == dtype
    return b"".join(p.tobytes() for p in parts)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("solver", ["sgd", "adam", "lbfgs"])
@pytest.mark.parametrize("kind", ["binary", "multi", "regressor"])
def test_estimators_same_bits_for_any_thread_count(kind, solver, dtype):
    results = {t: _fit_bytes(kind, solver, dtype, t) for t in THREADS}
    for t in THREADS[1:]:
        assert results[t] == results[1], f"{kind} {solver} {dtype.__name__}: {t} threads"


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(
    "layers",
    [
        {"batch_norm": True, "dropout": 0.2},
        {"batch_norm": True, "activation": "gelu"},
        {"activation": "gelu", "dropout": 0.2},
    ],
    ids=["batch_norm+dropout", "batch_norm+gelu", "gelu+dropout"],
)
def test_layers_same_bits_for_any_thread_count(layers, dtype):
    """Batch norm's passes (training and the running statistics at predict) and GELU's
    kept-erf backward split by blocks of columns: the same bits for any team."""
    assert _kernels.pass_blocks(BATCH, HIDDEN[0]) > 1
    results = {t: _fit_bytes("binary", "adam", dtype, t, **layers) for t in THREADS}
    for t in THREADS[1:]:
        assert results[t] == results[1], f"{layers} {dtype.__name__}: {t} threads"


def _nn_run(opt_name, dtype, threads):
    rng = np.random.default_rng(1)
    X = rng.standard_normal((2 * BATCH, N_FEATURES)).astype(dtype)
    y = (X[:, :1] > 0).astype(dtype)
    model = nn.Sequential(
        nn.Linear(N_FEATURES, HIDDEN[0], dtype=dtype),
        nn.ReLU(),
        nn.Linear(HIDDEN[0], HIDDEN[1], dtype=dtype),
        nn.Tanh(),
        nn.Linear(HIDDEN[1], 1, dtype=dtype),
    )
    # the same starting weights for every thread count
    for k, p in enumerate(model.parameters()):
        p.numpy()[...] = np.random.default_rng(k).standard_normal(p.shape) * 0.1
    opt = (
        optim.Adam(model.parameters(), lr=0.01)
        if opt_name == "adam"
        else optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    )
    loss_fn = nn.BCEWithLogitsLoss()
    with threadpool_limits(threads):
        for i in range(0, len(X), BATCH):
            opt.zero_grad()
            loss_fn(model(X[i : i + BATCH]), y[i : i + BATCH]).backward()
            opt.step()
    return b"".join(p.numpy().tobytes() for p in model.parameters())


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("opt_name", ["sgd", "adam"])
def test_nn_path_same_bits_for_any_thread_count(opt_name, dtype):
    results = {t: _nn_run(opt_name, dtype, t) for t in THREADS}
    for t in THREADS[1:]:
        assert results[t] == results[1], f"nn {opt_name} {dtype.__name__}: {t} threads"


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("trans_a,trans_b", [(False, False), (True, False), (False, True)])
@pytest.mark.parametrize("shape", [(300, 200, 64), (40, 500, 300), (1000, 33, 70)])
def test_split_product_same_bits_and_right(shape, trans_a, trans_b, dtype):
    m, n, k = shape
    assert _kernels.product_blocks(m, n, k) > 1
    rng = np.random.default_rng(2)
    a = rng.standard_normal((k, m) if trans_a else (m, k)).astype(dtype)
    b = rng.standard_normal((n, k) if trans_b else (k, n)).astype(dtype)
    out = {}
    for t in THREADS:
        c = np.full((m, n), np.nan, dtype)
        with threadpool_limits(t):
            _kernels.matmul(a, b, c, trans_a, trans_b, path=2)
        out[t] = c
    want = (a.T if trans_a else a).astype(np.float64) @ (b.T if trans_b else b).astype(np.float64)
    np.testing.assert_allclose(
        out[1],
        want,
        rtol=1e-4 if dtype == np.float32 else 1e-12,
        atol=1e-3 if dtype == np.float32 else 1e-10,
    )
    for t in THREADS[1:]:
        assert out[t].tobytes() == out[1].tobytes(), f"{shape} {t} threads"


def _fit_in_child(queue):
    queue.put(_fit_bytes("binary", "adam", np.float32, 2))


@pytest.mark.skipif(
    "fork" not in multiprocessing.get_all_start_methods(), reason="no fork on this platform"
)
def test_fork_after_a_threaded_fit():
    """GNU libgomp's pool does not survive fork(): a forked child runs on one thread
    (the same blocks, so the same bits) instead of waiting forever."""
    parent = _fit_bytes("binary", "adam", np.float32, 2)
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    child = ctx.Process(target=_fit_in_child, args=(queue,))
    child.start()
    try:
        got = queue.get(timeout=120)
    finally:
        child.join(timeout=30)
        if child.is_alive():
            child.kill()
    assert got == parent


def test_blas_thread_count_restored_after_a_fit():
    def scipy_blas():
        return [
            i["num_threads"]
            for i in threadpool_info()
            if i["user_api"] == "blas" and "scipy" in i["filepath"] and "numpy" not in i["filepath"]
        ]

    with threadpool_limits(2, user_api="blas"):
        before = scipy_blas()
        _fit_bytes("binary", "sgd", np.float32, None)
        assert scipy_blas() == before


def _share_on_team(teams, most):
    return sum(t == most for t in teams) / len(teams)


@pytest.mark.parametrize("most", [2, 4])
def test_tuner_runs_the_faster_choice(most):
    """The epoch loop's tuner (fastdense._parallel) fed minibatch times: it settles on
    whichever of the team and one thread is faster, and a probe of the slower choice
    is cut short, so a bad choice costs a few minibatches."""
    from fastdense import _train

    quiet = _train._tuner_trace(most, 1.0, 1.8, 2000)  # the team is faster
    assert set(quiet) == {1, most}
    assert _share_on_team(quiet, most) > 0.99  # each probe of one thread: 1 minibatch
    close = _train._tuner_trace(most, 1.0, 1.1, 2000)  # within a quarter: whole probes
    assert _share_on_team(close, most) > 0.97 and quiet.count(1) < close.count(1)
    busy = _train._tuner_trace(most, 6.0, 1.0, 2000)  # the team waits for its stragglers
    assert _share_on_team(busy, most) < 0.03
    # the first probe times the team whole; a later probe of it stops after one
    # minibatch (6 times one thread's: far over a quarter longer)
    assert busy[:6] == [most] * 6 and busy[6] == 1
    runs, run = [], 0
    for t in busy[7:]:
        run = run + 1 if t == most else (runs.append(run) or 0) if run else 0
    assert runs and max(runs) == 1
    # the settled stretches grow while the winner holds, so probes become rare
    assert sum(t == most for t in busy[1000:]) <= 2


def test_tuner_does_nothing_on_one_thread():
    from fastdense import _train

    assert set(_train._tuner_trace(1, 1.0, 5.0, 100)) == {1}


def test_fit_tunes_its_team():
    """A fit whose products are split runs the tuner on the team it was given."""
    from fastdense import _train
    from fastdense.estimators import _solvers

    plans = []
    original = _train.EpochPlan

    class Recording:
        def __getattr__(self, name):
            return getattr(_train, name)

        def EpochPlan(self, *args, **kwargs):
            plans.append(original(*args, **kwargs))
            return plans[-1]

    saved, _solvers._train = _solvers._train, Recording()
    try:
        with threadpool_limits(2, user_api="openmp"):
            _fit_bytes("binary", "adam", np.float32, None)
    finally:
        _solvers._train = saved
    state = plans[-1]._tuner_state()
    assert state["most"] == (2 if _openmp() else 1)
    if _openmp():
        assert state["winner"] in (1, 2)


def test_openmp_spin_is_set_only_while_the_modules_load(monkeypatch):
    import os

    from fastdense import _simd

    monkeypatch.delenv("GOMP_SPINCOUNT", raising=False)
    monkeypatch.delenv("OMP_WAIT_POLICY", raising=False)
    with _simd.bounded_spin_openmp():
        assert os.environ["GOMP_SPINCOUNT"] == _simd.OPENMP_SPIN_COUNT
    assert "GOMP_SPINCOUNT" not in os.environ
    monkeypatch.setenv("OMP_WAIT_POLICY", "passive")  # the user's choice stands
    with _simd.bounded_spin_openmp():
        assert "GOMP_SPINCOUNT" not in os.environ
