"""Small data, where a fit is mostly fixed cost: fastdense against MLPClassifier.

    python benchmarks/bench_small.py [--quick] [--rounds R] [--json FILE]

On scikit-learn's breast cancer set (569 x 30, standardized), hidden (64, 32),
Adam, float64 (the same model for both estimators):

- **fit set-up**: a 1-epoch ``fit`` minus one epoch, the epoch being
  ``(fit(max_iter=1 + E) - fit(max_iter=1)) / E``: validation, initialisation,
  buffers, everything a fit pays besides its epochs.
- **partial_fit**: one call on a 200-row block of a fitted model, and that
  call minus its one epoch (measured the same way on the block).
- **GridSearchCV**: 12 candidates x 5 folds of a ``StandardScaler`` pipeline,
  ``max_iter=200``, n_jobs=1, refit included.
- **GEMM floor**: an epoch's matrix products alone (batch 200, through the
  same BLAS): MLPClassifier's epoch over it bounds the speed-up any
  implementation of the same float64 model can have once set-up is gone.
- **the search in float32**: the same search with
  ``DenseBinaryClassifier(dtype="float32")``, a row apart: a different
  precision (not MLPClassifier's float64 model), what a user who opts in gets.

Competitors are interleaved round by round with a pause between them; the
table gives medians over the rounds and MLPClassifier's time over fastdense's.
"""

import time
import warnings

import numpy as np
from _harness import (
    fmt_seconds,
    interleave,
    machine_header,
    markdown_table,
    parser,
    summarize,
    time_call,
    write_json,
)
from sklearn.datasets import load_breast_cancer
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from fastdense import DenseBinaryClassifier

HIDDEN = (64, 32)
GRID = {
    "clf__hidden_layer_sizes": [(32,), (64,), (64, 32)],
    "clf__alpha": [1e-4, 1e-2],
    "clf__learning_rate_init": [1e-3, 3e-3],
}
QUICK_GRID = {"clf__hidden_layer_sizes": [(32,), (64, 32)]}
COMPETITORS = {
    "fastdense DenseBinaryClassifier": DenseBinaryClassifier,
    "scikit-learn MLPClassifier": MLPClassifier,
}
FLOAT32 = "fastdense, dtype='float32' (search only)"


def _fit_time(cls, X, y, epochs, min_time):
    est = cls(hidden_layer_sizes=HIDDEN, max_iter=epochs, random_state=0)
    return time_call(lambda: est.fit(X, y), min_time=min_time)


def setup_and_epoch(cls, X, y, extra_epochs, min_time):
    """(seconds of a 1-epoch fit beyond its epoch, seconds per epoch) on X, y."""
    one = _fit_time(cls, X, y, 1, min_time)
    more = _fit_time(cls, X, y, 1 + extra_epochs, min_time)
    epoch = (more - one) / extra_epochs
    return one - epoch, epoch


def gemm_floor_epoch(X, min_time):
    """Seconds per epoch of the matrix products alone (batch 200), through fastdense's BLAS."""
    from fastdense import _kernels

    rng = np.random.default_rng(0)
    sizes = [X.shape[1], *HIDDEN, 1]
    weights = [rng.standard_normal((o, i)) / np.sqrt(i) for i, o in zip(sizes[:-1], sizes[1:])]
    floor = _kernels.GemmFloor(np.ascontiguousarray(X), weights, min(200, X.shape[0]))
    return time_call(floor.run_epoch, min_time=min_time)


def partial_fit_time(cls, X, y, min_time):
    """Seconds per ``partial_fit`` call on the block X, y of an already fitted model."""
    est = cls(hidden_layer_sizes=HIDDEN, random_state=0)
    est.partial_fit(X, y, classes=np.unique(y))
    return time_call(lambda: est.partial_fit(X, y), min_time=min_time)


def search_time(cls, X, y, grid, cv, max_iter, **params):
    pipe = Pipeline(
        [
            ("scale", StandardScaler()),
            ("clf", cls(hidden_layer_sizes=HIDDEN, max_iter=max_iter, random_state=0, **params)),
        ]
    )
    start = time.perf_counter()
    search = GridSearchCV(pipe, grid, cv=cv, n_jobs=1).fit(X, y)
    return time.perf_counter() - start, search.best_score_


