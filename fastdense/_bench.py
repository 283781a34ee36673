"""The fit benchmark behind ``fastdense bench`` and ``benchmarks/bench_fit.py``.

Every competitor trains the same network (ReLU hidden layers, sigmoid output,
mean BCE, Adam lr=1e-3, no L2, shuffled minibatches, a fixed number of epochs,
no early stopping) on the same standardized ``make_classification`` data,
interleaved round by round; the table gives seconds per epoch (median of the
rounds, min–max), each one's ratio to DenseBinaryClassifier and the held-out
accuracy each reached (to show they did the same work). Seconds per epoch are
marginal: each round times a 1-epoch run and a (1 + E)-epoch run of every
competitor and divides the difference by E, so the fixed cost of a call
(input validation, initialisation, model building) is reported apart, as
"setup", instead of inflating the per-epoch time of short runs. The GEMM floor runs
only the matrix products an epoch needs, through the same BLAS, on
preallocated arrays. It lives in the package (not only under benchmarks/) so
that the installed ``fastdense bench`` command can run it.
"""

from __future__ import annotations

import os
import platform
import time
import warnings
from typing import Any, Callable, Dict, List, Optional, Sequence, TextIO, Tuple

import numpy as np

CONFIGS: Dict[str, Tuple[int, int, Tuple[int, ...], int]] = {
    # name: (n_samples, n_features, hidden, batch)
    "T": (5_000, 10, (16,), 32),
    "S": (20_000, 20, (64, 32), 128),
    "M": (50_000, 100, (256, 128), 256),
    "L": (20_000, 512, (1024, 1024), 512),
    "MC": (50_000, 100, (256, 128), 256),  # 10 classes: DenseClassifier vs MLPClassifier
    "R": (50_000, 100, (256, 128), 256),  # regression: DenseRegressor vs MLPRegressor
}
# the target of each config (binary unless named): (kind, outputs of the network)
TASKS: Dict[str, Tuple[str, int]] = {"MC": ("multiclass", 10), "R": ("regression", 1)}
QUICK_SAMPLES = {"T": 1_000, "S": 2_000, "M": 2_000, "L": 1_000, "MC": 2_000, "R": 2_000}
DEFAULT_EPOCHS = {"T": 20, "S": 5, "M": 2, "L": 1, "MC": 2, "R": 2}

__all__ = [
    "CONFIGS",
    "run_fit_benchmark",
    "machine_header",
    "markdown_table",
    "fmt_seconds",
    "summarize",
]


def _blas_owner(filepath: str) -> str:
    """'NumPy's ' / 'SciPy's (fastdense's) ' for the wheels' bundled BLAS, else ''."""
    parts = os.path.normpath(filepath).split(os.sep)
    if "numpy.libs" in parts:
        return "NumPy's "
    if "scipy.libs" in parts:
        return "SciPy's (fastdense's) "
    return ""


def machine_header() -> str:
    """One Markdown paragraph: CPU, cores, Python, NumPy, and every BLAS with its threads."""
    from threadpoolctl import threadpool_info

    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    blas = "; ".join(
        f"{_blas_owner(i.get('filepath', ''))}{i['internal_api']} {i.get('version')} "
        f"({i['prefix']}, {i['num_threads']} threads"
        f"{', ' + i['architecture'] if i.get('architecture') else ''})"
        for i in threadpool_info()
        if i["user_api"] == "blas"
    )
    return (
        f"Machine: {cpu}, {os.cpu_count()} cores; Python {platform.python_version()}, "
        f"NumPy {np.__version__}; BLAS: {blas or 'unknown'}"
    )


def summarize(times: Sequence[float]) -> Dict[str, float]:
    """Median, min and max of a list of timings."""
    arr = np.asarray(times)
    return {"median": float(np.median(arr)), "min": float(arr.min()), "max": float(arr.max())}


def fmt_seconds(s: float) -> str:
    """Seconds with a readable unit (s, ms, µs)."""
    if s >= 1:
        return f"{s:.3f} s"
    if s >= 1e-3:
        return f"{s * 1e3:.3f} ms"
    return f"{s * 1e6:.1f} µs"


