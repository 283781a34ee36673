"""Cost of polling for Ctrl-C inside the nogil epoch (fastdense._train.stochastic_epoch).

The same fit, in the main thread, runs with the polling on (as users get it)
and off (the estimator told it is not in the main thread, as in a worker
thread, where signals are never delivered), interleaved over rounds, on the smallest configuration (5k x 10, (16,), batch
32: ~20 us per minibatch, where any per-minibatch cost shows most). Prints
medians of the epoch time and the per-minibatch difference.

    python benchmarks/bench_signal_check.py [--quick] [--rounds N] [--epochs N] [--json FILE]
"""

import threading
import time
import warnings

import numpy as np
from _harness import machine_header, parser, write_json

from fastdense import DenseBinaryClassifier


def epoch_seconds(X, y, epochs):
    est = DenseBinaryClassifier(
        (16,), batch_size=32, max_iter=epochs, tol=0, n_iter_no_change=10**9, random_state=0
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t = time.perf_counter()
        est.fit(X, y)
        return (time.perf_counter() - t) / epochs


class _NotMainThread:
    """Stands in for the threading module inside fastdense.estimators._solvers: no thread is main."""

    current_thread = staticmethod(threading.current_thread)

    @staticmethod
    def main_thread():
        return None


def without_polling(fn, *args):
    import fastdense.estimators._solvers as est_mod

    est_mod.threading = _NotMainThread
    try:
        return fn(*args)
    finally:
        est_mod.threading = threading


def main():
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--epochs", type=int, default=None)
    args = p.parse_args()
    args.rounds = args.rounds or (3 if args.quick else 15)
    args.epochs = args.epochs or (3 if args.quick else 20)
    print(machine_header() + "\n")
    rng = np.random.default_rng(0)
    X = rng.standard_normal((5000, 10))
    y = (X[:, 0] > 0).astype(int)
    n_batches = -(-5000 // 32)
    on, off = [], []
    epoch_seconds(X, y, 2)
    for _ in range(args.rounds):
        on.append(epoch_seconds(X, y, args.epochs))  # main thread: polling on
        off.append(without_polling(epoch_seconds, X, y, args.epochs))
    m_on, m_off = np.median(on), np.median(off)
    print(f"| polling | s/epoch (median of {args.rounds}) | us/minibatch |")
    print("|---|---|---|")
    print(f"| on | {m_on:.5f} | {m_on / n_batches * 1e6:.2f} |")
    print(f"| off | {m_off:.5f} | {m_off / n_batches * 1e6:.2f} |")
    print(
        f"\nper-minibatch cost of polling: {(m_on - m_off) / n_batches * 1e9:+.0f} ns "
        f"({(m_on / m_off - 1) * 100:+.2f}%)"
    )
    if args.json:
        write_json(
            args.json,
            {
                "header": machine_header(),
                "seconds_per_epoch_on": on,
                "seconds_per_epoch_off": off,
                "minibatches": n_batches,
            },
        )


if __name__ == "__main__":
    main()
