"""Peak memory added by fit: DenseBinaryClassifier vs MLPClassifier.

    python benchmarks/bench_memory.py [--quick] [--json FILE]
    python benchmarks/bench_memory.py --memmap GB [--json FILE]

1,000,000 x 50 float32 rows (--quick: 100,000), hidden (64, 32), batch 200,
one epoch of Adam. Peak is measured with tracemalloc over the fit call, beyond
the memory held before it (the data itself is not counted).

--memmap GB writes a float32 file of GB gigabytes (rows of 256 features) to a
temporary directory, fits one epoch of DenseBinaryClassifier on a read-only
np.memmap of it, and reports the peak of resident memory that is not file-backed
(psutil: rss - shared, sampled every 5 ms) and the tracemalloc peak, both beyond
what was held before the fit. Page-cache pages of the file are not counted: the
kernel can drop them, which is what makes a file larger than RAM trainable.
"""

import os
import tempfile
import threading
import time
import tracemalloc
import warnings

import numpy as np
from _harness import machine_header, markdown_table, parser, write_json
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier

from fastdense import DenseBinaryClassifier


def memmap_mode(gigabytes, json_path):
    import psutil

    cols = 256
    rows = int(gigabytes * 1e9) // (4 * cols)
    proc = psutil.Process()

    def anon():
        m = proc.memory_info()
        return m.rss - m.shared

    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "X.f32")
        start = time.perf_counter()
        out = np.memmap(path, dtype=np.float32, mode="w+", shape=(rows, cols))
        rng = np.random.default_rng(0)
        for s in range(0, rows, 100_000):
            out[s : s + 100_000] = rng.standard_normal(
                (min(100_000, rows - s), cols), dtype=np.float32
            )
        out.flush()
        del out
        write_s = time.perf_counter() - start
        X = np.memmap(path, dtype=np.float32, mode="r", shape=(rows, cols))
        y = (np.arange(rows) % 3 == 0).astype(np.int64)
        est = DenseBinaryClassifier((16,), max_iter=1, batch_size=256, random_state=0)
        base, peak, done = anon(), [0], threading.Event()

        def sample():
            while not done.is_set():
                peak[0] = max(peak[0], anon() - base)
                done.wait(0.005)

        sampler = threading.Thread(target=sample)
        tracemalloc.start()
        traced_base = tracemalloc.get_traced_memory()[0]
        sampler.start()
        start = time.perf_counter()
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                est.fit(X, y)
        finally:
            done.set()
            sampler.join()
        fit_s = time.perf_counter() - start
        traced = tracemalloc.get_traced_memory()[1] - traced_base
        tracemalloc.stop()
        peak[0] = max(peak[0], anon() - base)
        del X
    print(machine_header())
    print(
        f"\nOne epoch on a read-only np.memmap, {rows:,} x {cols} float32 "
        f"({rows * cols * 4 / 2**30:.2f} GiB file; written in {write_s:.1f} s)\n"
    )
    print(
        markdown_table(
            ["measure", "added by fit", "of the data"],
            [
                [
                    "resident, not file-backed (psutil peak)",
                    f"{peak[0] / 2**20:.1f} MiB",
                    f"{peak[0] / (rows * cols * 4):.1%}",
                ],
                [
                    "allocated (tracemalloc peak)",
                    f"{traced / 2**20:.1f} MiB",
                    f"{traced / (rows * cols * 4):.1%}",
                ],
                ["fit time", f"{fit_s:.1f} s", ""],
            ],
        )
    )
    if json_path:
        write_json(
            json_path,
            {
                "header": machine_header(),
                "rows": rows,
                "cols": cols,
                "rss_added": peak[0],
                "traced_peak": traced,
                "seconds": fit_s,
            },
        )


def main(argv=None):
    p = parser(__doc__.splitlines()[0])
    p.add_argument(
        "--memmap",
        type=float,
        metavar="GB",
        help="fit on a memory-mapped file of GB gigabytes instead",
    )
    args = p.parse_args(argv)
    if args.memmap:
        return memmap_mode(args.memmap, args.json)
    n = 100_000 if args.quick else 1_000_000
    rng = np.random.default_rng(0)
    X = rng.standard_normal((n, 50)).astype(np.float32)
    y = (X[:, 0] - X[:, 1] > 0).astype(np.int64)
    params = dict(hidden_layer_sizes=(64, 32), batch_size=200, max_iter=1, random_state=0)
    print(machine_header())
    print(f"\nPeak memory added by fit, {n:,} x 50 float32 ({X.nbytes / 2**20:.0f} MiB of data)\n")
    rows, records = [], []
    for name, cls in (("fastdense", DenseBinaryClassifier), ("MLPClassifier", MLPClassifier)):
        tracemalloc.start()
        base = tracemalloc.get_traced_memory()[0]
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            cls(**params).fit(X, y)
        elapsed = time.perf_counter() - start
        peak = tracemalloc.get_traced_memory()[1] - base
        tracemalloc.stop()
        rows.append([name, f"{peak / 2**20:.1f} MiB", f"{elapsed:.2f} s"])
        records.append({"competitor": name, "rows": n, "peak_bytes": peak, "seconds": elapsed})
    print(markdown_table(["competitor", "peak added by fit", "fit time (1 epoch, traced)"], rows))
    if args.json:
        write_json(args.json, {"header": machine_header(), "results": records})


if __name__ == "__main__":
    main()
