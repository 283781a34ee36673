"""Ctrl-C during fit: a real SIGINT, sent to a subprocess in the middle of a long epoch.

The epoch runs in one nogil call (fastdense._train.stochastic_epoch); it polls
for signals between minibatches, so the fit stops within about one minibatch,
keeps the last completed parameters, warns as MLPClassifier does and predicts.
"""

import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

import fastdense

# the fastdense these tests imported (installed, or built in place) is the one
# the child runs; its working folder is not the source tree, whose unbuilt
# package would shadow an installed one
PACKAGE_PARENT = os.path.dirname(os.path.dirname(os.path.abspath(fastdense.__file__)))

# One long epoch (~2 s, sized from a measured minibatch); the signal arrives ~0.3 s
# into it. Without the polling the fit would only notice at the epoch's end.
CHILD = textwrap.dedent(
    """
    import sys, time, warnings
    import numpy as np
    from fastdense import DenseBinaryClassifier

    H, B = (1024,), 200
    rng = np.random.default_rng(0)

    def make(n):
        X = rng.standard_normal((n, 20)).astype(np.float32)
        return X, (X[:, 0] + 0.1 * X[:, 1] > 0).astype(int)

    # one minibatch's time, then one epoch of ~2 s whatever this machine's speed
    Xp, yp = make(20 * B)
    probe = DenseBinaryClassifier(H, batch_size=B, max_iter=1, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        probe.fit(Xp[:B], yp[:B])
        t1 = time.perf_counter()
        probe.fit(Xp, yp)
    per_batch = (time.perf_counter() - t1) / 20
    n = int(min(max(2.0 / per_batch, 100), 3000)) * B
    X, y = make(n)
    clf = DenseBinaryClassifier(H, batch_size=B, max_iter=1, random_state=0)
    print("ready", flush=True)
    t0 = time.monotonic()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        clf.fit(X, y)
    t_end = time.monotonic()
    msgs = [str(w.message) for w in caught]
    assert "Training interrupted by user." in msgs, msgs
    assert clf.n_iter_ == 0, clf.n_iter_          # stopped inside the first epoch
    assert all(np.isfinite(c).all() for c in clf.coefs_)
    # the completed minibatches' updates are kept: not the initial weights
    init = DenseBinaryClassifier(H, random_state=0)
    init._random_state = np.random.RandomState(0)
    init._initialize([20, H[0], 1], np.float32)
    assert not np.array_equal(init.coefs_[0], clf.coefs_[0])
    acc = float((clf.predict(X[:2000]) == y[:2000]).mean())
    print(f"done {t_end!r} {t_end - t0!r} {per_batch!r} {acc!r} {n // B}", flush=True)
    """
)


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_sigint_stops_fit_within_about_one_minibatch(tmp_path):
    env = dict(
        os.environ, PYTHONPATH=PACKAGE_PARENT + os.pathsep + os.environ.get("PYTHONPATH", "")
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", CHILD],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=tmp_path,
    )
    try:
        assert proc.stdout.readline().strip() == "ready"
        time.sleep(0.3)
        t_sig = time.monotonic()
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    line = [ln for ln in out.splitlines() if ln.startswith("done")][0]
    t_end, fit_time, per_batch, acc, n_batches = (float(v) for v in line.split()[1:])
    latency = t_end - t_sig
    print(
        f"\nSIGINT -> fit returned: {latency * 1e3:.1f} ms (one minibatch: "
        f"{per_batch * 1e3:.2f} ms; the epoch has {n_batches:.0f}; fit ran "
        f"{fit_time:.2f} s; accuracy after interrupt {acc:.3f})"
    )
    # about one minibatch, plus the 5 ms polling interval and scheduling noise
    assert latency < max(3 * per_batch, 0.005) + 0.15, latency