def markdown_table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A Markdown table."""
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def make_data(
    n_samples: int,
    n_features: int,
    dtype: Any,
    seed: int = 0,
    task: Tuple[str, int] = ("binary", 1),
):
    """Standardized make_classification (or make_regression) data: (X, y, X_test, y_test)."""
    from sklearn.datasets import make_classification, make_regression
    from sklearn.preprocessing import StandardScaler

    total = n_samples + n_samples // 4
    if task[0] == "regression":
        X, y = make_regression(
            n_samples=total,
            n_features=n_features,
            n_informative=max(2, n_features // 2),
            noise=1.0,
            random_state=seed,
        )
        y = (y - y.mean()) / y.std()
    else:
        X, y = make_classification(
            n_samples=total,
            n_features=n_features,
            n_informative=max(2, n_features // 2),
            n_classes=2 if task[0] == "binary" else task[1],
            random_state=seed,
        )
    X = StandardScaler().fit_transform(X).astype(dtype)
    return X[:n_samples], y[:n_samples], X[n_samples:], y[n_samples:]


def sklearn_params(hidden, batch, epochs) -> Dict[str, Any]:
    """MLPClassifier parameters for exactly `epochs` Adam epochs (no early stop)."""
    return dict(
        hidden_layer_sizes=hidden,
        activation="relu",
        solver="adam",
        alpha=0.0,
        batch_size=batch,
        learning_rate_init=1e-3,
        max_iter=epochs,
        shuffle=True,
        tol=0.0,
        n_iter_no_change=10**9,
        random_state=0,
    )


def fit_estimator(cls, X, y, Xt, yt, hidden, batch, epochs, **extra):
    from sklearn.exceptions import ConvergenceWarning

    clf = cls(**sklearn_params(hidden, batch, epochs), **extra)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        start = time.perf_counter()
        clf.fit(X, y)
        elapsed = time.perf_counter() - start
    return elapsed, float(clf.score(Xt, yt))  # accuracy, or R^2 for a regressor


def fit_numpy(X, y, Xt, yt, hidden, batch, epochs):
    from . import _reference

    start = time.perf_counter()
    params, _ = _reference.train(X, y, hidden, epochs=epochs, batch_size=batch, lr=1e-3)
    elapsed = time.perf_counter() - start
    return elapsed, network_score(("binary", 1), _reference.forward(params, Xt)[-1], yt)


def network_score(task, out, yt) -> float:
    """Held-out accuracy (R^2 for regression) of a network's outputs `out` (n, k)."""
    if task[0] == "regression":
        from sklearn.metrics import r2_score

        return float(r2_score(yt, out[:, 0]))
    pred = out.argmax(axis=1) if task[0] == "multiclass" else out[:, 0] > 0
    return float(np.mean(pred == yt))


def torch_network(torch, X, y, hidden, task=("binary", 1)):
    """The PyTorch competitors' problem: (model, loss_fn, X, y as tensors).

    ReLU hidden layers in X's dtype (PyTorch's own initialisation, drawn from
    the current seed), the task's output units and loss (BCE from logits,
    cross-entropy on class indices, mean squared error).
    """
    sizes = [X.shape[1], *hidden]
    layers = []
    for n_in, n_out in zip(sizes[:-1], sizes[1:]):
        layers += [torch.nn.Linear(n_in, n_out), torch.nn.ReLU()]
    dtype = torch.float32 if X.dtype == np.float32 else torch.float64
    model = torch.nn.Sequential(*layers, torch.nn.Linear(sizes[-1], task[1])).to(dtype)
    if task[0] == "multiclass":
        loss_fn: Any = torch.nn.CrossEntropyLoss()
        y_ = torch.from_numpy(y.astype(np.int64))
    else:
        loss_fn = torch.nn.MSELoss() if task[0] == "regression" else torch.nn.BCEWithLogitsLoss()
        y_ = torch.from_numpy(y.astype(X.dtype)).reshape(-1, 1)
    return model, loss_fn, torch.from_numpy(X), y_


def fit_torch(torch, X, y, Xt, yt, hidden, batch, epochs, fused, task=("binary", 1)):
    torch.manual_seed(0)
    model, loss_fn, Xt_, yt_ = torch_network(torch, X, y, hidden, task)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, fused=fused or None)
    generator = torch.Generator().manual_seed(0)
    start = time.perf_counter()
    for _ in range(epochs):
        order = torch.randperm(X.shape[0], generator=generator)
        for s in range(0, X.shape[0], batch):
            idx = order[s : s + batch]
            opt.zero_grad()
            loss = loss_fn(model(Xt_[idx]), yt_[idx])
            loss.backward()
            opt.step()
    elapsed = time.perf_counter() - start
    with torch.no_grad():
        out = model(torch.from_numpy(Xt)).numpy()
    return elapsed, network_score(task, out, yt)


