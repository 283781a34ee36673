"""Which graph for a dense layer in onnxruntime: MatMul + Add or Gemm(transB=1)?

    python benchmarks/bench_onnx_graph.py [--quick] [--rounds N] [--json FILE]

The predict benchmark's network (20 features, hidden (64, 32), one output)
exported by fastdense.onnx.to_onnx both ways, float32 and float64, run in
onnxruntime (1 intra-op thread and the default, spinning off) on 1, 100 and
100,000 rows; medians over interleaved rounds. The faster layout is
fastdense.onnx._graph.DEFAULT_LINEAR.
"""

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
from sklearn.exceptions import ConvergenceWarning

from fastdense import DenseBinaryClassifier


def session(model, threads):
    import onnxruntime as ort

    opts = ort.SessionOptions()
    if threads:
        opts.intra_op_num_threads = threads
    opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return ort.InferenceSession(model.SerializeToString(), opts, providers=["CPUExecutionProvider"])


def main(argv=None):
    args = parser(__doc__.splitlines()[0]).parse_args(argv)
    try:
        import onnxruntime  # noqa: F401

        from fastdense.onnx import to_onnx
    except ImportError:
        print("Skipping: needs onnx and onnxruntime (pip install 'fastdense[onnx]')")
        return
    rounds = args.rounds or (2 if args.quick else 5)
    rng = np.random.default_rng(0)
    X = rng.standard_normal((2000, 20))
    y = (X[:, 0] + 0.5 * X[:, 1] > 0).astype(int)
    print(machine_header())
    rows, records = [], []
    for dtype in (np.float32, np.float64):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            clf = DenseBinaryClassifier(
                (64, 32), max_iter=5, random_state=0, dtype=dtype.__name__
            ).fit(X.astype(dtype), y)
        for n in (1, 100, 10_000 if args.quick else 100_000):
            A = rng.standard_normal((n, 20)).astype(dtype)
            comps = {}
            for threads in (1, None):
                for layout in ("matmul", "gemm"):
                    s = session(to_onnx(clf, layout=layout), threads)
                    comps[(layout, threads)] = lambda s=s: s.run(None, {"X": A})
            times = interleave(
                comps,
                rounds,
                measure=lambda fn: time_call(fn, min_time=0.01 if args.quick else 0.1),
            )
            for (layout, threads), t in times.items():
                other = times[("gemm" if layout == "matmul" else "matmul", threads)]
                s = summarize(t)
                rows.append(
                    [
                        dtype.__name__,
                        n,
                        threads or "default",
                        layout,
                        fmt_seconds(s["median"]),
                        f"{s['median'] / np.median(other):.2f}x",
                    ]
                )
                records.append(
                    {"dtype": dtype.__name__, "rows": n, "threads": threads, "layout": layout, **s}
                )
    print(f"\nonnxruntime run(), hidden (64, 32); medians of {rounds} rounds\n")
    print(markdown_table(["dtype", "rows", "threads", "layout", "latency", "x other layout"], rows))
    if args.json:
        write_json(args.json, {"header": machine_header(), "results": records})


if __name__ == "__main__":
    main()
