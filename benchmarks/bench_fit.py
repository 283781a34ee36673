"""End-to-end training speed: DenseBinaryClassifier vs MLPClassifier, PyTorch, NumPy and the GEMM floor.

    python benchmarks/bench_fit.py [--quick] [--configs T,S,M,L] [--dtypes float32,float64]
                                   [--epochs N] [--rounds N] [--json FILE] [--plot FILE]

Every competitor trains the same network (ReLU hidden layers, sigmoid output,
mean BCE, Adam lr=1e-3, no L2, shuffled minibatches, a fixed number of epochs,
no early stopping) on the same standardized `make_classification` data; the
table gives seconds per epoch (median of interleaved rounds, min–max), each
one's ratio to DenseBinaryClassifier, and the held-out accuracy each reached
(to show they did the same work). The GEMM floor runs only the matrix
products an epoch needs, through the same BLAS, on preallocated arrays.
"""

import time
import warnings

import numpy as np
from sklearn.datasets import make_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier
from sklearn.preprocessing import StandardScaler

from _harness import (
    bar_plot, fmt_seconds, machine_header, markdown_table, parser, summarize, write_json,
)
from fastdense import DenseBinaryClassifier, _kernels, _reference

CONFIGS = {  # name: (n_samples, n_features, hidden, batch)
    "T": (5_000, 10, (16,), 32),
    "S": (20_000, 20, (64, 32), 128),
    "M": (50_000, 100, (256, 128), 256),
    "L": (20_000, 512, (1024, 1024), 512),
}
QUICK_SAMPLES = {"T": 1_000, "S": 2_000, "M": 2_000, "L": 1_000}
DEFAULT_EPOCHS = {"T": 5, "S": 3, "M": 2, "L": 1}


def make_data(n_samples, n_features, dtype, seed=0):
    X, y = make_classification(
        n_samples=n_samples + n_samples // 4, n_features=n_features,
        n_informative=max(2, n_features // 2), random_state=seed,
    )
    X = StandardScaler().fit_transform(X).astype(dtype)
    return X[:n_samples], y[:n_samples], X[n_samples:], y[n_samples:]


def sklearn_params(hidden, batch, epochs):
    return dict(
        hidden_layer_sizes=hidden, activation="relu", solver="adam", alpha=0.0,
        batch_size=batch, learning_rate_init=1e-3, max_iter=epochs, shuffle=True,
        tol=0.0, n_iter_no_change=10**9, random_state=0,
    )


def fit_estimator(cls, X, y, Xt, yt, hidden, batch, epochs, **extra):
    clf = cls(**sklearn_params(hidden, batch, epochs), **extra)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        start = time.perf_counter()
        clf.fit(X, y)
        elapsed = time.perf_counter() - start
    return elapsed, float(np.mean(clf.predict(Xt) == yt))


def fit_numpy(X, y, Xt, yt, hidden, batch, epochs):
    start = time.perf_counter()
    params, _ = _reference.train(X, y, hidden, epochs=epochs, batch_size=batch, lr=1e-3)
    elapsed = time.perf_counter() - start
    logits = _reference.forward(params, Xt)[-1][:, 0]
    return elapsed, float(np.mean((logits > 0) == yt))


def fit_torch(torch, X, y, Xt, yt, hidden, batch, epochs, fused):
    torch.manual_seed(0)
    sizes = [X.shape[1], *hidden]
    layers = []
    for n_in, n_out in zip(sizes[:-1], sizes[1:]):
        layers += [torch.nn.Linear(n_in, n_out), torch.nn.ReLU()]
    dtype = torch.float32 if X.dtype == np.float32 else torch.float64
    model = torch.nn.Sequential(*layers, torch.nn.Linear(sizes[-1], 1)).to(dtype)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, fused=fused or None)
    loss_fn = torch.nn.BCEWithLogitsLoss()
    Xt_, yt_ = torch.from_numpy(X), torch.from_numpy(y.astype(X.dtype)).reshape(-1, 1)
    generator = torch.Generator().manual_seed(0)
    start = time.perf_counter()
    for _ in range(epochs):
        order = torch.randperm(X.shape[0], generator=generator)
        for s in range(0, X.shape[0], batch):
            idx = order[s:s + batch]
            opt.zero_grad()
            loss = loss_fn(model(Xt_[idx]), yt_[idx])
            loss.backward()
            opt.step()
    elapsed = time.perf_counter() - start
    with torch.no_grad():
        pred = model(torch.from_numpy(Xt))[:, 0].numpy() > 0
    return elapsed, float(np.mean(pred == yt))


