"""Which XLA CPU settings make bench_fit.py's JAX epoch fastest: each setting in its own process.

    python benchmarks/bench_jax_flags.py [--quick] [--configs T,S,M,L] [--rounds N]
                                         [--epochs N] [--json FILE]

``XLA_FLAGS`` is read once, when JAX's CPU backend starts, so every setting
(an XLA flag, ``jax_default_matmul_precision``, or a variant of the epoch:
the minibatches gathered per batch, the permutation drawn by ``jax.random``)
runs in a child process of its own. Each child times the JAX epoch and
DenseBinaryClassifier (the reference, float32) interleaved in rounds, like
bench_fit.py (marginal seconds per epoch: ((1 + E)-epoch fit - 1-epoch fit) /
E, medians), so the table's "fastdense / JAX" ratios come from one process
each even when the machine's load drifts between children. Needs
``pip install ".[bench]"``; without JAX it says so and exits.
"""

import importlib.util
import json
import os
import subprocess
import sys
import time

import numpy as np
from _harness import fmt_seconds, machine_header, markdown_table, parser, write_json

# (label, XLA_FLAGS, jax_default_matmul_precision, gather, shuffle[, optax.flatten])
SETTINGS = [
    ("default", "", None, "epoch", "host"),
    ("multi_thread_eigen=false", "--xla_cpu_multi_thread_eigen=false", None, "epoch", "host"),
    ("ynn dot", "--xla_cpu_experimental_ynn_fusion_type=dot", None, "epoch", "host"),
    (
        "ynn dot+eltwise+reduce",
        "--xla_cpu_experimental_ynn_fusion_type=dot,eltwise,reduce",
        None,
        "epoch",
        "host",
    ),
    ("xnn dot", "--xla_cpu_experimental_xnn_fusion_type=dot", None, "epoch", "host"),
    (
        "xnn dot+eltwise+reduce",
        "--xla_cpu_experimental_xnn_fusion_type=dot,eltwise,reduce",
        None,
        "epoch",
        "host",
    ),
    (
        "xnn graph greedy",
        "--xla_cpu_experimental_xnn_graph_fusion_mode=XNN_GRAPH_FUSION_MODE_GREEDY",
        None,
        "epoch",
        "host",
    ),
    (
        "onednn dot",
        "--xla_cpu_use_onednn=true --xla_cpu_experimental_onednn_fusion_type=dot",
        None,
        "epoch",
        "host",
    ),
    ("use_thunk_runtime=false", "--xla_cpu_use_thunk_runtime=false", None, "epoch", "host"),
    ("precision float32", "", "float32", "epoch", "host"),
    ("precision highest", "", "highest", "epoch", "host"),
    ("gather per batch", "", None, "batch", "host"),
    ("jax.random permutation", "", None, "epoch", "device"),
    ("optax.flatten", "", None, "epoch", "host", True),
]
QUICK_SETTINGS = ("default", "ynn dot")


def child(spec):
    """Runs in the child process: time JAX and fastdense, print one JSON line."""
    import warnings

    from _compilers import jax_competitor

    from fastdense import DenseBinaryClassifier
    from fastdense._bench import CONFIGS, DEFAULT_EPOCHS, QUICK_SAMPLES, fit_estimator, make_data

    if spec["precision"]:
        import jax

        jax.config.update("jax_default_matmul_precision", spec["precision"])
    out = {}
    for name in spec["configs"]:
        n, d, hidden, batch = CONFIGS[name]
        n = QUICK_SAMPLES[name] if spec["quick"] else n
        epochs = spec["epochs"] or (2 if spec["quick"] else DEFAULT_EPOCHS[name])
        X, y, Xt, yt = make_data(n, d, np.float32)
        jax_fit, _ = jax_competitor(
            X,
            y,
            Xt,
            yt,
            hidden,
            batch,
            gather=spec["gather"],
            shuffle=spec["shuffle"],
            flatten=spec.get("flatten", False),
        )
        comp = {
            "jax": jax_fit,
            "fastdense": lambda e: fit_estimator(
                DenseBinaryClassifier, X, y, Xt, yt, hidden, batch, e
            ),
        }
        t0 = time.perf_counter()
        comp["jax"](1 + epochs)  # the first call compiles
        compile_s = time.perf_counter() - t0
        comp["fastdense"](1)
        times = {k: [] for k in comp}
        score = {}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for _ in range(spec["rounds"]):
                for k, fit in comp.items():
                    time.sleep(0.1)
                    short, _ = fit(1)
                    time.sleep(0.1)
                    long, score[k] = fit(1 + epochs)
                    # below the timer's noise (tiny --quick runs): the whole call instead
                    per = (long - short) / epochs
                    times[k].append(per if per > 0 else long / (1 + epochs))
        out[name] = {
            "jax": float(np.median(times["jax"])),
            "fastdense": float(np.median(times["fastdense"])),
            "first_call": compile_s,
            "jax_score": score["jax"],
            "fastdense_score": score["fastdense"],
        }
    print("RESULT " + json.dumps(out), flush=True)


