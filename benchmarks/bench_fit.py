"""End-to-end training speed: the fastdense estimators vs MLPClassifier/MLPRegressor, PyTorch (eager and torch.compile), JAX, NumPy and the GEMM floor.

    python benchmarks/bench_fit.py [--quick] [--configs T,S,M,L,MC,R] [--dtypes float32,float64]
                                   [--epochs N] [--rounds N] [--json FILE] [--plot FILE]
                                   [--no-jax] [--no-compile] [--compile-in-quick]
                                   [--xla-flags FLAGS] [--jax-precision P]
                                   [--jax-gather epoch|batch] [--jax-shuffle host|device]
                                   [--compile-step]

The same comparison as ``fastdense bench`` (its logic lives in
``fastdense/_bench.py``, so that the installed command can run it), plus two
optional compiled competitors from ``_compilers.py``: a whole epoch as one
``jax.jit`` function (``lax.scan`` over the minibatches, ``optax.adam``;
``pip install ".[bench]"``) and ``torch.compile`` of the PyTorch model with
fused Adam; each is left out, with a note, when its package is missing
(``--quick`` leaves torch.compile out unless ``--compile-in-quick``: its
compilation alone takes longer than the rest of the quick run). Every
competitor trains the same network (ReLU hidden layers, sigmoid output, mean
BCE, Adam lr=1e-3, no L2, shuffled minibatches with a partial last one, a
fixed number of epochs, no early stopping) on the same standardized
`make_classification` data; the table gives seconds per epoch (median of
interleaved rounds, min–max), each one's ratio to the fastdense estimator, the
fixed cost of a call ("setup"), the whole call per epoch ("with setup"), the
time to a first trained model (compilation included) and the held-out score.
Config MC is a 10-class problem (DenseClassifier against MLPClassifier,
softmax + cross-entropy) and R a regression (DenseRegressor against
MLPRegressor), scored by R^2. The GEMM floor runs only the matrix products an
epoch needs, through the same BLAS, on preallocated arrays. ``--xla-flags``
sets ``XLA_FLAGS`` for the run (``bench_jax_flags.py`` compares settings);
``--plot`` draws ``fastdense.plot.benchmark``.
"""

import importlib.util
import os
import sys

from _harness import machine_header, parser, write_json

# agreement of the compiled competitors' scores with the eager ones they mirror
SCORE_TOLERANCE = 0.02


def _args(argv):
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--configs", default="T,S,M,L,MC,R")
    p.add_argument("--dtypes", default=None, help="default float32,float64 (--quick: float32)")
    p.add_argument("--epochs", type=int, default=None)
    p.add_argument("--no-jax", action="store_true", help="leave the JAX epoch out")
    p.add_argument("--no-compile", action="store_true", help="leave torch.compile out")
    p.add_argument(
        "--compile-in-quick",
        action="store_true",
        help="with --quick, run torch.compile too (its compilation takes ~10-40 s)",
    )
    p.add_argument("--xla-flags", default=None, help="XLA_FLAGS for the JAX competitor")
    p.add_argument(
        "--jax-precision", default=None, help="jax_default_matmul_precision (e.g. float32, highest)"
    )
    p.add_argument(
        "--jax-gather",
        default="epoch",
        choices=("epoch", "batch"),
        help="permute X once per epoch (default) or gather each minibatch",
    )
    p.add_argument(
        "--jax-shuffle",
        default="host",
        choices=("host", "device"),
        help="the epoch's permutation from NumPy (default) or jax.random",
    )
    p.add_argument(
        "--compile-step",
        action="store_true",
        help="torch.compile the optimizer step too (foreach Adam)",
    )
    return p.parse_args(argv)