def fit_gemm_floor(X, hidden, batch, epochs, n_out=1):
    """Only the products: per minibatch Z = A @ W.T (every layer), dW = dZ.T @ A
    (every layer) and dA = dZ @ W (every layer but the first)."""
    from . import _kernels

    rng = np.random.default_rng(0)
    sizes = [X.shape[1], *hidden, n_out]
    weights = [
        (rng.standard_normal((o, i)) / np.sqrt(i)).astype(X.dtype)
        for i, o in zip(sizes[:-1], sizes[1:])
    ]
    floor = _kernels.GemmFloor(X, weights, batch)  # buffers allocated here, once
    start = time.perf_counter()
    for _ in range(epochs):
        floor.run_epoch()
    return time.perf_counter() - start, float("nan")


def epoch_gemm_flops(n_samples: int, sizes: Sequence[int]) -> float:
    """Floating-point operations of an epoch's matrix products (2 per multiply-add):
    Z = A @ W.T and dW = dZ.T @ A for every layer, dA = dZ @ W for all but the first."""
    per_row = sum(
        2 * a * b * (2 if layer == 0 else 3)
        for layer, (a, b) in enumerate(zip(sizes[:-1], sizes[1:]))
    )
    return float(n_samples * per_row)


def practical_peak(repeats: int = 5) -> float:
    """FLOP/s of NumPy's BLAS on a 2048^3 float32 product, all cores (median of `repeats`
    after a warm-up): the machine's practical peak for the fraction-of-peak column."""
    rng = np.random.default_rng(0)
    a = rng.standard_normal((2048, 2048)).astype(np.float32)
    b = rng.standard_normal((2048, 2048)).astype(np.float32)
    c = a @ b
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        np.matmul(a, b, out=c)
        times.append(time.perf_counter() - start)
    return 2 * 2048.0**3 / float(np.median(times))


