"""Shared benchmark harness: interleaved rounds, medians, ratios, Markdown, JSON, plots.

Competitors run one after another within a round (A B C, A B C, ...) on the
same data, so slow drifts of a shared machine hit all of them alike; the
table reports medians over rounds and ratios measured in the same run.
"""

import argparse
import json
import time

import numpy as np

# one copy of the table helpers, shared with the installed `fastdense bench`
from fastdense._bench import fmt_seconds, machine_header, markdown_table, summarize  # noqa: F401


def parser(description):
    """The common command line: --quick, --rounds, --json FILE, --plot FILE."""
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--quick", action="store_true", help="a seconds-long smoke run")
    p.add_argument("--rounds", type=int, default=None, help="interleaved rounds")
    p.add_argument("--json", metavar="FILE", help="also write the results as JSON")
    p.add_argument("--plot", metavar="FILE", help="also write a bar chart (PNG)")
    return p


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


def interleave(competitors, rounds, measure=time_call, pause=0.1):
    """Run every competitor once per round, in order; {name: [seconds per round]}.

    Each measurement starts after `pause` seconds, so the thread pools the
    previous competitor woke (NumPy's and SciPy's OpenBLAS are two libraries,
    each with workers that spin ~0.1 s after a call) are idle again, rather
    than competing for the 2 cores with the one being timed.
    """
    results = {name: [] for name in competitors}
    for _ in range(rounds):
        for name, fn in competitors.items():
            time.sleep(pause)
            results[name].append(measure(fn))
    return results


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