def compiled_competitors(args, out=sys.stdout):
    """The `extra` hook of run_fit_benchmark: JAX and torch.compile, when present."""
    use_jax = (
        not args.no_jax
        and importlib.util.find_spec("jax") is not None
        and importlib.util.find_spec("optax") is not None
    )
    use_compile = (
        not args.no_compile
        and importlib.util.find_spec("torch") is not None
        and (not args.quick or args.compile_in_quick)
    )
    if args.no_jax:
        print("Note: JAX left out (--no-jax).", file=out)
    elif not use_jax:
        print(
            'Note: JAX left out: jax and optax are not installed (pip install ".[bench]").',
            file=out,
        )
    if args.no_compile:
        print("Note: torch.compile left out (--no-compile).", file=out)
    elif importlib.util.find_spec("torch") is None:
        print(
            "Note: torch.compile left out: PyTorch is not installed (pip install torch==2.13.0).",
            file=out,
        )
    elif not use_compile:
        print(
            "Note: torch.compile left out of --quick (its compilation takes ~10-40 s; "
            "--compile-in-quick runs it).",
            file=out,
        )
    if use_jax:
        if args.xla_flags is not None:
            os.environ["XLA_FLAGS"] = args.xla_flags  # read when JAX's backend starts
        import jax

        if args.jax_precision:
            jax.config.update("jax_default_matmul_precision", args.jax_precision)
        print(
            f"JAX {jax.__version__} ({jax.devices()[0].platform}), XLA_FLAGS="
            f"{os.environ.get('XLA_FLAGS', '')!r}, matmul precision "
            f"{jax.config.jax_default_matmul_precision or 'default'}, gather per "
            f"{args.jax_gather}, permutation on {args.jax_shuffle}",
            file=out,
        )
    if not (use_jax or use_compile):
        return None
    from _compilers import jax_competitor, torch_compile_competitor

    def extra(X, y, Xt, yt, hidden, batch, task, dtype):
        found = []
        if use_jax:
            fit, reset = jax_competitor(
                X, y, Xt, yt, hidden, batch, task, gather=args.jax_gather, shuffle=args.jax_shuffle
            )
            found.append(("JAX jit+scan", fit, reset))
        if use_compile:
            import torch

            fit, reset = torch_compile_competitor(
                torch, X, y, Xt, yt, hidden, batch, task, compile_step=args.compile_step
            )
            found.append(("torch.compile" + (" +step" if args.compile_step else ""), fit, reset))
        return found

    return extra


def check_scores(records, out=sys.stdout):
    """Each compiled competitor against the eager one it mirrors (JAX: fastdense, same
    initial distribution and loss; torch.compile: eager PyTorch, same seed): their
    held-out scores must agree, or the timings compare different work."""
    mirror = {
        "JAX jit+scan": "fastdense",
        "torch.compile": "PyTorch Adam(fused)",
        "torch.compile +step": "PyTorch Adam",
    }
    scores = {(r["config"], r["dtype"], r["competitor"]): r["accuracy"] for r in records}
    bad = []
    for (config, dtype, name), score in scores.items():
        ref = scores.get((config, dtype, mirror.get(name, "")))
        if ref is not None and abs(score - ref) > SCORE_TOLERANCE:
            bad.append(f"{config} {dtype} {name}: {score:.3f} vs {mirror[name]} {ref:.3f}")
    if bad:
        print(f"\nScores that differ by more than {SCORE_TOLERANCE}: " + "; ".join(bad), file=out)
    else:
        checked = sorted(
            {
                f"{name} with {mirror[name]}"
                for (c, d, name) in scores
                if name in mirror and (c, d, mirror[name]) in scores
            }
        )
        if checked:
            print(
                f"\nScores agree within {SCORE_TOLERANCE} on every config: "
                + "; ".join(checked)
                + ".",
                file=out,
            )
    return bad


# the open targets: competitor time / fastdense time per epoch (float32), at least
# (issue 23: our own threads; issue 16: torch.compile). For the GEMM floor the
# target is the other way round: fastdense time / floor time, at most.
TARGETS = {
    ("JAX jit+scan", "T"): (2.5, "23"),
    ("JAX jit+scan", "S"): (1.8, "23"),
    ("JAX jit+scan", "M"): (1.5, "23"),
    ("JAX jit+scan", "L"): (1.05, "23"),
    ("PyTorch Adam(fused)", "M"): (2.2, "23"),
    ("PyTorch Adam(fused)", "L"): (1.2, "23"),
    ("GEMM floor", "S"): (0.8, "23"),
    ("GEMM floor", "M"): (1.0, "23"),
    ("GEMM floor", "L"): (1.0, "23"),
    ("torch.compile", "T"): (5.0, "16"),
    ("torch.compile", "S"): (5.0, "16"),
}
SUMMARY = [
    "scikit-learn",
    "PyTorch Adam(fused)",
    "torch.compile",
    "torch.compile +step",
    "JAX jit+scan",
    "NumPy reference",
    "GEMM floor",
]
SKLEARN = ("MLPClassifier", "MLPRegressor")  # the summary's "scikit-learn" column


