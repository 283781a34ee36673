"""Peak memory added by fit: DenseBinaryClassifier vs MLPClassifier.

    python benchmarks/bench_memory.py [--quick] [--json FILE]

1,000,000 x 50 float32 rows (--quick: 100,000), hidden (64, 32), batch 200,
one epoch of Adam. Peak is measured with tracemalloc over the fit call, beyond
the memory held before it (the data itself is not counted).
"""

import time
import tracemalloc
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier

from _harness import machine_header, markdown_table, parser, write_json
from fastdense import DenseBinaryClassifier


def main(argv=None):
    args = parser(__doc__.splitlines()[0]).parse_args(argv)
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
