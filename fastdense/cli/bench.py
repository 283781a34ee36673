"""``fastdense bench``: the fit comparison of benchmarks/bench_fit.py."""

from __future__ import annotations

import argparse
import sys
from typing import Any, Dict, List, Optional, TextIO

from ._common import UsageError, check_writable, positive_int


def register(sub: Any) -> None:
    b = sub.add_parser(
        "bench",
        help="time training against MLPClassifier, PyTorch, NumPy",
        description="The fit comparison of benchmarks/bench_fit.py: seconds "
        "per epoch of each competitor, medians of interleaved rounds.",
    )
    b.add_argument("--quick", action="store_true", help="a seconds-long smoke run")
    b.add_argument(
        "--configs",
        default="T,S,M,L",
        help="sizes among T,S,M,L; MC (10 classes) and R (regression)",
    )
    b.add_argument("--dtypes", default=None, help="float32,float64 (--quick: float32)")
    b.add_argument("--epochs", type=positive_int, default=None)
    b.add_argument("--rounds", type=positive_int, default=None)
    b.add_argument("--no-torch", action="store_true", help="leave PyTorch out")
    b.add_argument("--json", metavar="FILE", help="also write the records as JSON")
    b.add_argument("--plot", metavar="FILE", help="also draw them (fastdense.plot.benchmark)")


def run(args: argparse.Namespace, out: Optional[TextIO] = None) -> List[Dict[str, Any]]:
    """``fastdense bench``: the fit comparison of benchmarks/bench_fit.py."""
    out = sys.stdout if out is None else out
    from .._bench import CONFIGS, machine_header, run_fit_benchmark

    configs = [c.strip().upper() for c in args.configs.split(",") if c.strip()]
    bad = [c for c in configs if c not in CONFIGS]
    if bad or not configs:
        raise UsageError(f"--configs: unknown config(s) {bad}; choose from {','.join(CONFIGS)}")
    dtypes = [d.strip() for d in args.dtypes.split(",")] if args.dtypes else None
    if dtypes and any(d not in ("float32", "float64") for d in dtypes):
        raise UsageError(f"--dtypes: use float32 and/or float64; got {args.dtypes!r}")
    check_writable(args.json, "results")
    check_writable(args.plot, "plot")
    records = run_fit_benchmark(
        configs,
        dtypes,
        quick=args.quick,
        epochs=args.epochs,
        rounds=args.rounds,
        use_torch=not args.no_torch,
        out=out,
    )
    if args.json:
        import json

        with open(args.json, "w") as f:
            json.dump({"header": machine_header(), "results": records}, f, indent=2)
        print(f"\nWrote {args.json}", file=out)
    if args.plot:
        from ..plot import benchmark

        benchmark(records).savefig(args.plot, dpi=110)
        print(f"Wrote {args.plot}", file=out)
    return records