def fit_gemm_floor(X, hidden, batch, epochs):
    """Only the products: per minibatch Z = A @ W.T (every layer), dW = dZ.T @ A
    (every layer) and dA = dZ @ W (every layer but the first)."""
    rng = np.random.default_rng(0)
    sizes = [X.shape[1], *hidden, 1]
    weights = [(rng.standard_normal((o, i)) / np.sqrt(i)).astype(X.dtype)
               for i, o in zip(sizes[:-1], sizes[1:])]
    floor = _kernels.GemmFloor(X, weights, batch)  # buffers allocated here, once
    start = time.perf_counter()
    for _ in range(epochs):
        floor.run_epoch()
    return time.perf_counter() - start, float("nan")


def main(argv=None):
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--configs", default="T,S,M,L")
    p.add_argument("--dtypes", default=None, help="default float32,float64 (--quick: float32)")
    p.add_argument("--epochs", type=int, default=None)
    args = p.parse_args(argv)
    try:
        import torch
    except ImportError:
        torch = None
    rounds = args.rounds or (1 if args.quick else 3)
    dtypes = (args.dtypes or ("float32" if args.quick else "float32,float64")).split(",")
    print(machine_header())
    if torch is not None:
        print(f"PyTorch {torch.__version__}, {torch.get_num_threads()} threads")
    print(f"\nSeconds per training epoch (Adam, ReLU, no L2); medians of {rounds} interleaved "
          "rounds; 'x fastdense' = competitor time / DenseBinaryClassifier time\n")

    rows, records = [], []
    for name in args.configs.split(","):
        n, d, hidden, batch = CONFIGS[name]
        n = QUICK_SAMPLES[name] if args.quick else n
        epochs = args.epochs or (1 if args.quick else DEFAULT_EPOCHS[name])
        for dtype in dtypes:
            X, y, Xt, yt = make_data(n, d, np.dtype(dtype))
            comp = {
                "fastdense": lambda: fit_estimator(DenseBinaryClassifier, X, y, Xt, yt, hidden, batch, epochs),
                "MLPClassifier": lambda: fit_estimator(MLPClassifier, X, y, Xt, yt, hidden, batch, epochs),
                "NumPy reference": lambda: fit_numpy(X, y, Xt, yt, hidden, batch, epochs),
                "GEMM floor": lambda: fit_gemm_floor(X, hidden, batch, epochs),
            }
            if torch is not None:
                comp["PyTorch Adam"] = lambda: fit_torch(torch, X, y, Xt, yt, hidden, batch, epochs, False)
                comp["PyTorch Adam(fused)"] = lambda: fit_torch(torch, X, y, Xt, yt, hidden, batch, epochs, True)
            times = {k: [] for k in comp}
            accuracy = {}
            for _ in range(rounds):  # interleaved: every competitor once per round
                for k, fn in comp.items():
                    elapsed, acc = fn()
                    times[k].append(elapsed / epochs)
                    accuracy[k] = acc
            base = np.median(times["fastdense"])
            for k in comp:
                s = summarize(times[k])
                rows.append([
                    f"{name} {n}x{d} {hidden} b{batch}", dtype, k, fmt_seconds(s["median"]),
                    f"{fmt_seconds(s['min'])}–{fmt_seconds(s['max'])}",
                    f"{s['median'] / base:.2f}x",
                    "—" if np.isnan(accuracy[k]) else f"{accuracy[k]:.3f}",
                ])
                records.append({"config": name, "n_samples": n, "n_features": d,
                                "hidden": list(hidden), "batch": batch, "dtype": dtype,
                                "epochs": epochs, "competitor": k, **s,
                                "ratio_to_fastdense": s["median"] / base,
                                "accuracy": accuracy[k]})
    print(markdown_table(
        ["config", "dtype", "competitor", "s/epoch", "min–max", "x fastdense", "held-out acc."],
        rows,
    ))
    if args.json:
        write_json(args.json, {"header": machine_header(), "results": records})
    if args.plot:
        f32 = [r for r in records if r["dtype"] == dtypes[0]]
        labels = list(dict.fromkeys(r["config"] for r in f32))
        series = {}
        for r in f32:
            series.setdefault(r["competitor"], []).append(r["median"])
        bar_plot(args.plot, labels, series, "seconds per epoch",
                 f"Training time per epoch ({dtypes[0]})")
    return records


if __name__ == "__main__":
    main()
