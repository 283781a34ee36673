"""Quick side-by-side fit time: DenseBinaryClassifier vs MLPClassifier.

Same data, same hyperparameters (adam, relu, no early stopping) and the same
number of epochs (tol=0 so neither stops early); rounds are interleaved and
the table shows medians of seconds per fit and the ratio.

    python benchmarks/bench_estimator_quick.py [--rounds 5] [--epochs 3]
"""

import argparse
import time
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier

from fastdense import DenseBinaryClassifier

CONFIGS = [  # name, n_samples, n_features, hidden, batch
    ("S", 20_000, 20, (64, 32), 128),
    ("M", 50_000, 100, (256, 128), 256),
]


def make_data(n, d, dtype, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    w = rng.standard_normal(d)
    y = (X @ w + 0.5 * rng.standard_normal(n) > 0).astype(int)
    return X.astype(dtype), y


def timed_fit(cls, X, y, hidden, batch, epochs):
    # numpy (MLPClassifier) and scipy (fastdense) each ship an OpenBLAS whose idle
    # threads spin for a while after a call; let the other pool fall asleep first
    # so that neither side is timed against the other's spinning threads.
    time.sleep(0.3)
    clf = cls(hidden_layer_sizes=hidden, solver="adam", batch_size=batch, max_iter=epochs,
              tol=0.0, n_iter_no_change=10**6, random_state=0)
    start = time.perf_counter()
    clf.fit(X, y)
    elapsed = time.perf_counter() - start
    assert clf.n_iter_ == epochs
    return elapsed


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=3)
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore", ConvergenceWarning)
    print(f"fit time, adam, {args.epochs} epochs, median of {args.rounds} interleaved rounds")
    print("| config | dtype | MLPClassifier s | DenseBinaryClassifier s | speed-up |")
    print("|---|---|---|---|---|")
    for name, n, d, hidden, batch in CONFIGS:
        for dtype in (np.float32, np.float64):
            X, y = make_data(n, d, dtype)
            ref, ours = [], []
            timed_fit(DenseBinaryClassifier, X, y, hidden, batch, 1)  # warm-up
            for _ in range(args.rounds):
                ref.append(timed_fit(MLPClassifier, X, y, hidden, batch, args.epochs))
                ours.append(timed_fit(DenseBinaryClassifier, X, y, hidden, batch, args.epochs))
            r, o = float(np.median(ref)), float(np.median(ours))
            print(f"| {name} {n}x{d} {hidden} b{batch} | {np.dtype(dtype).name} "
                  f"| {r:.3f} | {o:.3f} | {r / o:.1f}x |", flush=True)


if __name__ == "__main__":
    main()
