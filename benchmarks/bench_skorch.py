"""Training speed per epoch: the fastdense estimator vs skorch's NeuralNetClassifier on the same network.

    python benchmarks/bench_skorch.py [--quick] [--configs S,M] [--epochs N] [--rounds N]
                                      [--skorch-class classifier|binary]
                                      [--dropout P] [--batch-norm] [--torch-threads N]
                                      [--json FILE]

skorch wraps a PyTorch module in a scikit-learn estimator; it is what
scikit-learn's maintainers point MLP users to for the features the MLP will
not get. Both sides train the same network on the same standardized data of
``bench_fit.py``'s configs (``fastdense._bench``: shapes, data, Adam lr=1e-3,
batch size, no L2, shuffled minibatches, float32, a fixed number of epochs, no
early stopping, no validation split): ReLU hidden layers and a logistic output
(fastdense: one logit and the binary log loss; skorch's NeuralNetClassifier:
two logits and ``CrossEntropyLoss``, as its users write a classifier, or with
``--skorch-class binary`` its NeuralNetBinaryClassifier: one logit and
``BCEWithLogitsLoss``, the very same network). ``--dropout`` and
``--batch-norm`` add ``Dropout`` after / ``BatchNorm1d`` before each hidden
activation on the skorch side and pass ``dropout=`` / ``batch_norm=`` to the
fastdense estimator -- only if the estimator takes those parameters;
otherwise the run says so and stops.

Seconds per epoch are marginal ((time of a 1 + E epoch fit - time of a 1
epoch fit) / E: set-up costs cancel), medians of interleaved rounds with a
pause between competitors; 'with setup' is the whole (1 + E)-epoch call per
epoch. skorch keeps its default callbacks (epoch timer, train loss, the
silent print log): the cost its users pay. When skorch or PyTorch is not
installed the script says so and exits 0 (CI runs every benchmark with
``--quick`` and installs neither). Install skorch without touching PyTorch::

    pip install --no-deps skorch && pip install tabulate tqdm
"""

import importlib.util
import sys
import time
import warnings

import numpy as np
from _harness import machine_header, markdown_table, parser, write_json

# issue 22's targets: skorch time / fastdense time per epoch (float32), at least
TARGETS = {"S": 10.0, "M": 2.0}


def _args(argv):
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--configs", default="S,M")
    p.add_argument("--epochs", type=int, default=None)
    p.add_argument(
        "--skorch-class",
        choices=("classifier", "binary"),
        default="classifier",
        help="NeuralNetClassifier (2 logits, CrossEntropyLoss; default) or "
        "NeuralNetBinaryClassifier (1 logit, BCEWithLogitsLoss)",
    )
    p.add_argument("--dropout", type=float, default=0.0)
    p.add_argument("--batch-norm", action="store_true")
    p.add_argument(
        "--torch-threads",
        type=int,
        default=None,
        help="torch.set_num_threads for skorch (default: PyTorch's own choice)",
    )
    return p.parse_args(argv)


def skorch_module(torch, n_features, hidden, n_out, dropout, batch_norm):
    """Linear [+ BatchNorm1d] + ReLU [+ Dropout] per hidden layer, then a Linear output."""
    layers, width = [], n_features
    for units in hidden:
        layers.append(torch.nn.Linear(width, units))
        if batch_norm:
            layers.append(torch.nn.BatchNorm1d(units))
        layers.append(torch.nn.ReLU())
        if dropout:
            layers.append(torch.nn.Dropout(dropout))
        width = units
    layers.append(torch.nn.Linear(width, n_out))
    return torch.nn.Sequential(*layers)


def fit_skorch(torch, skorch, kind, X, y, Xt, yt, hidden, batch, epochs, dropout, batch_norm):
    """One skorch fit of `epochs` epochs: (seconds, held-out accuracy)."""
    torch.manual_seed(0)
    binary = kind == "binary"
    module = skorch_module(torch, X.shape[1], hidden, 1 if binary else 2, dropout, batch_norm)
    common = dict(
        max_epochs=epochs,
        lr=1e-3,
        optimizer=torch.optim.Adam,
        batch_size=batch,
        train_split=None,
        iterator_train__shuffle=True,
        device="cpu",
        verbose=0,
    )
    if binary:
        net = skorch.NeuralNetBinaryClassifier(module, **common)
        target = y.astype(np.float32)
    else:
        net = skorch.NeuralNetClassifier(module, criterion=torch.nn.CrossEntropyLoss, **common)
        target = y.astype(np.int64)
    start = time.perf_counter()
    net.fit(X, target)
    elapsed = time.perf_counter() - start
    return elapsed, float(np.mean(net.predict(Xt) == yt))


def fit_fastdense(cls, X, y, Xt, yt, hidden, batch, epochs, extra):
    from sklearn.exceptions import ConvergenceWarning

    from fastdense._bench import sklearn_params

    est = cls(**sklearn_params(hidden, batch, epochs), **extra)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        start = time.perf_counter()
        est.fit(X, y)
        elapsed = time.perf_counter() - start
    return elapsed, float(est.score(Xt, yt))


