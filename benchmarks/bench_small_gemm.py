"""Small float32 products: the register-tiled loop (fastdense/_small_gemm.pxd) against BLAS.

    python benchmarks/bench_small_gemm.py [--quick] [--rounds R] [--json FILE]

Each row is one product an epoch of ``bench_fit.py``'s T or S config makes per
minibatch, in the estimators' row-major layout (``_kernels.matmul``, forced
to either path), timed as a nogil loop of many products so the Python call
does not count. "estimators use" is the path the estimators take for it
(``_small_gemm.goes_small``): the loop for at most ``SMALL_GEMM_MACS``
multiply-adds (8192), except one column of C under an untransposed A
(BLAS's gemv), BLAS above. The choice is the same in every build (so are
the bits); ``FASTDENSE_SIMD=baseline`` times the portable build's loop.
"""

import time

import numpy as np
from _harness import interleave, machine_header, markdown_table, parser, summarize, write_json

import fastdense
from fastdense import _kernels

# (what, m, n, k, trans_a): C (m, n) = op(A) (m, k) @ B (k, n)
PRODUCTS = [
    ("T forward, layer 1: (32, 10) @ (10, 16)", 32, 16, 10, False),
    ("T forward, output: (32, 16) @ (16, 1)", 32, 1, 16, False),
    ("T dW, output: (32, 16).T @ (32, 1)", 16, 1, 32, True),
    ("T dW, layer 1: (32, 10).T @ (32, 16)", 10, 16, 32, True),
    ("S forward, layer 1: (128, 20) @ (20, 64)", 128, 64, 20, False),
    ("S forward, layer 2: (128, 64) @ (64, 32)", 128, 32, 64, False),
    ("S dW, layer 2: (128, 64).T @ (128, 32)", 64, 32, 128, True),
    ("S dW, layer 1: (128, 20).T @ (128, 64)", 20, 64, 128, True),
    ("M forward, layer 1: (256, 100) @ (100, 256)", 256, 256, 100, False),
]


def per_product(a, b, c, trans_a, path, repeat):
    def run():
        start = time.perf_counter()
        _kernels.matmul(a, b, c, trans_a, False, path, repeat)
        return (time.perf_counter() - start) / repeat

    return run


def main():
    args = parser(__doc__.splitlines()[0]).parse_args()
    rounds = args.rounds or (2 if args.quick else 5)
    products = PRODUCTS[:4] if args.quick else PRODUCTS
    print(machine_header())
    print(f"\nfastdense build: {fastdense.SIMD}; {rounds} interleaved rounds, medians\n")
    rng = np.random.default_rng(0)
    rows, records = [], []
    for what, m, n, k, trans_a in products:
        a = rng.standard_normal((k, m) if trans_a else (m, k)).astype(np.float32)
        b = rng.standard_normal((k, n)).astype(np.float32)
        c = np.empty((m, n), np.float32)
        repeat = max(10, int(2e7 / (m * n * k)) // (20 if args.quick else 1))
        times = interleave(
            {
                "loop": per_product(a, b, c, trans_a, 1, repeat),
                "BLAS": per_product(a, b, c, trans_a, 2, repeat),
            },
            rounds,
            measure=lambda f: f(),
        )
        loop, blas = (summarize(times[p])["median"] for p in ("loop", "BLAS"))
        macs = m * n * k
        chosen = "loop" if _kernels.matmul(a, b, c, trans_a) else "BLAS"
        rows.append(
            [
                what,
                f"{macs:,}",
                f"{loop * 1e6:.3f} µs",
                f"{blas * 1e6:.3f} µs",
                f"{blas / loop:.2f}x",
                chosen,
            ]
        )
        records.append({"product": what, "macs": macs, "loop": loop, "blas": blas})
    print(
        markdown_table(
            [
                "product",
                "multiply-adds",
                "loop",
                "BLAS (sgemm/sgemv)",
                "BLAS / loop",
                "estimators use",
            ],
            rows,
        )
    )
    if args.json:
        write_json(args.json, {"build": fastdense.SIMD, "rounds": rounds, "records": records})


if __name__ == "__main__":
    main()