def main():
    args = parser(__doc__.splitlines()[0]).parse_args()
    rounds = args.rounds or (2 if args.quick else 5)
    min_time = 0.05 if args.quick else 0.3
    extra = 4 if args.quick else 20
    grid, cv, max_iter = (QUICK_GRID, 2, 20) if args.quick else (GRID, 5, 200)
    warnings.simplefilter("ignore", ConvergenceWarning)

    X_raw, y = load_breast_cancer(return_X_y=True)
    X = StandardScaler().fit_transform(X_raw)
    block_X, block_y = X[:200], y[:200]

    print(machine_header())
    print(
        f"\nbreast cancer, {X.shape[0]} x {X.shape[1]}, hidden {HIDDEN}, Adam, float64; "
        f"{rounds} interleaved rounds, medians\n"
    )

    setup = interleave(
        {
            n: (lambda c=c: setup_and_epoch(c, X, y, extra, min_time))
            for n, c in COMPETITORS.items()
        },
        rounds,
        measure=lambda f: f(),
    )
    block = interleave(
        {
            n: (
                lambda c=c: (
                    partial_fit_time(c, block_X, block_y, min_time),
                    setup_and_epoch(c, block_X, block_y, extra, min_time)[1],
                )
            )
            for n, c in COMPETITORS.items()
        },
        rounds,
        measure=lambda f: f(),
    )
    n_cand = int(np.prod([len(v) for v in grid.values()]))
    search_calls = {
        n: (lambda c=c: search_time(c, X_raw, y, grid, cv, max_iter))
        for n, c in COMPETITORS.items()
    }
    search_calls[FLOAT32] = lambda: search_time(
        DenseBinaryClassifier, X_raw, y, grid, cv, max_iter, dtype="float32"
    )
    searches = interleave(
        search_calls, max(1, rounds // 2) if not args.quick else 1, measure=lambda f: f()
    )

    floor = interleave(
        {"floor": lambda: gemm_floor_epoch(X, min_time)}, rounds, measure=lambda f: f()
    )["floor"]

    def med(values):
        return summarize(values)["median"]

    fd, sk = COMPETITORS
    rows = []
    metrics = {}
    for name in COMPETITORS:
        s_setup = med([r[0] for r in setup[name]])
        s_epoch = med([r[1] for r in setup[name]])
        p_call = med([r[0] for r in block[name]])
        p_epoch = med([r[1] for r in block[name]])
        g_time = med([r[0] for r in searches[name]])
        metrics[name] = {
            "fit_setup": s_setup,
            "epoch": s_epoch,
            "partial_fit": p_call,
            "partial_fit_epoch": p_epoch,
            "partial_fit_overhead": p_call - p_epoch,
            "search": g_time,
            "search_best_score": searches[name][-1][1],
        }
        rows.append(
            [
                name,
                fmt_seconds(s_setup),
                fmt_seconds(s_epoch),
                fmt_seconds(p_call),
                fmt_seconds(p_call - p_epoch),
                fmt_seconds(g_time),
                f"{searches[name][-1][1]:.4f}",
            ]
        )
    rows.append(
        ["MLPClassifier / fastdense"]
        + [
            f"{metrics[sk][k] / metrics[fd][k]:.1f}x"
            for k in ("fit_setup", "epoch", "partial_fit", "partial_fit_overhead", "search")
        ]
        + [
            "same"
            if metrics[sk]["search_best_score"] == metrics[fd]["search_best_score"]
            else "differs"
        ]
    )
    metrics[FLOAT32] = {
        "search": med([r[0] for r in searches[FLOAT32]]),
        "search_best_score": searches[FLOAT32][-1][1],
    }
    rows.append(
        [
            FLOAT32,
            "",
            "",
            "",
            "",
            fmt_seconds(metrics[FLOAT32]["search"]),
            f"{searches[FLOAT32][-1][1]:.4f}",
        ]
    )
    rows.append(
        [
            "MLPClassifier / fastdense float32",
            "",
            "",
            "",
            "",
            f"{metrics[sk]['search'] / metrics[FLOAT32]['search']:.1f}x",
            "",
        ]
    )
    floor_epoch = med(floor)
    rows.append(["GEMM floor (the products alone)", "", fmt_seconds(floor_epoch), "", "", "", ""])
    rows.append(
        ["MLPClassifier / floor", "", f"{metrics[sk]['epoch'] / floor_epoch:.1f}x", "", "", "", ""]
    )
    metrics["gemm_floor_epoch"] = floor_epoch
    print(
        markdown_table(
            [
                "estimator",
                "fit set-up",
                "epoch (569 rows)",
                "partial_fit (200 rows)",
                "partial_fit minus its epoch",
                f"GridSearchCV {n_cand} x {cv} folds, max_iter={max_iter}",
                "best CV score",
            ],
            rows,
        )
    )
    if args.json:
        write_json(args.json, {"rounds": rounds, "metrics": metrics})


if __name__ == "__main__":
    main()