def main(argv=None):
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--configs", default="T,S,M,L")
    p.add_argument("--epochs", type=int, default=None)
    p.add_argument("--only", default=None, help="comma-separated labels of SETTINGS to run")
    p.add_argument("--child", default=None, help=argparse_hidden())
    args = p.parse_args(argv)
    if args.child:
        return child(json.loads(args.child))
    if importlib.util.find_spec("jax") is None or importlib.util.find_spec("optax") is None:
        print('Note: jax and optax are not installed (pip install ".[bench]"); nothing to time.')
        return []
    configs = ["T"] if args.quick and args.configs == "T,S,M,L" else args.configs.split(",")
    wanted = (
        args.only.split(",")
        if args.only
        else QUICK_SETTINGS
        if args.quick
        else [s[0] for s in SETTINGS]
    )
    rounds = args.rounds or (1 if args.quick else 3)
    print(machine_header())
    print(
        f"\nJAX epoch (float32) under each setting, one process each; marginal seconds "
        f"per epoch, medians of {rounds} rounds interleaved with DenseBinaryClassifier in "
        "the same process; 'Nx fastdense' = JAX time / fastdense time; 'first call' = "
        "the JAX fit's first call (tracing + compilation + 1 + E epochs)\n",
        flush=True,
    )
    rows, records = [], []
    for label, flags, precision, gather, shuffle, *flatten in SETTINGS:
        if label not in wanted:
            continue
        spec = dict(
            configs=configs,
            quick=args.quick,
            epochs=args.epochs,
            rounds=rounds,
            precision=precision,
            gather=gather,
            shuffle=shuffle,
            flatten=bool(flatten and flatten[0]),
        )
        env = dict(os.environ, XLA_FLAGS=flags)
        proc = subprocess.run(
            [sys.executable, __file__, "--child", json.dumps(spec)],
            env=env,
            capture_output=True,
            text=True,
        )
        lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")]
        if proc.returncode or not lines:
            tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
            rows.append([label, flags or "—", f"failed: {tail[:80]}"] + [""] * (len(configs) - 1))
            continue
        result = json.loads(lines[0][len("RESULT ") :])
        row = [label, f"`{flags}`" if flags else "—"]
        for name in configs:
            r = result[name]
            row.append(
                f"{fmt_seconds(r['jax'])} ({r['jax'] / r['fastdense']:.2f}x fastdense; "
                f"first call {r['first_call']:.1f} s; score {r['jax_score']:.3f})"
            )
            records.append(
                {
                    "setting": label,
                    "xla_flags": flags,
                    "config": name,
                    **{k: spec[k] for k in ("precision", "gather", "shuffle", "flatten")},
                    **r,
                }
            )
        rows.append(row)
        print(f"  {' | '.join(row)}", flush=True)  # as it comes: a long run shows progress
    print()
    print(markdown_table(["setting", "XLA_FLAGS", *configs], rows))
    if args.json:
        write_json(args.json, {"header": machine_header(), "results": records})
    return records


def argparse_hidden():
    import argparse

    return argparse.SUPPRESS


if __name__ == "__main__":
    main()
