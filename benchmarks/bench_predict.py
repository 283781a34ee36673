"""predict_proba latency and memory: DenseBinaryClassifier vs MLPClassifier, PyTorch, onnxruntime.

    python benchmarks/bench_predict.py [--quick] [--rounds N] [--json FILE] [--plot FILE]

A fitted network (20 features, hidden (64, 32), float32) predicts 1, 100 and
100,000 rows; latency is the median over interleaved rounds. Peak memory of
predicting 1,000,000 rows is measured with tracemalloc (NumPy's allocations;
PyTorch's allocator does not report to tracemalloc, so it has no memory figure).
With onnx and onnxruntime installed, the model exported by fastdense.onnx.to_onnx
runs in onnxruntime's Python ``run`` (the ``probabilities`` output), with 1
intra-op thread and with the default, thread spinning off in both.
"""

import tracemalloc
import warnings

import numpy as np
from _harness import (
    bar_plot,
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
from sklearn.neural_network import MLPClassifier

from fastdense import DenseBinaryClassifier


def peak_bytes(fn):
    tracemalloc.start()
    tracemalloc.reset_peak()
    base = tracemalloc.get_traced_memory()[0]
    fn()
    peak = tracemalloc.get_traced_memory()[1] - base
    tracemalloc.stop()
    return peak


def onnxruntime_competitors(clf):
    """onnxruntime sessions of clf's ONNX export: 1 intra-op thread and the default."""
    try:
        import onnxruntime as ort

        from fastdense.onnx import to_onnx
    except ImportError:
        return {}
    data = to_onnx(clf).SerializeToString()
    out = {}
    for threads in (1, None):
        opts = ort.SessionOptions()
        if threads:
            opts.intra_op_num_threads = threads
        opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
        s = ort.InferenceSession(data, opts, providers=["CPUExecutionProvider"])
        name = f"onnxruntime ({'1 thread' if threads else 'default threads'})"
        out[name] = lambda A, s=s: s.run(["probabilities"], {"X": A})[0]
    return out


def main(argv=None):
    args = parser(__doc__.splitlines()[0]).parse_args(argv)
    rounds = args.rounds or (2 if args.quick else 7)
    rng = np.random.default_rng(0)
    n_features, hidden = 20, (64, 32)
    X = rng.standard_normal((2000, n_features)).astype(np.float32)
    y = (X[:, 0] + 0.5 * X[:, 1] > 0).astype(int)
    params = dict(hidden_layer_sizes=hidden, max_iter=5, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        fast = DenseBinaryClassifier(**params).fit(X, y)
        mlp = MLPClassifier(**params).fit(X, y)
    competitors = {"fastdense": fast.predict_proba, "MLPClassifier": mlp.predict_proba}
    try:
        import torch

        model = torch.nn.Sequential(
            torch.nn.Linear(n_features, 64),
            torch.nn.ReLU(),
            torch.nn.Linear(64, 32),
            torch.nn.ReLU(),
            torch.nn.Linear(32, 1),
        )

        def torch_proba(A):
            with torch.no_grad():
                p = torch.sigmoid(model(torch.from_numpy(A)))
            return torch.cat([1 - p, p], dim=1).numpy()

        competitors["PyTorch (no_grad)"] = torch_proba
    except ImportError:
        pass

    competitors.update(onnxruntime_competitors(fast))

    print(machine_header())
    print(f"\npredict_proba, 20 features, hidden (64, 32), float32; medians of {rounds} rounds\n")
    sizes = [1, 100, 10_000 if args.quick else 100_000]
    rows, records = [], []
    for n in sizes:
        A = rng.standard_normal((n, n_features)).astype(np.float32)
        times = interleave(
            {k: (lambda f=f: f(A)) for k, f in competitors.items()},
            rounds,
            measure=lambda fn: time_call(fn, min_time=0.01 if args.quick else 0.1),
        )
        base = np.median(times["fastdense"])
        for k in competitors:
            s = summarize(times[k])
            rows.append(
                [
                    n,
                    k,
                    fmt_seconds(s["median"]),
                    f"{fmt_seconds(s['min'])}–{fmt_seconds(s['max'])}",
                    f"{s['median'] / base:.2f}x",
                ]
            )
            records.append(
                {"rows": n, "competitor": k, **s, "ratio_to_fastdense": s["median"] / base}
            )
    print(markdown_table(["rows", "competitor", "latency", "min–max", "x fastdense"], rows))

    n_big = 100_000 if args.quick else 1_000_000
    A = rng.standard_normal((n_big, n_features)).astype(np.float32)
    mem_rows = []
    for k in ("fastdense", "MLPClassifier"):
        peak = peak_bytes(lambda: competitors[k](A))
        out = n_big * 2 * np.dtype(np.float64 if k == "MLPClassifier" else np.float32).itemsize
        mem_rows.append([k, n_big, f"{peak / 2**20:.1f} MiB", f"{(peak - out) / 2**20:.1f} MiB"])
        records.append({"memory_rows": n_big, "competitor": k, "peak_bytes": peak})
    print(f"\nPeak memory of predict_proba on {n_big:,} rows (tracemalloc)\n")
    print(markdown_table(["competitor", "rows", "peak", "peak beyond the (n, 2) output"], mem_rows))
    if args.json:
        write_json(args.json, {"header": machine_header(), "results": records})
    if args.plot:
        series = {}
        for r in records:
            if "rows" in r:
                series.setdefault(r["competitor"], []).append(r["median"])
        bar_plot(args.plot, [str(n) for n in sizes], series, "seconds", "predict_proba latency")


if __name__ == "__main__":
    main()
