"""Shared benchmark harness: interleaved rounds, medians, ratios, Markdown, JSON, plots.

Competitors run one after another within a round (A B C, A B C, ...) on the
same data, so slow drifts of a shared machine hit all of them alike; the
table reports medians over rounds and ratios measured in the same run.
"""

import argparse
import json
import os
import platform
import time

import numpy as np


def parser(description):
    """The common command line: --quick, --rounds, --json FILE, --plot FILE."""
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--quick", action="store_true", help="a seconds-long smoke run")
    p.add_argument("--rounds", type=int, default=None, help="interleaved rounds")
    p.add_argument("--json", metavar="FILE", help="also write the results as JSON")
    p.add_argument("--plot", metavar="FILE", help="also write a bar chart (PNG)")
    return p


def machine_header():
    """One Markdown paragraph: CPU, cores, Python, NumPy, and every BLAS with its threads."""
    from threadpoolctl import threadpool_info

    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    blas = "; ".join(
        f"{i['internal_api']} {i.get('version')} ({i['prefix']}, {i['num_threads']} threads"
        f"{', ' + i['architecture'] if i.get('architecture') else ''})"
        for i in threadpool_info()
        if i["user_api"] == "blas"
    )
    return (
        f"Machine: {cpu}, {os.cpu_count()} cores; Python {platform.python_version()}, "
        f"NumPy {np.__version__}; BLAS: {blas or 'unknown'}"
    )


def time_call(fn, min_time=0.02, max_repeats=10000):
    """Median seconds per call of `fn`, repeating until `min_time` has passed."""
    fn()  # warm up: allocations, caches, lazy imports
    times = []
    start = time.perf_counter()
    while len(times) < max_repeats and (time.perf_counter() - start < min_time or len(times) < 3):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return float(np.median(times))


def interleave(competitors, rounds, measure=time_call):
    """Run every competitor once per round, in order; {name: [seconds per round]}."""
    results = {name: [] for name in competitors}
    for _ in range(rounds):
        for name, fn in competitors.items():
            results[name].append(measure(fn))
    return results


def summarize(times):
    arr = np.asarray(times)
    return {"median": float(np.median(arr)), "min": float(arr.min()), "max": float(arr.max())}


def fmt_seconds(s):
    if s >= 1:
        return f"{s:.3f} s"
    if s >= 1e-3:
        return f"{s * 1e3:.3f} ms"
    return f"{s * 1e6:.1f} µs"


def markdown_table(headers, rows):
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def write_json(path, payload):
    with open(path, "w") as f:
        json.dump(payload, f, indent=2)


def bar_plot(path, labels, series, ylabel, title):
    """Grouped bars: `series` is {name: [value per label]}; log scale y."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(max(6, 1.2 * len(labels)), 4))
    width = 0.8 / max(len(series), 1)
    x = np.arange(len(labels))
    for k, (name, values) in enumerate(series.items()):
        ax.bar(x + k * width - 0.4 + width / 2, values, width, label=name)
    ax.set_xticks(x, labels, rotation=30, ha="right")
    ax.set_yscale("log")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path
