"""Leaks: long runs of fit/predict and of nn training steps keep resident memory flat."""

import gc
import warnings

import numpy as np
import pytest

import fastdense as fd
from fastdense import DenseBinaryClassifier, nn, optim

psutil = pytest.importorskip("psutil")

LIMIT_MB = 10.0


def _rss_mb():
    gc.collect()
    return psutil.Process().memory_info().rss / 2**20


def _growth(step, n, warmup):
    for i in range(warmup):
        step(i)
    before = _rss_mb()
    for i in range(n):
        step(i)
    return _rss_mb() - before, before


def test_300_fit_predict_cycles_do_not_grow_memory():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((256, 12))
    y = (X[:, 0] > 0).astype(int)
    Xs = X.astype(np.float32)

    def cycle(i):
        solver = ("adam", "sgd", "lbfgs")[i % 3]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            est = DenseBinaryClassifier((16, 8), solver=solver, max_iter=3, random_state=i)
            est.fit(X if i % 2 else Xs, y)
        est.predict_proba(X)
        est.predict(Xs[:7])

    grown, base = _growth(cycle, 300, warmup=30)
    print(
        f"\n300 fit/predict cycles: RSS {base:.1f} MB -> {base + grown:.1f} MB "
        f"(growth {grown:+.2f} MB)"
    )
    assert grown < LIMIT_MB


def test_10000_nn_training_steps_do_not_grow_memory():
    fd.manual_seed(0)
    rng = np.random.default_rng(0)
    X = rng.standard_normal((32, 10)).astype(np.float32)
    y = (X[:, :1] > 0).astype(np.float32)
    model = nn.Sequential(
        nn.Linear(10, 32), nn.ReLU(), nn.Linear(32, 16), nn.Tanh(), nn.Linear(16, 1)
    )
    opt = optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = nn.BCEWithLogitsLoss()

    def step(i):
        opt.zero_grad()
        loss = loss_fn(model(X), y)
        loss.backward()
        opt.step()
        if i % 100 == 0:
            with fd.no_grad():
                model(X).numpy()

    grown, base = _growth(step, 10_000, warmup=300)
    print(
        f"\n10,000 nn forward/backward/step: RSS {base:.1f} MB -> {base + grown:.1f} MB "
        f"(growth {grown:+.2f} MB)"
    )
    assert grown < LIMIT_MB