def main(argv=None):
    args = _args(argv)
    missing = [m for m in ("torch", "skorch") if importlib.util.find_spec(m) is None]
    if missing:
        print(
            f"skorch not installed, skipped ({' and '.join(missing)} missing: "
            "pip install --no-deps skorch && pip install tabulate tqdm, with "
            "torch==2.13.0 installed)"
        )
        return 0
    import skorch
    import torch

    if args.torch_threads:
        torch.set_num_threads(args.torch_threads)
    from fastdense import DenseBinaryClassifier
    from fastdense._bench import (
        CONFIGS,
        DEFAULT_EPOCHS,
        QUICK_SAMPLES,
        fmt_seconds,
        make_data,
        summarize,
    )

    extra = {}
    if args.dropout:
        extra["dropout"] = args.dropout
    if args.batch_norm:
        extra["batch_norm"] = True
    accepted = DenseBinaryClassifier().get_params()
    absent = [k for k in extra if k not in accepted]
    if absent:
        print(
            f"fastdense's DenseBinaryClassifier has no {', '.join(absent)} parameter in "
            "this build: nothing to compare, skipped"
        )
        return 0
    configs = [c.strip() for c in args.configs.split(",") if c.strip()]
    unknown = [c for c in configs if c not in CONFIGS]
    if unknown:
        raise SystemExit(f"unknown config(s) {unknown}; choose from {list(CONFIGS)}")
    rounds = args.rounds or (1 if args.quick else 3)

    print(machine_header())
    print(
        f"PyTorch {torch.__version__} ({torch.get_num_threads()} threads), skorch "
        f"{skorch.__version__}; skorch {args.skorch_class}; network extras: "
        f"{extra or 'none'}"
    )
    print(
        f"\nSeconds per training epoch, float32, marginal ((1 + E) - 1 epochs) / E; "
        f"medians of {rounds} interleaved rounds; 'x fastdense' = time / fastdense's; "
        "'with setup' = the whole (1 + E)-epoch call / (1 + E); score = held-out accuracy\n"
    )
    rows, records, target_rows = [], [], []
    for name in configs:
        n, d, hidden, batch = CONFIGS[name]
        n = QUICK_SAMPLES[name] if args.quick else n
        epochs = args.epochs or (2 if args.quick else DEFAULT_EPOCHS[name])
        X, y, Xt, yt = make_data(n, d, np.float32)
        comp = {
            "fastdense": lambda e: fit_fastdense(
                DenseBinaryClassifier, X, y, Xt, yt, hidden, batch, e, extra
            ),
            f"skorch {args.skorch_class}": lambda e: fit_skorch(
                torch,
                skorch,
                args.skorch_class,
                X,
                y,
                Xt,
                yt,
                hidden,
                batch,
                e,
                args.dropout,
                args.batch_norm,
            ),
        }
        for fn in comp.values():  # warm up: imports, first-call paths, allocators
            fn(1)
        per_epoch = {k: [] for k in comp}
        whole = {k: [] for k in comp}
        score = {}
        for _ in range(rounds):  # interleaved: each competitor once per round
            for k, fn in comp.items():
                time.sleep(0.1)  # the previous competitor's thread pools go idle first
                short, _ = fn(1)
                time.sleep(0.1)
                long, score[k] = fn(1 + epochs)
                epoch = (long - short) / epochs
                per_epoch[k].append(epoch if epoch > 0 else long / (1 + epochs))
                whole[k].append(long / (1 + epochs))
        base = float(np.median(per_epoch["fastdense"]))
        print(
            f"{name} done: "
            + ", ".join(  # progress, before the table (slow runs)
                f"{k} {fmt_seconds(float(np.median(v)))}/epoch" for k, v in per_epoch.items()
            ),
            flush=True,
        )
        for k in comp:
            s = summarize(per_epoch[k])
            ratio = s["median"] / base
            rows.append(
                [
                    f"{name} {n:,}×{d}, {hidden}, batch {batch}",
                    k,
                    fmt_seconds(s["median"]),
                    f"{fmt_seconds(s['min'])}–{fmt_seconds(s['max'])}",
                    f"{ratio:.2f}×",
                    fmt_seconds(float(np.median(whole[k]))),
                    f"{score[k]:.3f}",
                ]
            )
            records.append(
                {
                    "config": name,
                    "n_samples": n,
                    "n_features": d,
                    "hidden": list(hidden),
                    "batch": batch,
                    "epochs": epochs,
                    "competitor": k,
                    **s,
                    "ratio_to_fastdense": ratio,
                    "with_setup": float(np.median(whole[k])),
                    "accuracy": score[k],
                    "extras": extra,
                }
            )
            if k != "fastdense" and name in TARGETS:
                goal = TARGETS[name]
                target_rows.append(
                    [
                        f"fastdense ≥ {goal:g}× skorch on {name}",
                        f"{ratio:.2f}×",
                        "met" if ratio >= goal else f"missed by {goal / ratio:.2f}×",
                    ]
                )
    print(
        markdown_table(
            ["config", "competitor", "s/epoch", "min–max", "x fastdense", "with setup", "score"],
            rows,
        )
    )
    if target_rows:
        print(
            f"\nIssue 22's targets (per epoch{', --quick: small data, indicative only' if args.quick else ''})"
        )
        print(markdown_table(["target", "measured", ""], target_rows))
    if args.json:
        write_json(args.json, {"records": records})
    return 0


if __name__ == "__main__":
    sys.exit(main())
