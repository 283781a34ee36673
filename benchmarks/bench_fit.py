"""End-to-end training speed: the fastdense estimators vs MLPClassifier/MLPRegressor, PyTorch, NumPy and the GEMM floor.

    python benchmarks/bench_fit.py [--quick] [--configs T,S,M,L,MC,R] [--dtypes float32,float64]
                                   [--epochs N] [--rounds N] [--json FILE] [--plot FILE]

The same comparison as ``fastdense bench``: its logic lives in
``fastdense/_bench.py`` (so that the installed command can run it). Every
competitor trains the same network (ReLU hidden layers, sigmoid output, mean
BCE, Adam lr=1e-3, no L2, shuffled minibatches, a fixed number of epochs, no
early stopping) on the same standardized `make_classification` data; the
table gives seconds per epoch (median of interleaved rounds, min–max), each
one's ratio to DenseBinaryClassifier, and the held-out accuracy each reached.
Config MC is a 10-class problem (DenseClassifier, softmax + cross-entropy,
against MLPClassifier and PyTorch's CrossEntropyLoss) and R a regression
(DenseRegressor against MLPRegressor and PyTorch's MSELoss), scored by R^2.
The GEMM floor runs only the matrix products an epoch needs, through the same
BLAS, on preallocated arrays. ``--plot`` draws ``fastdense.plot.benchmark``.
"""

from _harness import machine_header, parser, write_json
from fastdense._bench import run_fit_benchmark


def main(argv=None):
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--configs", default="T,S,M,L,MC,R")
    p.add_argument("--dtypes", default=None, help="default float32,float64 (--quick: float32)")
    p.add_argument("--epochs", type=int, default=None)
    args = p.parse_args(argv)
    records = run_fit_benchmark(
        args.configs.split(","), args.dtypes.split(",") if args.dtypes else None,
        quick=args.quick, epochs=args.epochs, rounds=args.rounds,
    )
    if args.json:
        write_json(args.json, {"header": machine_header(), "results": records})
    if args.plot:
        from fastdense.plot import benchmark

        benchmark(records).savefig(args.plot, dpi=120)
    return records


if __name__ == "__main__":
    main()
