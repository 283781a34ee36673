"""Every build of the compiled modules (baseline, AVX2, AVX-512) gives the same numbers.

The builds differ only in vector width (no fused multiply-adds: -ffp-contract=off),
so models, kernels and optimizer steps must agree bit for bit. The build is chosen
at import (FASTDENSE_SIMD), so each one runs in its own subprocess.
"""

import importlib.util
import os
import subprocess
import sys
import textwrap

import pytest

import fastdense
from fastdense import _simd

PACKAGE_PARENT = os.path.dirname(os.path.dirname(os.path.abspath(fastdense.__file__)))

CHILD = textwrap.dedent(
    """
    import hashlib, warnings
    import numpy as np
    import fastdense as fd
    from fastdense import DenseBinaryClassifier, kernels, nn, optim

    warnings.simplefilter("ignore")
    h = hashlib.sha256()
    rng = np.random.default_rng(0)
    X = rng.standard_normal((300, 13))
    y = (X[:, 0] + X[:, 1] * X[:, 2] > 0).astype(int)
    for dtype in (np.float32, np.float64):
        for solver in ("adam", "sgd", "lbfgs"):
            for act in ("relu", "tanh", "logistic"):
                clf = DenseBinaryClassifier((37, 11), activation=act, solver=solver,
                                            alpha=1e-3, max_iter=8, random_state=0)
                clf.fit(X.astype(dtype), y)
                for c in clf.coefs_ + clf.intercepts_:
                    h.update(np.ascontiguousarray(c).tobytes())
                h.update(clf.predict_proba(X.astype(dtype)).tobytes())
        A = kernels.dense_forward(X.astype(dtype), X[:29].astype(dtype), None, "tanh")
        h.update(A.tobytes())
        for part in kernels.dense_backward(A, X.astype(dtype), X[:29].astype(dtype), A, "tanh"):
            h.update(part.tobytes())
        fd.manual_seed(0)
        model = nn.Sequential(nn.Linear(13, 21), nn.ReLU(), nn.Linear(21, 1)).to(dtype)
        opt = optim.Adam(model.parameters(), lr=1e-2, weight_decay=1e-3)
        for _ in range(5):
            opt.zero_grad()
            loss = nn.BCEWithLogitsLoss()(model(X.astype(dtype)), y.reshape(-1, 1).astype(dtype))
            loss.backward()
            opt.step()
        for p in model.parameters():
            h.update(np.asarray(p.data).tobytes())
    # the packed product's prototype (not used by the estimators): its tiles differ by build
    from fastdense import _kernels
    for m, n, k, ta, tb in [(150, 37, 530, False, True), (29, 515, 13, True, False)]:
        a = rng.standard_normal((k, m) if ta else (m, k)).astype(np.float32)
        b = rng.standard_normal((n, k) if tb else (k, n)).astype(np.float32)
        c = np.empty((m, n), np.float32)
        _kernels.matmul(a, b, c, ta, tb, 3)
        h.update(c.tobytes())
    print(fd.SIMD, h.hexdigest())
    """
)


def _built_variants():
    names = ["baseline"]
    for name in _simd.VARIANTS:
        if importlib.util.find_spec(f"fastdense._{name}._kernels") is not None:
            names.append(name)
    return names


def _run(variant, cwd):
    # cwd outside the source tree: there `-c` would import the unbuilt package
    env = dict(
        os.environ,
        FASTDENSE_SIMD=variant,
        PYTHONPATH=PACKAGE_PARENT + os.pathsep + os.environ.get("PYTHONPATH", ""),
    )
    out = subprocess.run(
        [sys.executable, "-c", CHILD], env=env, capture_output=True, text=True, timeout=300, cwd=cwd
    )
    assert out.returncode == 0, out.stderr
    return out.stdout.split()


def test_every_build_gives_identical_results(tmp_path):
    features = _simd._cpu_features()
    runnable = [
        v
        for v in _built_variants()
        if v == "baseline" or all(features.get(f) for f in _simd.VARIANTS[v])
    ]
    if len(runnable) < 2:
        pytest.skip("only the baseline build runs here")
    results = {v: _run(v, tmp_path) for v in runnable}
    for variant, (chosen, digest) in results.items():
        assert chosen == variant
    digests = {v: d for v, (_, d) in results.items()}
    assert len(set(digests.values())) == 1, digests


def test_unknown_choice_is_a_clear_error(tmp_path):
    env = dict(
        os.environ,
        FASTDENSE_SIMD="sse9",
        PYTHONPATH=PACKAGE_PARENT + os.pathsep + os.environ.get("PYTHONPATH", ""),
    )
    out = subprocess.run(
        [sys.executable, "-c", "import fastdense"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert out.returncode != 0 and "FASTDENSE_SIMD must be" in out.stderr
