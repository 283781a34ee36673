"""fastdense's own threads: the speed-up on a quiet machine, and no collapse under load.

    python benchmarks/bench_threads.py [--quick] [--configs T,S,M,L] [--rounds R]
                                       [--epochs E] [--json FILE]

A fit of DenseBinaryClassifier (Adam, ReLU, float32, the configs of
``fastdense._bench.CONFIGS``) with the default threads (all cores, as
scikit-learn's OpenMP estimators) against the same fit held at one thread
(``threadpool_limits(1)``), interleaved round by round; seconds per epoch
(medians, whole fit / epochs) and the ratio default / one thread:

- **quiet**: nothing else runs (as far as this script knows: check the load
  average printed with the table); the ratio's inverse is the speed-up.
- **under load**: one busy-looping process per core runs beside the fit (each
  bounded in time and killed at the end), as when other jobs share the
  machine; a ratio above 1 means the threads cost more than they gave.

The two fits give the same model bit for bit (tests/test_threads.py).
"""

import multiprocessing
import os
import time
import warnings

import numpy as np
from _harness import fmt_seconds, machine_header, markdown_table, parser, summarize, write_json
from sklearn.exceptions import ConvergenceWarning
from threadpoolctl import threadpool_limits

from fastdense import DenseBinaryClassifier, _kernels
from fastdense._bench import CONFIGS, QUICK_SAMPLES, make_data

EPOCHS = {"T": 10, "S": 3, "M": 2, "L": 1}


def _busy(deadline):
    """A CPU hog: loop until `deadline` (time.time()), never sleeping."""
    x = 0
    while time.time() < deadline:
        x += 1


def _fit(X, y, hidden, batch, epochs, threads):
    est = DenseBinaryClassifier(
        hidden,
        solver="adam",
        alpha=0.0,
        batch_size=batch,
        max_iter=epochs,
        tol=0.0,
        n_iter_no_change=10**9,
        random_state=0,
    )
    with threadpool_limits(threads), warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        start = time.perf_counter()
        est.fit(X, y)
        return (time.perf_counter() - start) / epochs


def _measure(configs, quick, rounds, epochs, label):
    rows, records = [], []
    for name in configs:
        n, d, hidden, batch = CONFIGS[name]
        n = QUICK_SAMPLES[name] if quick else n
        e = epochs or (1 if quick else EPOCHS[name])
        X, y, _, _ = make_data(n, d, np.float32)
        _fit(X, y, hidden, batch, 1, None)  # warm up
        times = {"default": [], "1 thread": []}
        for _ in range(rounds):
            for key, threads in (("default", None), ("1 thread", 1)):
                time.sleep(0.1)
                times[key].append(_fit(X, y, hidden, batch, e, threads))
        default, one = summarize(times["default"]), summarize(times["1 thread"])
        ratio = default["median"] / one["median"]
        rows.append(
            [
                f"{name} {n}x{d} {hidden} b{batch}",
                label,
                fmt_seconds(default["median"]),
                fmt_seconds(one["median"]),
                f"{ratio:.2f}",
                f"{1 / ratio:.2f}x",
            ]
        )
        records.append(
            {
                "config": name,
                "condition": label,
                "default": default,
                "one_thread": one,
                "ratio_default_to_one": ratio,
            }
        )
    return rows, records


def main(argv=None):
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--configs", default="T,S,M,L")
    p.add_argument("--epochs", type=int, default=None)
    args = p.parse_args(argv)
    configs = [c for c in args.configs.split(",") if c]
    rounds = args.rounds or (1 if args.quick else 3)
    openmp, threads = _kernels.threads_available()
    print(machine_header())
    print(
        f"fastdense: OpenMP {'on' if openmp else 'off (one thread)'}, {threads} threads by "
        f"default; load average before: {os.getloadavg()}"
    )
    print(
        "\nSeconds per epoch (whole fit / epochs, float32, Adam), medians of "
        f"{rounds} interleaved rounds; 'default / 1' = default threads' time over one "
        "thread's ('speed-up' its inverse)\n"
    )

    rows, records = _measure(configs, args.quick, rounds, args.epochs, "quiet")

    cores = os.cpu_count() or 1
    ctx = multiprocessing.get_context("spawn")
    budget = 60 if args.quick else 1200  # the hogs stop by themselves after this
    hogs = [
        ctx.Process(target=_busy, args=(time.time() + budget,), daemon=True) for _ in range(cores)
    ]
    for h in hogs:
        h.start()
    try:
        time.sleep(0.5)  # let them start spinning
        loaded, loaded_records = _measure(
            configs, args.quick, rounds, args.epochs, f"{cores} busy processes"
        )
    finally:
        for h in hogs:
            h.kill()
            h.join()
    rows += loaded
    records += loaded_records
    print(
        markdown_table(
            ["config", "machine", "default", "1 thread", "default / 1", "speed-up"], rows
        )
    )
    print(f"\nload average after: {os.getloadavg()}")
    if args.json:
        write_json(args.json, {"header": machine_header(), "results": records})


if __name__ == "__main__":
    main()
