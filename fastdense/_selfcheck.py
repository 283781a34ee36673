"""``fastdense selfcheck``: check the kernels against the NumPy reference and time them."""

import sys
import time

import numpy as np

from . import __version__, _reference, kernels


def _median_seconds(fn, repeats):
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def selfcheck(shapes=((128, 64, 64), (512, 1024, 1024)), repeats=20, out=sys.stdout):
    """Run forward+backward of one dense layer with the kernels and the NumPy
    reference on random data, check they agree and print median timings."""
    rng = np.random.default_rng(0)
    print(f"fastdense {__version__}: dense layer forward+backward, kernels vs NumPy", file=out)
    print("| dtype | m | n_in -> n_out | max rel. error | NumPy ms | fastdense ms | speed-up |", file=out)
    print("|---|---|---|---|---|---|---|", file=out)
    for dtype in (np.float32, np.float64):
        for m, n_in, n_out in shapes:
            X = rng.standard_normal((m, n_in)).astype(dtype)
            W = (rng.standard_normal((n_out, n_in)) / np.sqrt(n_in)).astype(dtype)
            b = rng.standard_normal(n_out).astype(dtype)
            dA = rng.standard_normal((m, n_out)).astype(dtype)

            def run(impl):
                A = impl.dense_forward(X, W, b, "relu")
                return A, impl.dense_backward(dA, X, W, A, "relu")

            A_fast, (dX_fast, dW_fast, _) = run(kernels)
            A_ref, (dX_ref, dW_ref, _) = run(_reference)
            err = max(
                float(np.max(np.abs(f - r)) / (np.max(np.abs(r)) + 1e-30))
                for f, r in ((A_fast, A_ref), (dX_fast, dX_ref), (dW_fast, dW_ref))
            )
            t_fast, t_ref = [], []
            for _ in range(3):  # interleave the two, several rounds
                t_ref.append(_median_seconds(lambda: run(_reference), repeats))
                t_fast.append(_median_seconds(lambda: run(kernels), repeats))
            ref_ms, fast_ms = 1e3 * np.median(t_ref), 1e3 * np.median(t_fast)
            print(
                f"| {np.dtype(dtype).name} | {m} | {n_in} -> {n_out} | {err:.1e} "
                f"| {ref_ms:.3f} | {fast_ms:.3f} | {ref_ms / fast_ms:.2f}x |",
                file=out,
            )
