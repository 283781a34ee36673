"""The PyTorch-style training loop in fastdense and in PyTorch, side by side.

Runs the same loop (``zero_grad``; ``loss_fn(model(xb), yb)``; ``backward``;
``step``) with the same model, optimizer and batches in fastdense and, if it
is installed, in PyTorch, interleaving rounds of both in one process, and
prints a Markdown table of the median time per training step and the ratio.

Usage::

    python benchmarks/bench_torch_loop.py            # full run
    python benchmarks/bench_torch_loop.py --quick    # a few seconds
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

import fastdense as fd
from fastdense import nn, optim

try:
    import torch
except ImportError:  # pragma: no cover - the table then has fastdense only
    torch = None

# name, n_features, hidden, batch, style ("plain": Linear+ReLU over a list of batches;
# "loader": Linear+BatchNorm1d+ReLU+Dropout over a shuffling DataLoader)
CONFIGS = [
    ("small: 20 feat, (64, 32), batch 128, Adam", 20, (64, 32), 128, "plain"),
    ("wide: 512 feat, (1024, 1024), batch 512, Adam", 512, (1024, 1024), 512, "plain"),
    (
        "DataLoader + BatchNorm + Dropout: 20 feat, (64, 32), batch 128, Adam",
        20,
        (64, 32),
        128,
        "loader",
    ),
]


def _layers(lib, n_in, hidden, style="plain"):
    mods, prev = [], n_in
    for h in hidden:
        if style == "loader":
            mods += [lib.Linear(prev, h), lib.BatchNorm1d(h), lib.ReLU(), lib.Dropout(0.1)]
        else:
            mods += [lib.Linear(prev, h), lib.ReLU()]
        prev = h
    return lib.Sequential(*mods, lib.Linear(prev, 1))


def _loader(data_module, batches, batch, from_numpy):
    X = np.concatenate([xb for xb, _ in batches])
    y = np.concatenate([yb for _, yb in batches])
    ds = data_module.TensorDataset(from_numpy(X), from_numpy(y))
    return data_module.DataLoader(ds, batch_size=batch, shuffle=True)


def _data(n_features, batch, n_batches, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((batch * n_batches, n_features)).astype(np.float32)
    y = (X[:, :1] + 0.5 * rng.standard_normal((len(X), 1)) > 0).astype(np.float32)
    return [(X[i : i + batch], y[i : i + batch]) for i in range(0, len(X), batch)]


def _training_loop(nn_module, optim_module, model, batches):
    """The same PyTorch-style loop for either library: pass fastdense's nn/optim
    or torch.nn/torch.optim, with batches of that library's inputs."""
    loss_fn = nn_module.BCEWithLogitsLoss()
    opt = optim_module.Adam(model.parameters(), lr=1e-3)

    def run():
        for xb, yb in batches:
            opt.zero_grad()
            loss = loss_fn(model(xb), yb)
            loss.backward()
            opt.step()
        return loss.item()

    return run


def _time_per_step(run, n_steps):
    t0 = time.perf_counter()
    run()
    return (time.perf_counter() - t0) / n_steps


def bench(config, rounds, n_batches):
    name, n_in, hidden, batch, style = config
    batches = _data(n_in, batch, n_batches)
    fd.manual_seed(0)
    fd_model = _layers(nn, n_in, hidden, style)
    fd_batches = batches
    if style == "loader":
        import fastdense.torch as ft

        fd_batches = _loader(ft.utils.data, batches, batch, ft.from_numpy)
    runs = {"fastdense": _training_loop(nn, optim, fd_model, fd_batches)}
    if torch is not None:
        torch.manual_seed(0)
        t_model = _layers(torch.nn, n_in, hidden, style)
        fd_model.load_state_dict(t_model.state_dict())
        if style == "loader":
            import torch.utils.data as tdata

            tbatches = _loader(tdata, batches, batch, torch.from_numpy)
        else:
            tbatches = [(torch.from_numpy(xb), torch.from_numpy(yb)) for xb, yb in batches]
        runs["PyTorch"] = _training_loop(torch.nn, torch.optim, t_model, tbatches)
    for run in runs.values():  # warm up (allocations, thread pools)
        run()
    times = {k: [] for k in runs}
    for _ in range(rounds):  # interleaved rounds
        for k, run in runs.items():
            times[k].append(_time_per_step(run, len(batches)))
    return {k: statistics.median(v) for k, v in times.items()}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a few seconds")
    parser.add_argument("--rounds", type=int, default=None)
    parser.add_argument(
        "--threads",
        type=int,
        default=None,
        help="BLAS/OpenMP threads for both libraries (default: their own)",
    )
    args = parser.parse_args(argv)
    if args.threads:
        from threadpoolctl import threadpool_limits

        threadpool_limits(args.threads)
        if torch is not None:
            torch.set_num_threads(args.threads)
    print(
        f"fastdense {fd.__version__}; PyTorch "
        f"{torch.__version__ if torch else 'not installed'} "
        f"({torch.get_num_threads() if torch else '-'} threads); "
        f"threads requested: {args.threads or 'library defaults'}"
    )
    print()
    print("| config | fastdense ms/step | PyTorch ms/step | PyTorch / fastdense |")
    print("|---|---|---|---|")
    for i, config in enumerate(CONFIGS):
        small = config[1] < 100
        if args.quick:
            rounds, n_batches = (5, 40) if small else (3, 3)
        else:
            rounds, n_batches = (15, 100) if small else (7, 8)
        if args.rounds:
            rounds = args.rounds
        med = bench(config, rounds, n_batches)
        f = med["fastdense"] * 1e3
        if "PyTorch" in med:
            t = med["PyTorch"] * 1e3
            print(f"| {config[0]} | {f:.3f} | {t:.3f} | {t / f:.2f}x |")
        else:
            print(f"| {config[0]} | {f:.3f} | - | - |")


if __name__ == "__main__":
    main()
