"""``fastdense selfcheck``: the kernels against the NumPy reference, within tolerances,
timed; exit status 1 when a check fails."""

from __future__ import annotations

import argparse
from typing import Any, List, Optional, TextIO

from ._common import CheckFailed, positive_int


def register(sub: Any) -> None:
    s = sub.add_parser(
        "selfcheck",
        help="check the kernels against NumPy and time them",
        description="Forward and backward of one dense layer, the kernels "
        "against the NumPy reference on random data, both dtypes: passes "
        "within a relative tolerance (float32 1e-4, float64 1e-10), exits "
        "with status 1 otherwise.",
    )
    s.add_argument("--repeats", type=positive_int, default=20, help="timed calls per round")


def run(args: argparse.Namespace, out: Optional[TextIO] = None) -> List[str]:
    from .._selfcheck import selfcheck

    failures = selfcheck(repeats=args.repeats, out=out)
    if failures:
        raise CheckFailed("; ".join(failures))
    return failures
