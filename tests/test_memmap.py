"""Out-of-core fit on a memory-mapped file: fit streams a read-only np.memmap through
its gather buffer without copying X (measured in a child process, so the numbers are
the fits' alone)."""

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import fastdense

psutil = pytest.importorskip("psutil")

ROWS, COLS = 200_000, 256  # float32: 195 MiB on disk
# (memmap mode, solver, fit dtype); the last one must convert X, so it must copy
CONFIGS = [
    ("r", "adam", "float32"),
    ("r", "sgd", "float32"),
    ("c", "adam", "float32"),
    ("r", "adam", "float64"),
]

CHILD = textwrap.dedent("""
    import sys, threading, tracemalloc, warnings
    import numpy as np, psutil
    from fastdense import DenseBinaryClassifier

    path, rows, cols = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    y = (np.arange(rows) % 3 == 0).astype(np.int64)
    proc = psutil.Process()

    def anon():  # resident memory that is not file-backed: a copy of X would be here
        m = proc.memory_info()
        return m.rss - m.shared

    tracemalloc.start()
    for config in sys.argv[4:]:
        mode, solver, dtype = config.split(",")
        X = np.memmap(path, dtype=np.float32, mode=mode, shape=(rows, cols))
        est = DenseBinaryClassifier((16,), solver=solver, max_iter=2, random_state=0,
                                    batch_size=256, dtype=dtype)
        base, peak, done = anon(), [0], threading.Event()

        def sample():
            while not done.is_set():
                peak[0] = max(peak[0], anon() - base)
                done.wait(0.002)

        sampler = threading.Thread(target=sample)
        tracemalloc.reset_peak()
        traced_base = tracemalloc.get_traced_memory()[0]
        sampler.start()
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                est.fit(X, y)
                est.predict_proba(X[:50_000])
        finally:
            done.set()
            sampler.join()
        peak[0] = max(peak[0], anon() - base)
        traced = tracemalloc.get_traced_memory()[1] - traced_base
        print(peak[0], traced, est.n_iter_, flush=True)
        del X, est
""")


@pytest.fixture(scope="module")
def measured(tmp_path_factory):
    """{config: (added anonymous RSS peak, traced allocation peak, n_iter_)}."""
    path = tmp_path_factory.mktemp("memmap") / "X.f32"
    out = np.memmap(path, dtype=np.float32, mode="w+", shape=(ROWS, COLS))
    rng = np.random.default_rng(0)
    for start in range(0, ROWS, 20_000):
        out[start : start + 20_000] = rng.standard_normal((20_000, COLS), dtype=np.float32)
    out.flush()
    del out
    # one BLAS thread: the measurement, not the speed, is the point, and 2 spinning
    # OpenBLAS threads on a shared 2-core runner make an epoch many times slower
    # the child imports the fastdense these tests imported, from outside the source tree
    package_parent = os.path.dirname(os.path.dirname(os.path.abspath(fastdense.__file__)))
    env = {
        **os.environ,
        "OPENBLAS_NUM_THREADS": "1",
        "PYTHONPATH": package_parent + os.pathsep + os.environ.get("PYTHONPATH", ""),
    }
    res = subprocess.run(
        [
            sys.executable,
            "-c",
            CHILD,
            str(path),
            str(ROWS),
            str(COLS),
            *(",".join(c) for c in CONFIGS),
        ],
        env=env,
        cwd=path.parent,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert res.returncode == 0, res.stderr[-2000:]
    lines = res.stdout.split("\n")
    return {c: tuple(map(int, line.split())) for c, line in zip(CONFIGS, lines)}


@pytest.mark.parametrize("config", CONFIGS[:3], ids=lambda c: "-".join(c))
def test_fit_streams_a_memmap_without_copying_it(measured, config):
    nbytes = ROWS * COLS * 4
    rss_added, traced_peak, n_iter = measured[config]
    assert n_iter == 2
    # per-row bookkeeping (targets, shuffled index) is ~50 bytes of the 1 KiB row
    assert rss_added < 0.25 * nbytes, (rss_added, nbytes)
    assert traced_peak < 0.25 * nbytes, (traced_peak, nbytes)


def test_the_measurement_sees_a_copy(measured):
    """A float64 fit of float32 data must convert X: both measures report that copy,
    so the test above can fail."""
    rss_added, traced_peak, _ = measured[CONFIGS[3]]
    assert traced_peak > 1.5 * ROWS * COLS * 4
    assert rss_added > 1.5 * ROWS * COLS * 4
