"""Cost of the layers beyond MLPClassifier in the fused epoch: dropout, batch norm, the new activations.

The same DenseBinaryClassifier fit (Adam, the S and M shapes of bench_fit.py,
a fixed number of epochs, no early stopping) with the plain network and with
each layer option, interleaved over rounds; prints the median seconds per
epoch and each option's ratio to the plain epoch (the goal: batch_norm=True with
dropout=0.2 <= 1.3x).

    python benchmarks/bench_layers.py [--quick] [--configs S,M] [--dtypes float32]
                                      [--rounds N] [--epochs N] [--options A,B] [--json FILE]
"""

import time
import warnings

from _harness import interleave, machine_header, markdown_table, parser, summarize, write_json

from fastdense import DenseBinaryClassifier
from fastdense._bench import CONFIGS, QUICK_SAMPLES, make_data

# name -> the estimator parameters beyond the plain network's
OPTIONS = {
    "plain (relu)": {},
    "dropout=0.2": {"dropout": 0.2},
    "batch_norm": {"batch_norm": True},
    "batch_norm + dropout=0.2": {"batch_norm": True, "dropout": 0.2},
    "gelu": {"activation": "gelu"},
    "silu": {"activation": "silu"},
    "elu": {"activation": "elu"},
    "softplus": {"activation": "softplus"},
    "tanh": {"activation": "tanh"},
    "gelu + dropout=0.2": {"activation": "gelu", "dropout": 0.2},
}


def epoch_seconds(X, y, hidden, batch, dtype, epochs, options):
    def run():
        est = DenseBinaryClassifier(
            hidden,
            batch_size=batch,
            max_iter=epochs,
            tol=0,
            n_iter_no_change=10**9,
            random_state=0,
            dtype=dtype,
            **options,
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            t = time.perf_counter()
            est.fit(X, y)
            return (time.perf_counter() - t) / epochs

    return run


def main():
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--configs", default="S,M")
    p.add_argument("--dtypes", default="float32")
    p.add_argument("--epochs", type=int, default=None)
    p.add_argument(
        "--options",
        default=None,
        help="comma-separated option names (default all; the plain one always runs)",
    )
    args = p.parse_args()
    options = dict(OPTIONS)
    if args.options:
        wanted = set(args.options.split(","))
        options = {k: v for k, v in OPTIONS.items() if k in wanted or not v}
    rounds = args.rounds or (2 if args.quick else 7)
    epochs = args.epochs or (1 if args.quick else 3)
    print(machine_header() + "\n")
    rows, payload = [], []
    for config in args.configs.split(","):
        n, d, hidden, batch = CONFIGS[config]
        if args.quick:
            n = QUICK_SAMPLES[config]
        for dtype in args.dtypes.split(","):
            X, y, _, _ = make_data(n, d, dtype)
            fns = {
                name: epoch_seconds(X, y, hidden, batch, dtype, epochs, opts)
                for name, opts in options.items()
            }

            def measure(fn):
                return fn()

            results = interleave(fns, rounds, measure=measure)
            base = summarize(results["plain (relu)"])["median"]
            for name, times in results.items():
                s = summarize(times)
                rows.append(
                    [
                        f"{config} {n}x{d} {hidden}",
                        dtype,
                        name,
                        f"{s['median'] * 1e3:.2f} ms",
                        f"{s['min'] * 1e3:.2f}-{s['max'] * 1e3:.2f}",
                        f"{s['median'] / base:.2f}x",
                    ]
                )
                payload.append({"config": config, "dtype": dtype, "option": name, **s})
    print(
        markdown_table(["shape", "dtype", "layers", "epoch (median)", "min-max", "vs plain"], rows)
    )
    print(f"\n{rounds} interleaved rounds of {epochs}-epoch fits; ratios from the same run.")
    if args.json:
        write_json(args.json, payload)


if __name__ == "__main__":
    main()