def _ratio(x):
    return f"{x:.2f}" if x < 10 else f"{x:.1f}" if x < 100 else f"{x:.0f}"


def summary(records, dtype="float32", out=sys.stdout):
    """One row per config: each competitor's seconds per epoch and its ratio to fastdense
    (for the GEMM floor, fastdense's ratio to it), then the time to a first model;
    then the open issues' targets (TARGETS), met or missed."""
    from fastdense._bench import fmt_seconds, markdown_table

    chosen = [r for r in records if r["dtype"] == dtype]
    configs = list(dict.fromkeys(r["config"] for r in chosen))
    present = {"scikit-learn" if r["competitor"] in SKLEARN else r["competitor"] for r in chosen}
    names = [k for k in SUMMARY if k in present]
    by = {
        (r["config"], "scikit-learn" if r["competitor"] in SKLEARN else r["competitor"]): r
        for r in chosen
    }
    rows, first = [], []
    for c in configs:
        fd = by[(c, "fastdense")]
        label = f"{c} {fd['n_samples']:,}×{fd['n_features']}, {tuple(fd['hidden'])}, batch {fd['batch']}"
        row, frow = [label, fmt_seconds(fd["median"])], [label, fmt_seconds(fd["to_model_seconds"])]
        for k in names:
            r = by.get((c, k))
            if r is None:
                row.append("—")
                frow.append("—")
            elif k == "GEMM floor":
                row.append(
                    f"{fmt_seconds(r['median'])} (fastdense = {fd['median'] / r['median']:.2f}×)"
                )
            else:
                row.append(f"{fmt_seconds(r['median'])} ({_ratio(r['ratio_to_fastdense'])}×)")
            if r is not None and k != "GEMM floor":
                frow.append(fmt_seconds(r["to_model_seconds"]))
        rows.append(row)
        first.append(frow)
    print(f"\nSummary, {dtype}: seconds per epoch (× = competitor / fastdense)", file=out)
    print(markdown_table(["config", "fastdense", *names], rows), file=out)
    print(
        f"\nTime to a first trained model ({dtype}; 1 + E epochs; compilation included)", file=out
    )
    print(
        markdown_table(["config", "fastdense", *[k for k in names if k != "GEMM floor"]], first),
        file=out,
    )
    target_rows = []
    for (k, c), (goal, issue) in TARGETS.items():
        r, fd = by.get((c, k)), by.get((c, "fastdense"))
        if r is None or fd is None:
            continue
        if k == "GEMM floor":  # fastdense's time over the floor's, at most
            ratio = fd["median"] / r["median"]
            with_setup = fd["with_setup"] / r["with_setup"]
            text, met = f"fastdense ≤ {goal}× the {k} on {c}", ratio <= goal
            miss = ratio / goal
        else:
            ratio = r["ratio_to_fastdense"]
            with_setup = r["with_setup"] / fd["with_setup"]
            text, met = f"fastdense ≥ {goal}× {k} on {c}", ratio >= goal
            miss = goal / ratio
        target_rows.append(
            [
                issue,
                text,
                f"{ratio:.2f}×",
                f"{with_setup:.2f}×",
                "met" if met else f"missed by {miss:.2f}×",
            ]
        )
    if target_rows:
        print(
            f"\nTargets of the open issues ({dtype}; per epoch, and per epoch of the whole "
            "call with set-up)",
            file=out,
        )
        print(
            markdown_table(["issue", "target", "per epoch", "with setup", ""], target_rows),
            file=out,
        )


def main(argv=None):
    args = _args(argv)
    extra = compiled_competitors(args)
    from fastdense._bench import run_fit_benchmark

    records = run_fit_benchmark(
        args.configs.split(","),
        args.dtypes.split(",") if args.dtypes else None,
        quick=args.quick,
        epochs=args.epochs,
        rounds=args.rounds,
        extra=extra,
    )
    check_scores(records)
    for dtype in dict.fromkeys(r["dtype"] for r in records):
        summary(records, dtype)
    if args.json:
        write_json(args.json, {"header": machine_header(), "results": records})
    if args.plot:
        from fastdense.plot import benchmark

        benchmark(records).savefig(args.plot, dpi=120)
    return records


if __name__ == "__main__":
    main()
