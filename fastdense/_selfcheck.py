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


#: the largest relative error (max |kernel - reference| / max |reference|) that passes:
#: a few hundred units in the last place of a 1024-term dot product, far below any bug's
TOLERANCE = {"float32": 1e-4, "float64": 1e-10}


def selfcheck(shapes=((128, 64, 64), (512, 1024, 1024)), repeats=20, out=None):
    """Run forward+backward of one dense layer with the kernels and the NumPy
    reference on random data, check they agree within :data:`TOLERANCE` and print
    median timings.

    Returns
    -------
    list of str
        One line per failed check (empty when every check passed).
    """
    out = sys.stdout if out is None else out
    failures = []
    rng = np.random.default_rng(0)
    print(f"fastdense {__version__}: dense layer forward+backward, kernels vs NumPy", file=out)
    print(
        "| dtype | m | n_in -> n_out | max rel. error | tolerance | check | NumPy ms "
        "| fastdense ms | speed-up |",
        file=out,
    )
    print("|---|---|---|---|---|---|---|---|---|", file=out)
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
            tol = TOLERANCE[np.dtype(dtype).name]
            ok = bool(np.isfinite(err) and err <= tol)
            if not ok:
                failures.append(
                    f"{np.dtype(dtype).name} {m}x{n_in}->{n_out}: relative error "
                    f"{err:.1e} > {tol:.0e}"
                )
            t_fast, t_ref = [], []
            for _ in range(3):  # interleave the two, several rounds
                t_ref.append(_median_seconds(lambda: run(_reference), repeats))
                t_fast.append(_median_seconds(lambda: run(kernels), repeats))
            ref_ms, fast_ms = 1e3 * np.median(t_ref), 1e3 * np.median(t_fast)
            print(
                f"| {np.dtype(dtype).name} | {m} | {n_in} -> {n_out} | {err:.1e} | {tol:.0e} "
                f"| {'ok' if ok else 'FAILED'} | {ref_ms:.3f} | {fast_ms:.3f} "
                f"| {ref_ms / fast_ms:.2f}x |",
                file=out,
            )
    print(
        "All checks passed."
        if not failures
        else f"{len(failures)} check(s) FAILED: " + "; ".join(failures),
        file=out,
    )
    return failures