def run_fit_benchmark(
    configs: Sequence[str] = ("T", "S", "M", "L"),
    dtypes: Optional[Sequence[str]] = None,
    *,
    quick: bool = False,
    epochs: Optional[int] = None,
    rounds: Optional[int] = None,
    use_torch: bool = True,
    out: Optional[TextIO] = None,
    extra: Optional[Callable[..., List[Tuple[str, Callable, Optional[Callable]]]]] = None,
) -> List[Dict[str, Any]]:
    """Run the fit comparison, print its Markdown table to `out`, return the records.

    Parameters
    ----------
    configs : sequence of {'T', 'S', 'M', 'L'}
        Problem sizes (see ``CONFIGS``).
    dtypes : sequence of str, optional
        Default ``('float32', 'float64')``; with ``quick``, ``('float32',)``.
    quick : bool
        Small data, two epochs, one round: a seconds-long smoke run (noisy).
    epochs, rounds : int, optional
        Override the epochs per fit and the interleaved rounds.
    use_torch : bool
        Include PyTorch (if importable).
    out : text stream, optional
        Where the table goes (default stdout); None-like ``os.devnull`` to silence.
    extra : callable, optional
        More competitors (``benchmarks/bench_fit.py``'s JAX and ``torch.compile``):
        called as ``extra(X, y, Xt, yt, hidden, batch, task=task, dtype=dtype)``
        once per config and dtype, it returns ``(name, fit, reset)`` triples;
        ``fit(epochs) -> (seconds, score)`` and ``reset()`` (or None) empties
        the competitor's compilation caches, so that its first timed fit pays
        tracing and compilation: its "to model" time.

    Returns
    -------
    records : list of dict
        One JSON-able record per (config, dtype, competitor): ``config``,
        ``n_samples``, ``n_features``, ``hidden``, ``batch``, ``dtype``,
        ``epochs``, ``competitor``, ``median``/``min``/``max`` seconds per
        epoch, ``ratio_to_fastdense``, ``setup_seconds``, ``with_setup``
        (seconds per epoch of a whole (1 + E)-epoch fit), ``to_model_seconds``
        and held-out ``accuracy``
        (:func:`fastdense.plot.benchmark` draws them).
    """
    import sys

    from sklearn.neural_network import MLPClassifier, MLPRegressor

    from .estimators import DenseBinaryClassifier, DenseClassifier, DenseRegressor

    out = sys.stdout if out is None else out
    unknown = [c for c in configs if c not in CONFIGS]
    if unknown:
        raise ValueError(f"unknown benchmark config(s) {unknown}; choose from {list(CONFIGS)}")
    torch: Any = None
    if use_torch:
        try:
            import torch
        except ImportError:
            torch = None
    rounds = rounds or (1 if quick else 3)
    dtypes = list(dtypes or (["float32"] if quick else ["float32", "float64"]))
    print(machine_header(), file=out)
    if torch is not None:
        print(f"PyTorch {torch.__version__}, {torch.get_num_threads()} threads", file=out)
    print(
        f"\nSeconds per training epoch (Adam, ReLU, no L2), marginal: (time of 1 + E "
        f"epochs - time of 1) / E; medians of {rounds} interleaved rounds; 'x fastdense' = "
        "competitor time / fastdense estimator time; 'setup' = the rest of a 1-epoch "
        "call (validation, initialisation); 'with setup' = the whole (1 + E)-epoch "
        "call / (1 + E) (compilation excluded); 'to model' = the time to a first "
        "trained model of 1 + E epochs (for JAX and torch.compile: their first call, "
        "tracing and compilation included; for the others the median call); 'score' = "
        "held-out accuracy (R^2 for regression)\n",
        file=out,
    )

    rows, records, peak_rows = [], [], []
    # The peak is measured before every round, and each round's epochs are set
    # against their own round's peak: this machine's speed changes by up to 1.7x
    # within a run (another tenant of the host), which a single measurement at
    # the start turned into fractions above 1.
    peaks: List[float] = []
    for name in configs:
        n, d, hidden, batch = CONFIGS[name]
        n = QUICK_SAMPLES[name] if quick else n
        n_epochs = epochs or (2 if quick else DEFAULT_EPOCHS[name])
        for dtype in dtypes:
            task = TASKS.get(name, ("binary", 1))
            X, y, Xt, yt = make_data(n, d, np.dtype(dtype), task=task)
            pair: Dict[str, Tuple[Any, Any]] = {
                "binary": (DenseBinaryClassifier, MLPClassifier),
                "multiclass": (DenseClassifier, MLPClassifier),
                "regression": (DenseRegressor, MLPRegressor),
            }
            ours, ref = pair[task[0]]

            def bind(
                fn: Callable, *args: Any, **kwargs: Any
            ) -> Callable[[int], Tuple[float, float]]:
                return lambda e: fn(*args, epochs=e, **kwargs)

            comp: Dict[str, Callable[[int], Tuple[float, float]]] = {
                "fastdense": bind(fit_estimator, ours, X, y, Xt, yt, hidden, batch),
                ref.__name__: bind(fit_estimator, ref, X, y, Xt, yt, hidden, batch),
            }
            if task[0] == "binary":  # the NumPy reference trains the binary network only
                comp["NumPy reference"] = bind(fit_numpy, X, y, Xt, yt, hidden, batch)
            comp["GEMM floor"] = bind(fit_gemm_floor, X, hidden, batch, n_out=task[1])
            if torch is not None:
                comp["PyTorch Adam"] = bind(
                    fit_torch, torch, X, y, Xt, yt, hidden, batch, fused=False, task=task
                )
                comp["PyTorch Adam(fused)"] = bind(
                    fit_torch, torch, X, y, Xt, yt, hidden, batch, fused=True, task=task
                )
            resets: Dict[str, Callable[[], None]] = {}
            for k, fn, reset in (
                extra(X, y, Xt, yt, hidden, batch, task=task, dtype=dtype) if extra else ()
            ):
                comp[k] = fn
                if reset is not None:
                    resets[k] = reset
            times: Dict[str, List[float]] = {k: [] for k in comp}
            setup: Dict[str, List[float]] = {k: [] for k in comp}
            whole: Dict[str, List[float]] = {k: [] for k in comp}
            to_model: Dict[str, float] = {}
            accuracy: Dict[str, float] = {}
            for k, fn in comp.items():  # warm up: imports, first-call paths, allocators
                if k in resets:  # a compiler: its cold first model, compilation included
                    resets[k]()
                    time.sleep(0.1)
                    to_model[k] = fn(1 + n_epochs)[0]
                fn(1)
            round_peaks: List[float] = []
            for _ in range(rounds):  # interleaved: every competitor once per round
                time.sleep(0.1)
                round_peaks.append(practical_peak(3))
                for k, fn in comp.items():
                    # a pause first, so the thread pools of the previous competitor
                    # (OpenBLAS, OpenMP) stop spinning before this one is timed
                    time.sleep(0.1)
                    short, _ = fn(1)
                    time.sleep(0.1)
                    long, acc = fn(1 + n_epochs)
                    per_epoch = (long - short) / n_epochs
                    if per_epoch <= 0:  # below the timer's noise (tiny --quick runs)
                        per_epoch = long / (1 + n_epochs)
                    times[k].append(per_epoch)
                    setup[k].append(max(short - per_epoch, 0.0))
                    whole[k].append(long)
                    accuracy[k] = acc
            base = float(np.median(times["fastdense"]))
            flops = epoch_gemm_flops(n, [d, *hidden, task[1]])
            peaks += round_peaks

            def of_peak(k: str) -> float:  # the median over rounds of the round's fraction
                return float(np.median([flops / t / p for t, p in zip(times[k], round_peaks)]))

            peak_rows.append(
                [
                    f"{name} {n}x{d} {hidden} b{batch}",
                    dtype,
                    f"{flops / 1e9:.2f}",
                    f"{flops / base / 1e9:.1f}",
                    f"{of_peak('fastdense'):.2f}",
                    f"{of_peak('GEMM floor'):.2f}",
                ]
            )
            for k in comp:
                s = summarize(times[k])
                fixed = float(np.median(setup[k]))
                long_s = float(np.median(whole[k]))
                first = to_model.get(k, long_s)
                rows.append(
                    [
                        f"{name} {n}x{d} {hidden} b{batch}"
                        + ("" if task[0] == "binary" else f" {task[0]}"),
                        dtype,
                        f"fastdense ({ours.__name__})"
                        if k == "fastdense" and task[0] != "binary"
                        else k,
                        fmt_seconds(s["median"]),
                        f"{fmt_seconds(s['min'])}–{fmt_seconds(s['max'])}",
                        f"{s['median'] / base:.2f}x",
                        fmt_seconds(fixed),
                        fmt_seconds(long_s / (1 + n_epochs)),
                        fmt_seconds(first),
                        "—" if np.isnan(accuracy[k]) else f"{accuracy[k]:.3f}",
                    ]
                )
                records.append(
                    {
                        "config": name,
                        "n_samples": n,
                        "n_features": d,
                        "hidden": list(hidden),
                        "batch": batch,
                        "dtype": dtype,
                        "epochs": n_epochs,
                        "competitor": k,
                        **s,
                        "setup_seconds": fixed,
                        "with_setup": long_s / (1 + n_epochs),
                        "to_model_seconds": first,
                        "ratio_to_fastdense": s["median"] / base,
                        "accuracy": accuracy[k],
                    }
                )
    print(
        markdown_table(
            [
                "config",
                "dtype",
                "competitor",
                "s/epoch",
                "min–max",
                "x fastdense",
                "setup",
                "with setup",
                "to model",
                "score",
            ],
            rows,
        ),
        file=out,
    )
    print(
        f"\nFraction of the practical peak: GEMM FLOPs of an epoch / seconds per epoch / "
        f"the peak measured before the same round (NumPy's BLAS, 2048^3 float32, all cores: "
        f"median {np.median(peaks) / 1e9:.1f}, {min(peaks) / 1e9:.1f}–{max(peaks) / 1e9:.1f} "
        f"GFLOP/s over the rounds); medians over rounds\n",
        file=out,
    )
    print(
        markdown_table(
            [
                "config",
                "dtype",
                "GEMM GFLOP/epoch",
                "fastdense GFLOP/s",
                "fastdense / peak",
                "GEMM floor / peak",
            ],
            peak_rows,
        ),
        file=out,
    )
    return records
