"""One dense layer, forward and forward+backward: fastdense kernels vs the NumPy reference.

    python benchmarks/bench_kernels.py [--quick] [--json FILE] [--plot FILE]

A square layer (width -> width, ReLU) over a grid of batch sizes and widths,
float32 and float64, competitors interleaved in one process. "GEMMs only" is
the floor: the same matrix products (1 forward; 3 with the backward) through
fastdense's BLAS on preallocated arrays, and nothing else.
"""

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

from fastdense import _kernels, _reference, kernels


def layer_step(impl, X, W, b, dA, backward):
    A = impl.dense_forward(X, W, b, "relu")
    if backward:
        impl.dense_backward(dA, X, W, A, "relu")


def main(argv=None):
    args = parser(__doc__.splitlines()[0]).parse_args(argv)
    batches = [1, 128, 1024] if args.quick else [1, 16, 128, 1024]
    widths = [8, 64, 512] if args.quick else [8, 64, 512, 2048]
    rounds = args.rounds or (2 if args.quick else 5)
    rng = np.random.default_rng(0)
    print(machine_header())
    print(f"\nReLU layer width -> width; medians of {rounds} interleaved rounds\n")
    rows, records = [], []
    for dtype in (np.float32, np.float64):
        for pass_name, backward in (("forward", False), ("forward+backward", True)):
            for m in batches:
                for n in widths:
                    X = rng.standard_normal((m, n)).astype(dtype)
                    W = (rng.standard_normal((n, n)) / np.sqrt(n)).astype(dtype)
                    b = rng.standard_normal(n).astype(dtype)
                    dA = rng.standard_normal((m, n)).astype(dtype)
                    floor = _kernels.GemmFloor(X, [W], m, backward=backward, input_grad=True)
                    times = interleave(
                        {
                            "numpy": lambda: layer_step(_reference, X, W, b, dA, backward),
                            "fastdense": lambda: layer_step(kernels, X, W, b, dA, backward),
                            "gemms": floor.run_epoch,
                        },
                        rounds,
                        measure=lambda fn: time_call(fn, min_time=0.01 if args.quick else 0.05),
                    )
                    fast, ref = summarize(times["fastdense"]), summarize(times["numpy"])
                    gemms = summarize(times["gemms"])
                    ratio = ref["median"] / fast["median"]
                    rows.append(
                        [
                            np.dtype(dtype).name,
                            pass_name,
                            m,
                            n,
                            fmt_seconds(ref["median"]),
                            fmt_seconds(fast["median"]),
                            f"{fmt_seconds(fast['min'])}–{fmt_seconds(fast['max'])}",
                            f"{ratio:.2f}x",
                            fmt_seconds(gemms["median"]),
                            f"{ref['median'] / gemms['median']:.2f}x",
                        ]
                    )
                    records.append(
                        {
                            "dtype": np.dtype(dtype).name,
                            "pass": pass_name,
                            "batch": m,
                            "width": n,
                            "numpy": ref,
                            "fastdense": fast,
                            "gemms": gemms,
                            "speedup": ratio,
                        }
                    )
    print(
        markdown_table(
            [
                "dtype",
                "pass",
                "batch",
                "width",
                "NumPy",
                "fastdense",
                "fastdense min–max",
                "speed-up",
                "GEMMs only",
                "NumPy / GEMMs",
            ],
            rows,
        )
    )
    small = [
        r["speedup"]
        for r in records
        if r["pass"] == "forward+backward" and r["batch"] <= 128 and r["width"] <= 64
    ]
    print(
        f"\nSummary: forward+backward speed-up over NumPy, batch <= 128 and width <= 64: "
        f"min {min(small):.2f}x; whole grid: min {min(r['speedup'] for r in records):.2f}x, "
        f"median {np.median([r['speedup'] for r in records]):.2f}x"
    )
    if args.json:
        write_json(args.json, {"header": machine_header(), "results": records})
    if args.plot:
        fb = [r for r in records if r["pass"] == "forward+backward" and r["dtype"] == "float32"]
        bar_plot(
            args.plot,
            [f"{r['batch']}x{r['width']}" for r in fb],
            {
                "NumPy": [r["numpy"]["median"] for r in fb],
                "fastdense": [r["fastdense"]["median"] for r in fb],
            },
            "seconds per call",
            "ReLU layer forward+backward, float32",
        )


if __name__ == "__main__":
    main()
