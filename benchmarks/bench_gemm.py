"""The packed float32 product (fastdense/_packed_gemm.pxd) against OpenBLAS, on an epoch's products.

    python benchmarks/bench_gemm.py [--quick] [--configs M,L] [--threads N] [--rounds R] [--json FILE]

Each row is one product of a minibatch of ``bench_fit.py``'s M or L config
(float32, the estimators' row-major layout: W stored (n_in, n_out)), run as
the epoch runs it: split into ``_parallel.product_blocks`` blocks, each block
one call (``_kernels.matmul`` path 2: one single-threaded OpenBLAS sgemm per
block; path 3: one packed product per block, packing both of its operands;
path 4: the same with the operand every block uses whole, op(B) when C is
split by rows and op(A) by columns, packed once per product by the threads,
before the blocks), the blocks shared by
``--threads`` threads (default 1: every block in turn on one thread). The
last row of a config is its five products in turn, as one minibatch makes
them. The two paths alternate product by product, round after round, so a
change of the machine's speed (other tenants of the host) falls on both;
medians of the rounds. Run with ``env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE``
(OpenBLAS's kernels for this CPU). The packed product's element sums are
sgemm_small's (the same bits in every build); the sgd/adam epoch runs path 4.
"""

import time

import numpy as np
from _harness import machine_header, markdown_table, parser, write_json

import fastdense
from fastdense import _kernels

# (batch, features, hidden): bench_fit.py's configs
CONFIGS = {"M": (256, 100, (256, 128)), "L": (512, 512, (1024, 1024))}
BLAS, PACKED, SHARED = 2, 3, 4  # _kernels.matmul's paths
PATHS = (BLAS, PACKED, SHARED)


def products(batch, features, hidden, rng):
    """[(what, a, b, c, trans_a, trans_b)]: the products of one minibatch of a two-layer
    network's epoch (the output layer's products are matrix-vector, not here)."""
    h1, h2 = hidden

    def array(*shape):
        return (0.1 * rng.standard_normal(shape)).astype(np.float32)

    x, w1, w2 = array(batch, features), array(features, h1), array(h1, h2)
    a1, z2, dz2, dz1 = array(batch, h1), array(batch, h2), array(batch, h2), array(batch, h1)
    dw1, dw2, da1 = array(features, h1), array(h1, h2), array(batch, h1)
    return [
        (f"forward 1: X ({batch}x{features}) @ W1", x, w1, a1, False, False),
        (f"forward 2: A1 ({batch}x{h1}) @ W2", a1, w2, z2, False, False),
        ("dW2 = A1.T @ dZ2", a1, dz2, dw2, True, False),
        ("dA1 = dZ2 @ W2.T", dz2, w2, da1, False, True),
        ("dW1 = X.T @ dZ1", x, dz1, dw1, True, False),
    ]


def flops(a, c, trans_a):
    return 2.0 * c.shape[0] * c.shape[1] * (a.shape[0] if trans_a else a.shape[1])


def measure(config, rounds, quick):
    batch, features, hidden = CONFIGS[config]
    prods = products(batch, features, hidden, np.random.default_rng(0))
    target = 2e-4 if quick else 3e-3  # seconds per timed call of a product
    repeats = [max(1, int(target * 80e9 / flops(a, c, ta))) for _, a, _, c, ta, _ in prods]
    times = {(i, path): [] for i in range(len(prods) + 1) for path in PATHS}
    for _, a, b, c, ta, tb in prods:  # warm up: first calls, page faults, caches
        for path in PATHS:
            _kernels.matmul(a, b, c, ta, tb, path)
    for _ in range(rounds):
        for i, (_, a, b, c, ta, tb) in enumerate(prods):
            for path in PATHS:
                start = time.perf_counter()
                _kernels.matmul(a, b, c, ta, tb, path, repeats[i])
                times[i, path].append((time.perf_counter() - start) / repeats[i])
        for path in PATHS:  # the minibatch's five products in turn
            start = time.perf_counter()
            for _, a, b, c, ta, tb in prods:
                _kernels.matmul(a, b, c, ta, tb, path)
            times[len(prods), path].append(time.perf_counter() - start)
    rows, records = [], []
    total = sum(flops(a, c, ta) for _, a, _, c, ta, _ in prods)
    for i in range(len(prods) + 1):
        if i < len(prods):
            what, a, _, c, ta, _ = prods[i]
            work, m, n, k = (
                flops(a, c, ta),
                c.shape[0],
                c.shape[1],
                a.shape[0] if ta else a.shape[1],
            )
            blocks = str(_kernels.product_blocks(m, n, k))
        else:
            what, work, blocks = "the five in turn (one minibatch)", total, ""
        blas, pack, shared = (float(np.median(times[i, path])) for path in PATHS)
        rows.append(
            [
                f"{config} {what}",
                blocks,
                f"{work / blas / 1e9:.1f}",
                f"{work / pack / 1e9:.1f} ({blas / pack:.2f}x)",
                f"{work / shared / 1e9:.1f} ({blas / shared:.2f}x)",
            ]
        )
        records.append(
            {
                "config": config,
                "product": what,
                "flops": work,
                "blas": blas,
                "packed": pack,
                "packed_shared_once": shared,
            }
        )
    return rows, records


def main():
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--configs", default="M,L", help="comma-separated: M, L")
    p.add_argument("--threads", type=int, default=1, help="threads sharing a product's blocks")
    args = p.parse_args()
    configs = [c.strip() for c in args.configs.split(",") if c.strip()]
    for c in configs:
        if c not in CONFIGS:
            p.error(f"--configs: unknown config {c!r} (known: {', '.join(CONFIGS)})")
    rounds = args.rounds or (2 if args.quick else 15)
    from threadpoolctl import threadpool_limits

    print(machine_header())
    print(
        f"\nfastdense build: {fastdense.SIMD}; {args.threads} thread(s); {rounds} alternating "
        "rounds, medians; GFLOP/s\n"
    )
    rows, records = [], []
    with threadpool_limits(args.threads, user_api="openmp"):
        for config in configs:
            r, rec = measure(config, rounds, args.quick)
            rows += r
            records += rec
    print(
        markdown_table(
            [
                "product",
                "blocks",
                "OpenBLAS",
                "packed (speed / OpenBLAS)",
                "packed, shared operand once",
            ],
            rows,
        )
    )
    if args.json:
        write_json(
            args.json,
            {
                "build": fastdense.SIMD,
                "threads": args.threads,
                "rounds": rounds,
                "records": records,
            },
        )


if __name__ == "__main__":
    main()
