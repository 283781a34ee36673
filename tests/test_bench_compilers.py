"""bench_fit.py's compiled competitors (JAX, torch.compile) and its score and target checks.

The competitors are benchmark code (benchmarks/_compilers.py), tested here
because a benchmark that trains a different model than the others would
compare different work: each must reach the score of the eager competitor it
mirrors. JAX is optional (``pip install ".[bench]"``); without it its test
is skipped.
"""

import io
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

import bench_fit  # noqa: E402

from fastdense import DenseBinaryClassifier  # noqa: E402
from fastdense._bench import fit_estimator, fit_torch, make_data  # noqa: E402

# 330 rows, batches of 32: ten full minibatches and a partial last one of 10 rows
N, D, HIDDEN, BATCH = 330, 6, (8,), 32


def _data(dtype=np.float32, task=("binary", 1)):
    return make_data(N, D, np.dtype(dtype), seed=1, task=task)


@pytest.mark.parametrize("task", [("binary", 1), ("multiclass", 3), ("regression", 1)])
def test_jax_epoch_trains_like_fastdense(task):
    pytest.importorskip("jax")
    pytest.importorskip("optax")
    from _compilers import jax_competitor

    from fastdense import DenseClassifier, DenseRegressor

    X, y, Xt, yt = _data(task=task)
    fit, reset = jax_competitor(X, y, Xt, yt, HIDDEN, BATCH, task)
    seconds, score = fit(30)
    assert seconds > 0
    ours = {
        "binary": DenseBinaryClassifier,
        "multiclass": DenseClassifier,
        "regression": DenseRegressor,
    }[task[0]]
    _, reference = fit_estimator(ours, X, y, Xt, yt, HIDDEN, BATCH, 30)
    assert abs(score - reference) < 0.08, (score, reference)
    # same seed, same model: a second fit repeats the first, after a reset too
    assert fit(30)[1] == score
    reset()
    assert fit(30)[1] == score


def test_jax_epoch_variants_and_float64():
    pytest.importorskip("jax")
    pytest.importorskip("optax")
    from _compilers import jax_competitor

    X, y, Xt, yt = _data()
    base = jax_competitor(X, y, Xt, yt, HIDDEN, BATCH)[0](20)[1]
    for kwargs in (dict(gather="batch"), dict(flatten=True)):  # the same draws, same model
        assert jax_competitor(X, y, Xt, yt, HIDDEN, BATCH, **kwargs)[0](20)[1] == base
    device = jax_competitor(X, y, Xt, yt, HIDDEN, BATCH, shuffle="device")[0](20)[1]
    assert abs(device - base) < 0.08
    X64, y64, Xt64, yt64 = _data(np.float64)
    assert abs(jax_competitor(X64, y64, Xt64, yt64, HIDDEN, BATCH)[0](20)[1] - base) < 0.08


def test_torch_compile_matches_eager_pytorch():
    torch = pytest.importorskip("torch")
    from _compilers import torch_compile_competitor

    X, y, Xt, yt = _data()
    X, y = X[: 8 * BATCH], y[: 8 * BATCH]  # full minibatches only: one graph to compile (~20 s)
    fit, reset = torch_compile_competitor(torch, X, y, Xt, yt, HIDDEN, BATCH)
    reset()  # compiles from scratch (no on-disk kernels)
    _, score = fit(5)
    _, eager = fit_torch(torch, X, y, Xt, yt, HIDDEN, BATCH, 5, fused=True)
    assert abs(score - eager) <= 0.01, (score, eager)


def _record(config, competitor, median, score, **extra):
    return dict(
        config=config,
        dtype="float32",
        competitor=competitor,
        median=median,
        ratio_to_fastdense=median / 1.0,
        accuracy=score,
        n_samples=10,
        n_features=2,
        hidden=[4],
        batch=2,
        with_setup=median,
        to_model_seconds=median,
        **extra,
    )


def test_check_scores_flags_a_competitor_that_learned_something_else():
    records = [
        _record("T", "fastdense", 1.0, 0.95),
        _record("T", "JAX jit+scan", 3.0, 0.80),
        _record("T", "PyTorch Adam(fused)", 9.0, 0.94),
        _record("T", "torch.compile", 8.0, 0.94),
    ]
    out = io.StringIO()
    bad = bench_fit.check_scores(records, out)
    assert bad == ["T float32 JAX jit+scan: 0.800 vs fastdense 0.950"]
    records[1]["accuracy"] = 0.95
    assert bench_fit.check_scores(records, out) == []
    assert "JAX jit+scan with fastdense" in out.getvalue()


def test_summary_reports_targets_met_and_missed():
    records = [
        _record("T", "fastdense", 1.0, 0.95),
        _record("T", "JAX jit+scan", 3.0, 0.95),
        _record("T", "torch.compile", 4.0, 0.95),
        _record("T", "GEMM floor", 0.5, np.nan),
    ]
    out = io.StringIO()
    bench_fit.summary(records, out=out)
    text = out.getvalue()
    assert "| 23 | fastdense ≥ 2.5× JAX jit+scan on T | 3.00× | 3.00× | met |" in text
    assert "| 16 | fastdense ≥ 5.0× torch.compile on T | 4.00× | 4.00× | missed by 1.25× |" in text
    assert "(fastdense = 2.00×)" in text  # the floor: fastdense's ratio to it
    records += [_record("S", "fastdense", 1.0, 0.95), _record("S", "GEMM floor", 2.0, np.nan)]
    records += [_record("M", "fastdense", 1.0, 0.95), _record("M", "GEMM floor", 0.5, np.nan)]
    out = io.StringIO()
    bench_fit.summary(records, out=out)
    text = out.getvalue()
    # the floor's targets go the other way: fastdense's time over the floor's, at most
    assert "| 23 | fastdense ≤ 1.0× the GEMM floor on M | 2.00× | 2.00× | missed by 2.00× |" in text
    assert "| 23 | fastdense ≤ 0.8× the GEMM floor on S | 0.50× | 0.50× | met |" in text
