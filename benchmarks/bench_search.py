"""One GridSearchCV on every joblib backend: sequential, loky, threads, Dask workers.

    python benchmarks/bench_search.py [--quick] [--rounds R] [--json FILE]

A 4-candidate x 3-fold grid (12 fits, plus the refit) over 2,000 x 20 float64 rows,
hidden (32, 16), 20 epochs of Adam, for DenseBinaryClassifier and MLPClassifier.
Backends: n_jobs=1; loky n_jobs=2; threading n_jobs=2 (with and without a
threadpoolctl cap of 1 BLAS thread per fit); Dask LocalCluster (worker processes,
1 thread each, on 127.0.0.1) with 1 and 2 workers. Both clusters are started before
timing and warmed up by one search, so the table is steady-state time per search.
Then the per-task overhead of the Dask backend (an empty task through joblib) and the
cost of scattering the data once.
"""

import logging
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
    write_json,
)
from joblib import Parallel, delayed, parallel_config
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV
from sklearn.neural_network import MLPClassifier
from threadpoolctl import threadpool_limits

from fastdense import DenseBinaryClassifier

GRID = {"hidden_layer_sizes": [(32, 16), (16, 8)], "alpha": [1e-4, 1e-2]}


def _noop(i):
    return i


def _search(cls, X, y, n_jobs):
    est = cls(hidden_layer_sizes=(32, 16), max_iter=20, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return GridSearchCV(est, GRID, cv=3, n_jobs=n_jobs).fit(X, y)


def _backends(clients):
    """{name: context-manager factory, n_jobs}: how each row runs the same search."""
    import contextlib

    rows = {
        "n_jobs=1": (contextlib.nullcontext, 1),
        "loky, n_jobs=2": (lambda: parallel_config(backend="loky"), 2),
        "threading, n_jobs=2": (lambda: parallel_config(backend="threading"), 2),
        "threading, n_jobs=2, 1 BLAS thread": (_threads_capped, 2),
    }
    for n, client in clients.items():
        rows[f"dask, {n} worker{'s' if n > 1 else ''}"] = (
            lambda c=client: parallel_config(backend="dask", client=c),
            -1,
        )
    return rows


class _threads_capped:
    def __enter__(self):
        self._limits = threadpool_limits(1, user_api="blas")
        self._cfg = parallel_config(backend="threading")
        self._cfg.__enter__()

    def __exit__(self, *exc):
        self._cfg.__exit__(*exc)
        self._limits.unregister()


def _per_task_overhead(client, n_tasks):
    with parallel_config(backend="dask", client=client):
        Parallel(n_jobs=-1)(delayed(_noop)(i) for i in range(10))  # warm
        start = time.perf_counter()
        Parallel(n_jobs=-1)(delayed(_noop)(i) for i in range(n_tasks))
    joblib_s = (time.perf_counter() - start) / n_tasks
    client.gather(client.map(_noop, range(10), pure=False))
    start = time.perf_counter()
    client.gather(client.map(_noop, range(n_tasks), pure=False))
    futures_s = (time.perf_counter() - start) / n_tasks
    return joblib_s, futures_s


def main(argv=None):
    args = parser(__doc__.splitlines()[0]).parse_args(argv)
    rounds = args.rounds or (1 if args.quick else 3)
    from distributed import Client, LocalCluster

    logging.getLogger("distributed").setLevel(logging.ERROR)  # closing is chatty

    rng = np.random.default_rng(0)
    X = rng.standard_normal((2000, 20))
    y = (X[:, 0] * X[:, 1] + X[:, 2] > 0).astype(np.int64)
    print(machine_header())
    print(
        f"\nGridSearchCV, {len(GRID['alpha']) * len(GRID['hidden_layer_sizes'])} "
        f"candidates x 3 folds, {X.shape[0]:,} x {X.shape[1]} float64, {rounds} round(s), "
        "median wall time per search\n"
    )
    clusters, clients = [], {}
    try:
        for n in (1, 2):
            cluster = LocalCluster(
                n_workers=n,
                threads_per_worker=1,
                processes=True,
                host="127.0.0.1",
                dashboard_address=None,
                silence_logs=40,
            )
            clusters.append(cluster)
            clients[n] = Client(cluster, set_as_default=False)
        backends = _backends(clients)
        for factory, n_jobs in backends.values():  # warm-up: imports in every worker
            with factory():
                _search(DenseBinaryClassifier, X[:300], y[:300], n_jobs)
        competitors = {}
        for est_name, cls in (
            ("fastdense", DenseBinaryClassifier),
            ("MLPClassifier", MLPClassifier),
        ):
            for name, (factory, n_jobs) in backends.items():

                def run(cls=cls, factory=factory, n_jobs=n_jobs):
                    with factory():
                        _search(cls, X, y, n_jobs)

                competitors[(est_name, name)] = run

        def once(fn):
            start = time.perf_counter()
            fn()
            return time.perf_counter() - start

        times = interleave(competitors, rounds, measure=once, pause=0.3)
        rows, records = [], []
        for name in backends:
            fd = summarize(times[("fastdense", name)])["median"]
            mlp = summarize(times[("MLPClassifier", name)])["median"]
            base_fd = summarize(times[("fastdense", "n_jobs=1")])["median"]
            base_mlp = summarize(times[("MLPClassifier", "n_jobs=1")])["median"]
            rows.append(
                [
                    name,
                    fmt_seconds(fd),
                    f"{base_fd / fd:.2f}x",
                    fmt_seconds(mlp),
                    f"{base_mlp / mlp:.2f}x",
                    f"{mlp / fd:.1f}x",
                ]
            )
            records.append(
                {
                    "backend": name,
                    "fastdense_s": times[("fastdense", name)],
                    "mlp_s": times[("MLPClassifier", name)],
                }
            )
        print(
            markdown_table(
                [
                    "backend",
                    "fastdense",
                    "vs n_jobs=1",
                    "MLPClassifier",
                    "vs n_jobs=1",
                    "MLP / fastdense",
                ],
                rows,
            )
        )

        n_tasks = 50 if args.quick else 200
        print(f"\nDask per-task overhead ({n_tasks} empty tasks, 2 workers)\n")
        joblib_s, futures_s = _per_task_overhead(clients[2], n_tasks)
        start = time.perf_counter()
        clients[2].scatter([X, y], broadcast=True)
        scatter_s = time.perf_counter() - start
        print(
            markdown_table(
                ["what", "time"],
                [
                    ["one empty task through joblib's Dask backend", fmt_seconds(joblib_s)],
                    ["one empty task through client.map", fmt_seconds(futures_s)],
                    [
                        f"scatter X, y ({X.nbytes / 2**20:.2f} MiB) to 2 workers",
                        fmt_seconds(scatter_s),
                    ],
                ],
            )
        )
        if args.json:
            write_json(
                args.json,
                {
                    "header": machine_header(),
                    "results": records,
                    "per_task_joblib_s": joblib_s,
                    "per_task_futures_s": futures_s,
                    "scatter_s": scatter_s,
                },
            )
    finally:
        for client in clients.values():
            client.close()
        for cluster in clusters:
            cluster.close()


if __name__ == "__main__":
    main()
